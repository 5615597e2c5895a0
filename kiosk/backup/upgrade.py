"""The backup taken before a migration runs on a database with data."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from sqlalchemy import inspect, text

from .archive import BackupError, make_backup, prune
from .schedule import backup_folder


DATA_TABLES = ("staff", "worker")  # a database with a row in either holds the office's data


def before_migration(destination) -> Path | None:
    """Back up the database before migrations change the schema of a database that holds data
    (kind ``upgrade``), so that an upgrade can always be undone; returns the archive (None when
    nothing needed it). ``destination`` is Alembic's ``context.get_revision_argument``; it raises
    KeyError for commands that migrate nothing (``current``, ``history``). Called by
    kiosk/migrations/env.py; a new database and one already at the target revision are let
    through. A backup that fails stops the migration (``BackupError``)."""
    try:
        target = destination()  # a revision; None for "base"
    except KeyError:
        return None
    except Exception:  # noqa: BLE001 - a relative step ("-1") or an odd name: back up to be safe
        target = ()
    engine = current_app.extensions["migrate"].db.engine
    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        if "alembic_version" not in names:
            return None
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        has_data = any(conn.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first()
                       for table in DATA_TABLES if table in names)
        conn.rollback()
    if not has_data or target == current:
        return None
    folder = backup_folder()
    try:
        path = make_backup(current_app.config["SECRETS_DIR"], current_app.config["SQLALCHEMY_DATABASE_URI"], folder, "upgrade")
    except (OSError, BackupError) as error:
        raise BackupError(f"no backup could be made before migrating, so nothing was migrated: {error}") from error
    prune(folder, int(current_app.config["BACKUP_KEEP"]))
    return path
