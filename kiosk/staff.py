"""Staff accounts (admin, petugas): the one place that creates them and changes their role,
password and state — for the admin pages, the first-run setup and the ``create-staff`` command.

Each function owns its transaction and its audit event. Usernames are stored lower-case and are
unique without regard to case in the database itself (``uq_staff_username_lower``). Ending
someone's sessions is done by raising ``Staff.session_version`` (``kiosk.auth.access.load_staff``
refuses a stale one).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .audit import record
from .database import write_transaction
from .extensions import db
from .i18n import _l
from .models import ROLES, Staff

FIELDS = ("username", "full_name", "role", "active")


class StaffError(ValueError):
    """A staff change the rules refuse; ``message`` (and ``str(error)``) says why."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def normalize_username(username: str) -> str:
    """A username as stored: trimmed, lower-case."""
    return (username or "").strip().lower()


def _snapshot(staff: Staff) -> dict:
    return {name: getattr(staff, name) for name in FIELDS}


def _other_active_admins(staff: Staff) -> int:
    # FOR UPDATE: two admins demoting each other at once on PostgreSQL cannot both pass
    # (SQLite's BEGIN IMMEDIATE already serialises writers).
    rows = db.session.scalars(
        select(Staff.id).where(Staff.role == "admin", Staff.active.is_(True), Staff.id != staff.id).with_for_update()
    )
    return len(list(rows))


def create(username: str, full_name: str, role: str, password: str, *, by: Staff | None) -> Staff:
    """Add an active staff account with a first password, audited as done by ``by`` (None: nobody
    is signed in — the first-run setup, the command line). Raises ``StaffError`` when the role is
    unknown or the username is taken, in any case."""
    username = normalize_username(username)
    if role not in ROLES:
        raise StaffError(_l("Peran tidak dikenal."))
    taken = StaffError(_l("Nama pengguna %(u)s sudah dipakai.", u=username))
    try:
        with write_transaction():
            if db.session.scalar(select(Staff.id).where(func.lower(Staff.username) == username)):
                raise taken
            staff = Staff(username=username, full_name=(full_name or "").strip() or username, role=role, active=True)
            staff.set_password(password)
            db.session.add(staff)
            db.session.flush()
            record("staff.create", staff, after=_snapshot(staff), staff=by)
    except IntegrityError as error:  # a concurrent add of the same name
        raise taken from error
    return staff


def set_role(staff: Staff, role: str, *, by: Staff) -> None:
    """Make ``staff`` an admin or a petugas. An admin cannot change their own role, and the last
    active admin stays an admin."""
    if role not in ROLES:
        raise StaffError(_l("Peran tidak dikenal."))
    if staff.id == by.id:
        raise StaffError(_l("Anda tidak bisa mengubah peran akun Anda sendiri."))
    with write_transaction():
        if staff.role == "admin" and role != "admin" and staff.active and not _other_active_admins(staff):
            raise StaffError(_l("Harus ada paling sedikit satu admin aktif."))
        if staff.role == role:
            return
        before = staff.role
        staff.role = role
        record("staff.role", staff, before={"role": before}, after={"role": role}, staff=by)


def reset_password(staff: Staff, password: str, *, by: Staff) -> None:
    """Give ``staff`` a new password; every session of that account ends."""
    with write_transaction():
        staff.set_password(password)  # raises session_version
        record("staff.password_reset", staff, after={"session_version": staff.session_version}, staff=by)


def set_active(staff: Staff, active: bool, *, by: Staff) -> None:
    """Deactivate (ending every session at once) or reactivate a staff account. An admin cannot
    deactivate their own account, nor the last active admin."""
    if not active and staff.id == by.id:
        raise StaffError(_l("Anda tidak bisa menonaktifkan akun Anda sendiri."))
    with write_transaction():
        if not active and staff.role == "admin" and not _other_active_admins(staff):
            raise StaffError(_l("Harus ada paling sedikit satu admin aktif."))
        if bool(staff.active) == active:
            return
        staff.active = active
        staff.session_version = (staff.session_version or 0) + 1
        record("staff.activate" if active else "staff.deactivate", staff,
               before={"active": not active}, after={"active": active}, staff=by)
