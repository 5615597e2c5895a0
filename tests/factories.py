"""Test data factories: ``make_<model>()`` with sensible defaults, committed to the database."""

from __future__ import annotations

import itertools

from kiosk.extensions import db
from kiosk.models import Staff

_seq = itertools.count(1)


def make_staff(role: str = "petugas", username: str | None = None, password: str = "rahasia-123", active: bool = True) -> Staff:
    """A staff account (committed)."""
    n = next(_seq)
    staff = Staff(username=username or f"{role}{n}", full_name=f"Petugas {n}", role=role, active=active)
    staff.set_password(password)
    db.session.add(staff)
    db.session.commit()
    return staff
