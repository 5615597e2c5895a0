"""First run: a one-time setup code, printed on the server console, lets the person installing
the app create the first admin (as Jenkins and Gitea do).

Only the code's hash is stored, in the database (``InstallationSecret`` ``setup_code``), so any
server of the installation accepts it and nobody can read it back: ``flask --app kiosk
setup-code`` (run by ``make run``) makes a new code each time and prints it; the previous one
stops working. Using the code deletes its row in the same transaction that creates the admin:
both land, or neither."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import delete, select

from ..database import write_transaction
from ..extensions import db
from ..models import InstallationSecret, Staff

CODE_ROW = "setup_code"
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def admin_exists() -> bool:
    """True once any admin account exists (then setup is closed)."""
    return db.session.scalar(select(Staff.id).where(Staff.role == "admin").limit(1)) is not None


def new_code() -> str:
    """A new one-time setup code; the previous one, if any, stops working."""
    code = "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(3))
    with write_transaction():
        db.session.execute(delete(InstallationSecret).where(InstallationSecret.name == CODE_ROW))
        db.session.add(InstallationSecret(name=CODE_ROW, digest=_digest(code)))
    return code


def code_exists() -> bool:
    """True while a setup code waits to be used."""
    return db.session.get(InstallationSecret, CODE_ROW) is not None


def normalise(code: str) -> str:
    """Upper-case, without spaces and dashes, as people type it."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _digest(code: str) -> str:
    return hashlib.sha256(b"kiosk-bpu setup code:" + normalise(code).encode("utf-8", "replace")).hexdigest()


def take_code(typed: str) -> bool:
    """Use up the setup code if ``typed`` is it, inside the caller's write transaction (it is
    gone once that commits, and back if it rolls back). False for a wrong or used code."""
    if not isinstance(typed, str) or len(typed) > 100:
        return False
    used = db.session.execute(
        delete(InstallationSecret).where(
            InstallationSecret.name == CODE_ROW, InstallationSecret.digest == _digest(typed)
        )
    )
    return used.rowcount == 1
