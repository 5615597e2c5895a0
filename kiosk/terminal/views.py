"""Kiosk screen views."""
