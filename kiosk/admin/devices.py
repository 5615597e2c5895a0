"""Kiosk devices: add, pair, revoke (admin)."""
