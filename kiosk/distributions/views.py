"""Distribution views."""
