"""One installation, one or several servers: what every server must hold alike, and the check
that a server holds it before it serves.

Everything the servers share lives in the database (photos, previews, settings, codes, the
card keys' registry). Two things each server is *given*, because a copy of the database must not
be enough to forge a session or a card:

- the app's secret key (sessions, form tokens, pairing codes): ``KIOSK_SECRET_KEY``, else the
  file ``<secrets>/secret_key``;
- the card-signing keys: ``KIOSK_CARD_KEYS``, else the files ``<secrets>/card-keys/<id>.key``;

where ``<secrets>`` is ``KIOSK_SECRETS_DIR`` (default: the instance folder). The first server of
a new installation makes them (``make run`` needs nothing configured); the database keeps their
fingerprints, never the secrets. A server that finds the database in use with secrets it does
not hold, or holds differently, refuses to start (``check_before_serving``, run by gunicorn
through ``gunicorn.conf.py``) instead of making its own.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, current_app
from sqlalchemy import inspect

from .config import MIN_SECRET_KEY_CHARS
from .database import write_transaction
from .extensions import db
from .models import InstallationSecret

SECRET_KEY_ROW = "secret_key"
HOW_TO_FIX = (
    "Give every server of one database the same secrets: the same KIOSK_SECRETS_DIR folder "
    "(shared, or copied from the first server), or the same KIOSK_SECRET_KEY and KIOSK_CARD_KEYS. "
    'See docs/operations.md, "Several servers".'
)


class InstallationError(RuntimeError):
    """This server must not serve this database (gunicorn prints the message and exits)."""


def secret_fingerprint(secret: str | bytes) -> str:
    """What the database keeps of the app's secret key: tells whether two servers use the same
    one, and nothing about it."""
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(key, b"kiosk-bpu secret key fingerprint", hashlib.sha256).hexdigest()


def schema_ready() -> bool:
    """True once the database has the tables this check needs (``flask db upgrade`` ran)."""
    return inspect(db.engine).has_table(InstallationSecret.__tablename__)


def register_secret_key(*, replace: bool = False) -> bool:
    """Record this server's secret key as the installation's when none is recorded yet (or
    ``replace``). Returns False when another secret key is recorded (and not replaced).

    A key too short to be one (``MIN_SECRET_KEY_CHARS``) is never recorded (``InstallationError``),
    and an empty key recorded by an older version (its secret_key file cut short by a power
    failure) counts as none recorded: no recovery step can make an empty key the installation's."""
    secret = current_app.secret_key
    if secret is None or len(secret.strip() if isinstance(secret, str) else secret) < MIN_SECRET_KEY_CHARS:
        raise InstallationError(
            f"this server's secret key is shorter than {MIN_SECRET_KEY_CHARS} characters and cannot be "
            f"the installation's. {HOW_TO_FIX}"
        )
    fingerprint = secret_fingerprint(secret)
    with write_transaction():
        row = db.session.get(InstallationSecret, SECRET_KEY_ROW)
        if row is None:
            db.session.add(InstallationSecret(name=SECRET_KEY_ROW, digest=fingerprint))
        elif row.digest != fingerprint:
            if not replace and row.digest != secret_fingerprint(""):
                return False
            row.digest = fingerprint
    return True


def problems() -> list[str]:
    """What keeps this server from serving the database it is configured for, in the
    operator's words; empty when all is well. Registers this server's secrets on a database
    that has none yet (the first server of an installation)."""
    from .card_registry import keyring

    found = []
    if not register_secret_key():
        found.append(
            f"the secret key (KIOSK_SECRET_KEY, or {current_app.config['SECRETS_DIR']}/secret_key) "
            "is not the one this database is used with"
        )
    found += keyring().problems()
    return found


def check_before_serving(app: Flask | None = None) -> None:
    """Raise ``InstallationError`` when this server must not serve its database (see
    ``problems``). A database not migrated yet is left to ``flask db upgrade``."""
    if app is None:
        from . import create_app

        app = create_app()
    with app.app_context():
        try:
            if not schema_ready():
                app.logger.warning("the database has no tables yet: run `flask --app kiosk db upgrade`")
                return
            found = problems()
            where = db.engine.url.render_as_string(hide_password=True)
        finally:
            db.session.remove()
            db.engine.dispose()  # the gunicorn master forks workers: they open their own
    if found:
        lines = "\n".join(f"  - {problem}" for problem in found)
        raise InstallationError(
            f"This server cannot serve {where}: that database is in use with secrets this server "
            f"does not hold.\n{lines}\n{HOW_TO_FIX}"
        )
