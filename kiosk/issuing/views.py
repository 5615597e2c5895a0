"""Card views."""
