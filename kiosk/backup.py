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
from pathlib import Path, PurePosixPath

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


def _open_archive(archive: str) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, "r:gz")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(f"not a backup archive: {error}") from None


def check_archive(tar: tarfile.TarFile) -> dict:
    """Read and check a backup's manifest and every member's name and kind, touching nothing.
    Returns the manifest. Raises ``BackupError`` for anything a backup never holds: a name
    outside ``instance/`` (``../``, absolute), a link or device, a file or folder the backup
    does not write, a malformed manifest."""
    allowed_top = {"manifest.json", DB_SQLITE, DB_PG, "instance"}
    try:
        members = tar.getmembers()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(f"damaged archive: {error}") from None
    manifest_member = None
    for member in members:
        name = member.name
        parts = PurePosixPath(name).parts
        if (not name or name.startswith("/") or "\\" in name or ".." in parts
                or any(ord(ch) < 32 for ch in name) or not parts or parts[0] not in allowed_top):
            raise BackupError(f"refusing archive member outside instance/: {name!r}")
        if not (member.isfile() or member.isdir()):
            raise BackupError(f"refusing archive member that is not a plain file or folder: {name!r}")
        if parts[0] == "instance" and len(parts) > 1 and parts[1] not in FILES + FOLDERS:
            raise BackupError(f"refusing archive member a backup never holds: {name!r}")
        if name == "manifest.json":
            manifest_member = member
    if manifest_member is None or not manifest_member.isfile() or manifest_member.size > 1_000_000:
        raise BackupError("the archive has no manifest")
    try:
        manifest = json.loads(tar.extractfile(manifest_member).read())
    except (ValueError, UnicodeDecodeError) as error:
        raise BackupError(f"unreadable manifest: {error}") from None
    if (not isinstance(manifest, dict) or manifest.get("engine") not in ("sqlite", "postgresql")
            or not isinstance(manifest.get("files"), list) or not isinstance(manifest.get("folders"), list)):
        raise BackupError("malformed manifest")
    unknown = [n for n in manifest["files"] if n not in FILES] + [n for n in manifest["folders"] if n not in FOLDERS]
    if unknown:
        raise BackupError(f"refusing names a backup never holds: {unknown!r}")
    kinds = {member.name.rstrip("/"): member for member in members}
    wanted = [(DB_SQLITE if manifest["engine"] == "sqlite" else DB_PG, "file")]
    wanted += [(f"instance/{n}", "file") for n in manifest["files"]]
    wanted += [(f"instance/{n}", "dir") for n in manifest["folders"]]
    for name, kind in wanted:
        member = kinds.get(name)
        if member is None or not (member.isdir() if kind == "dir" else member.isfile()):
            raise BackupError(f"the archive lacks {name!r}, which its manifest names")
    return manifest


def restore_backup(archive: str, instance_path: str, database_uri: str) -> dict:
    """Put an archive back: the database, then the instance files. Stop the server first.

    Returns the archive's manifest. The database is replaced whole (SQLite: through the backup
    API into the live file; PostgreSQL: ``pg_restore --clean``).
    """
    instance = Path(instance_path)
    url = make_url(database_uri)
    with tempfile.TemporaryDirectory() as tmp, _open_archive(archive) as tar:
        manifest = check_archive(tar)
        tar.extractall(tmp, filter="data")
        staging = Path(tmp)
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
