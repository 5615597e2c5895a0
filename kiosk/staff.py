"""Staff accounts (admin, petugas): the one place that creates them and changes their role,
password and state — for the admin pages, the first-run setup and the ``create-staff`` command.

Each function owns its transaction and its audit event. Usernames are stored lower-case and are
unique without regard to case in the database itself (``uq_staff_username_lower``). Ending
someone's sessions is done by raising ``Staff.session_version`` (``kiosk.auth.access.load_staff``
refuses a stale one).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from .audit import record
from .database import write_transaction
from .extensions import db
from .i18n import _l
from .models import ROLES, Staff

FIELDS = ("username", "full_name", "role", "active")

PASSWORD_MIN = 10
PASSWORD_MAX = 200
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt"
# Words anyone in or around the office would try first (compared without case, spaces or signs).
OFFICE_WORDS = ("muaraenim", "muara", "enim", "disnaker", "dinas", "tenagakerja", "ketenagakerjaan", "naker",
                "kiosk", "kios", "bpjs", "bpjstk", "bpu", "jamsostek", "sembako", "pekerja", "petugas", "admin",
                "administrator", "katasandi", "sandi", "password", "sumsel", "sumatera", "selatan", "pemkab")
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "5": "s", "$": "s", "7": "t"})


class StaffError(ValueError):
    """A staff change the rules refuse; ``message`` (and ``str(error)``) says why, ``field`` which
    input it is about (``username`` or ``password``)."""

    def __init__(self, message, field: str = "username"):
        super().__init__(str(message))
        self.message = message
        self.field = field


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords (kiosk/data/README.md says where it comes from)."""
    return frozenset(COMMON_PASSWORDS.read_text(encoding="utf-8").split())


def _squeezed(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", (text or "").lower())


def _context_words(username: str, full_name: str) -> list[str]:
    from . import settings as office_settings

    words = set(OFFICE_WORDS)
    for text in (username, full_name, office_settings.get("office_name"), office_settings.get("regency_name")):
        text = (text or "").lower()
        words.add(_squeezed(text))
        words.update(_squeezed(part) for part in re.split(r"[\s._-]+", text))
    return sorted((w for w in words if len(w) >= 3), key=len, reverse=True)


def password_problem(password: str, *, username: str = "", full_name: str = "") -> str | None:
    """Why ``password`` may not be a staff password, or None when it may: shorter than
    ``PASSWORD_MIN``; one of the bundled common passwords, also with digits or signs added before
    or after it or with l33t letters (``P@ssw0rd99``); nothing but the username, the person's name,
    the office's name or the app's words (``Disnaker``, ``kiosk``, ``BPJS``…) with digits or signs;
    or fewer than 4 different characters once digits and signs at either end are set aside. The one rule for every place a password is set."""
    password = password or ""
    if len(password) < PASSWORD_MIN:
        return _l("Kata sandi minimal %(n)s karakter.", n=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return _l("Kata sandi paling banyak 200 karakter.")
    lower = password.lower()
    core = lower.strip("0123456789 !@#$%^&*()_+-=.,?~`'\"/\\|[]{}<>;:")
    if len(set(core)) < 4:  # digits and signs only, or "aaaa…", "abab…1"
        return _l("Kata sandi ini terlalu mudah ditebak. Pilih yang lain, misalnya tiga atau empat kata acak.")
    common = common_passwords()
    candidates = {lower, core}
    candidates |= {c.translate(_LEET) for c in candidates} | {_squeezed(c) for c in candidates}
    candidates |= {c.rstrip("0123456789").lstrip("0123456789") for c in list(candidates)}
    if candidates & common:
        return _l("Kata sandi ini terlalu umum dan mudah ditebak. Pilih yang lain, misalnya tiga atau empat kata acak.")
    for source in {_squeezed(lower), _squeezed(lower.translate(_LEET))}:
        rest = source
        for word in _context_words(username, full_name):
            rest = rest.replace(word, "")
        if len(rest) < 4 or rest.isdigit() or rest in common:
            return _l("Kata sandi tidak boleh hanya nama pengguna, nama Anda, nama kantor atau nama aplikasi "
                      "(dengan angka atau tanda). Pilih yang lain.")
    return None


def check_new_password(password: str, *, username: str, full_name: str = "") -> None:
    """Raise ``StaffError`` (about the password field) when ``password_problem`` refuses it."""
    problem = password_problem(password, username=username, full_name=full_name)
    if problem is not None:
        raise StaffError(problem, field="password")


_DUMMY_HASHES: dict[str, str] = {}


def verify_password(staff: Staff | None, password: str) -> bool:
    """Check ``password`` against ``staff``'s hash, or, for an unknown username (None), against a
    dummy hash made with the same method: signing in with an unknown name costs the same hash
    as with a known one, so the time taken does not tell which names exist."""
    if staff is not None:
        return check_password_hash(staff.password_hash, password or "")
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("kiosk-bpu-no-such-account", method=method)
    check_password_hash(_DUMMY_HASHES[method], password or "")
    return False


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
    unknown, the username is taken, in any case, or the password is refused
    (``password_problem``)."""
    username = normalize_username(username)
    if role not in ROLES:
        raise StaffError(_l("Peran tidak dikenal."))
    check_new_password(password, username=username, full_name=full_name)
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
    """Give ``staff`` a new password (``password_problem`` must accept it); every session of that
    account ends."""
    check_new_password(password, username=staff.username, full_name=staff.full_name)
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
