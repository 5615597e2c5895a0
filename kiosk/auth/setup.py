"""First run: a one-time setup code, printed on the server console, lets the person installing
the app create the first admin (as Jenkins and Gitea do). The code lives in ``instance/setup-code``
(mode 0600) and is consumed atomically (a rename) when used."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import select

from ..extensions import db
from ..models import Staff

CODE_FILE = "setup-code"
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def admin_exists() -> bool:
    """True once any admin account exists (then setup is closed)."""
    return db.session.scalar(select(Staff.id).where(Staff.role == "admin").limit(1)) is not None


def setup_code(instance_path: str) -> str:
    """The current setup code, created on first call."""
    path = Path(instance_path) / CODE_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    code = "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(3))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(code + "\n")
    return code


def normalise(code: str) -> str:
    """Upper-case, without spaces and dashes, as people type it."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def claim_code(instance_path: str, typed: str) -> Path | None:
    """Consume the code if ``typed`` matches: returns the path of the consumed file (to restore
    on failure), or None when it does not match or was already used."""
    path = Path(instance_path) / CODE_FILE
    try:
        expected = path.read_text().strip()
    except FileNotFoundError:
        return None
    # As bytes: compare_digest refuses str with non-ASCII characters (a 500 on "¹").
    if not secrets.compare_digest(normalise(expected).encode(), normalise(typed).encode()):
        return None
    consumed = path.with_name(CODE_FILE + ".used")
    try:
        os.replace(path, consumed)
    except FileNotFoundError:  # another request consumed it a moment ago
        return None
    return consumed


def restore_code(consumed: Path) -> None:
    """Put a consumed code back (the admin could not be created)."""
    consumed.rename(consumed.with_name(CODE_FILE))


def forget_code(consumed: Path) -> None:
    """Delete a consumed code for good."""
    consumed.unlink(missing_ok=True)
