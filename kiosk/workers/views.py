"""Worker views."""
