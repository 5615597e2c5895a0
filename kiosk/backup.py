"""Backups: one archive holding a consistent copy of the database and everything in ``instance/``
the app cannot recreate (photos, card-signing keys, the app secret).

The copy is taken while the app keeps serving: SQLite through its online backup API (a snapshot
of one moment, WAL included), PostgreSQL through ``pg_dump`` (one transaction snapshot).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

FILES = ("secret_key",)
FOLDERS = ("photos", "card-keys")
DB_SQLITE = "database.sqlite3"
DB_PG = "database.pgdump"


class BackupError(Exception):
    """A backup or restore could not be made; nothing was changed."""


def _libpq_url(database_uri: str) -> str:
    url = make_url(database_uri).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _sqlite_copy(source_path, dest_path) -> None:
    """Copy one SQLite database over another with the online backup API: a consistent snapshot
    even while the app writes, WAL included."""
    source = sqlite3.connect(source_path)
    dest = sqlite3.connect(dest_path)
    try:
        with dest:
            source.backup(dest)
    finally:
        dest.close()
        source.close()


def make_backup(instance_path: str, database_uri: str, target_dir: str) -> Path:
    """Write ``kiosk-backup-<UTC time>.tar.gz`` into ``target_dir`` and return its path."""
    instance = Path(instance_path)
    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    url = make_url(database_uri)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        staging = Path(tmp)
        if url.get_backend_name() == "sqlite":
            _sqlite_copy(url.database, staging / DB_SQLITE)
            engine = "sqlite"
        else:
            dump = staging / DB_PG
            result = subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", _libpq_url(database_uri)],
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
            engine = "postgresql"
        manifest = {"engine": engine, "made_at": stamp, "files": [], "folders": []}
        archive = target / f"kiosk-backup-{stamp}.tar.gz"
        partial = archive.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(staging / (DB_SQLITE if engine == "sqlite" else DB_PG), arcname=DB_SQLITE if engine == "sqlite" else DB_PG)
            for name in FILES:
                if (instance / name).is_file():
                    tar.add(instance / name, arcname=f"instance/{name}")
                    manifest["files"].append(name)
            for name in FOLDERS:
                if (instance / name).is_dir():
                    tar.add(instance / name, arcname=f"instance/{name}")
                    manifest["folders"].append(name)
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            info.mtime = int(datetime.now(timezone.utc).timestamp())
            tar.addfile(info, io.BytesIO(data))
        os.chmod(partial, 0o600)  # it holds the keys
        partial.rename(archive)
    return archive


def restore_backup(archive: str, instance_path: str, database_uri: str) -> dict:
    """Put an archive back: the database, then the instance files. Stop the server first.

    Returns the archive's manifest. The database is replaced whole (SQLite: through the backup
    API into the live file; PostgreSQL: ``pg_restore --clean``).
    """
    instance = Path(instance_path)
    url = make_url(database_uri)
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive, "r:gz") as tar:
        tar.extractall(tmp, filter="data")
        staging = Path(tmp)
        manifest = json.loads((staging / "manifest.json").read_text())
        if manifest["engine"] != ("sqlite" if url.get_backend_name() == "sqlite" else "postgresql"):
            raise BackupError(
                f"this backup is of a {manifest['engine']} database; the app is configured for {url.get_backend_name()}"
            )
        if manifest["engine"] == "sqlite":
            _sqlite_copy(staging / DB_SQLITE, url.database)
        else:
            result = subprocess.run(
                ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 f"--dbname={_libpq_url(database_uri)}", str(staging / DB_PG)],
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
        for name in manifest["files"]:
            shutil.copy2(staging / "instance" / name, instance / name)
            os.chmod(instance / name, 0o600)
        for name in manifest["folders"]:
            destination = instance / name
            if destination.exists():
                shutil.rmtree(destination)
            shutil.copytree(staging / "instance" / name, destination)
    return manifest
