"""Configuration: defaults, then ``instance/config.py``, then the environment, then tests.

Every setting has one name, the one docs/operations.md lists: ``KIOSK_IDLE_MINUTES``,
``KIOSK_RESULT_SECONDS``, … Use that name in the environment or in ``instance/config.py``; the
``KIOSK_`` prefix is optional in ``instance/config.py`` and dropped inside the app
(``app.config["IDLE_MINUTES"]``). ``DATABASE_URL`` is the one name without it. Environment values
are read as JSON where they parse as JSON (numbers, true/false), else as text.

The names of the first release that doubled the prefix (``KIOSK_KIOSK_RESULT_SECONDS``: the
kiosk's settings were once called ``KIOSK_RESULT_SECONDS`` inside the app) still work, with a
warning in the log.

Settings an admin changes day to day (office name and address, help desk, result seconds, exit
PIN) are edited on the admin page *Pengaturan* and stored in the database (``kiosk.settings``);
the values here are their starting values.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Mapping

from flask import Config

from .private_files import link_new

PREFIX = "KIOSK_"
# Read from the environment as text, never as JSON (a secret of digits is not a number).
TEXT_SETTINGS = frozenset({"SECRET_KEY", "CARD_KEYS", "SECRETS_DIR"})
# A secret key shorter than this is refused (the app makes 64 hex characters).
MIN_SECRET_KEY_CHARS = 32
log = logging.getLogger("kiosk.config")


class Defaults:
    """Settings every installation starts from."""

    # The office (on cards and documents; editable on the admin page Pengaturan)
    OFFICE_NAME = "Dinas Ketenagakerjaan"
    REGENCY_NAME = "Kabupaten Muara Enim"
    OFFICE_ADDRESS = ""
    # The income an imported row without one gets: the programme's base (editable on Pengaturan)
    BASE_INCOME = 1_000_000

    # Staff passwords: werkzeug's strong default. Tests use a cheap one (each scrypt costs ~0.3 s).
    PASSWORD_HASH_METHOD = "scrypt"

    # Staff sessions on shared tablets
    IDLE_MINUTES = 15
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    SESSION_COOKIE_NAME = "kiosk_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # switched on when served over HTTPS (PREFER_HTTPS)
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)
    PREFER_HTTPS = False

    # Failed sign-ins (kiosk.throttle, counted in the database): per username from one address,
    # and per address over every username.
    LOGIN_LIMIT_PER_USER = "10 per 5 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "30 per 5 minutes"

    # Languages
    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES = ("id", "en")

    # Uploads (photos, imports)
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    # Kiosk screen (the first three are editable on the admin page Pengaturan)
    RESULT_SECONDS = 15
    EXIT_PIN = None  # PIN for the hidden staff exit on a kiosk; None keeps it closed
    HELP_DESK = "meja pendaftaran"  # where the kiosk sends people whose card is refused
    HELP_DESK_EN = "registration desk"  # the same, on a kiosk switched to English
    CODE_LIMIT = "10 per 5 minutes"  # wrong typed fallback codes per kiosk device (kiosk.throttle)

    # Dashboard figures over all workers are cached this many seconds (0: never)
    DASHBOARD_CACHE_SECONDS = 30

    # Backups (kiosk.backup): folder (None: backups/ beside instance/), how many of each kind to
    # keep, how often the automatic one is made, how often each server process looks whether it
    # is due; the dashboard warns when a disk has less than DISK_WARN_FREE_PERCENT free.
    BACKUP_DIR = None
    BACKUP_KEEP = 14
    BACKUP_AUTOMATIC = True
    BACKUP_EVERY_HOURS = 24
    BACKUP_POLL_SECONDS = 300
    DISK_WARN_FREE_PERCENT = 10

    # Secrets: given to every server of an installation alike (docs/operations.md, "Several
    # servers"). SECRETS_DIR holds secret_key, card-keys/ and tls/; default: the instance folder.
    SECRETS_DIR = None
    CARD_KEYS = None  # "A:<64 hex> B:<64 hex>": card keys given here instead of card-keys/ files

    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    WTF_CSRF_HEADERS = ["X-CSRFToken"]


class SecretKeyError(RuntimeError):
    """The secret key file cannot be used (empty or cut short): the server refuses to start,
    saying what to do, instead of answering every staff page with an error."""


def secret_key(secrets_dir: str | os.PathLike) -> str:
    """Return the app secret from ``<secrets>/secret_key``, creating it (mode 0600) on first use.

    The file is written whole or not at all (``private_files.link_new``); one that is empty or
    too short (cut by a power failure under an older version, or edited by hand) is refused
    with ``SecretKeyError``."""
    path = Path(secrets_dir) / "secret_key"
    try:
        return _checked_secret(path)
    except FileNotFoundError:
        pass
    # Another server process may link its key first: then that one is read, ours is dropped.
    link_new(path, (secrets.token_hex(32) + "\n").encode())
    return _checked_secret(path)


def _checked_secret(path: Path) -> str:
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_KEY_CHARS:
        raise SecretKeyError(
            f"{path} holds {'no secret key' if not key else f'a secret key of only {len(key)} characters'} "
            f"(at least {MIN_SECRET_KEY_CHARS} are needed): it was cut short, probably by a power failure "
            "while it was first written. If another server of this installation holds the secret key, copy "
            "its secret_key file here. Otherwise remove this file and start again: a new key is made "
            "(everyone signs in again); if the server then says the database is used with another secret key, "
            "run `flask --app kiosk register-secret-key`. See docs/operations.md, \"Several servers\"."
        )
    return key


def key_for(name: str, where: str = "") -> str:
    """The app's config key for a setting name: ``KIOSK_IDLE_MINUTES`` and ``IDLE_MINUTES`` are
    both ``IDLE_MINUTES``. A doubled prefix (an old name) works, with a warning."""
    if not name.startswith(PREFIX):
        return name
    key = name.removeprefix(PREFIX)
    if key.startswith(PREFIX):
        key = key.removeprefix(PREFIX)
        log.warning("setting %s%s is an old name; call it %s%s", name, where, PREFIX, key)
    return key


def canonical(values: Mapping, where: str = "") -> dict:
    """``values`` (a config layer) with every setting under its app key (see ``key_for``)."""
    return {key_for(name, where) if name.isupper() else name: value for name, value in values.items()}


def from_pyfile(instance_path: str) -> dict:
    """``instance/config.py`` as a config layer (nothing when it is missing)."""
    layer = Config(instance_path)
    layer.from_pyfile("config.py", silent=True)
    return canonical(layer, " in instance/config.py")


def from_environment(environ: os._Environ | dict) -> dict:
    """Read ``DATABASE_URL`` and ``KIOSK_*`` variables into config keys."""
    found: dict = {}
    if environ.get("DATABASE_URL"):
        found["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(environ["DATABASE_URL"])
    for name, raw in environ.items():
        if not name.startswith(PREFIX) or name == "KIOSK_INSTANCE_PATH":
            continue
        key = key_for(name, " in the environment")
        if key in TEXT_SETTINGS:
            found[key] = raw
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        found[key] = value
    return found


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for ``postgres://`` and ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url
