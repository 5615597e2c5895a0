"""Checking an archive and restoring it (database and secrets)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from sqlalchemy.engine import make_url

from ..private_files import sqlite_files, tighten
from .archive import BackupError, DB_PG, DB_SQLITE, FILES, FOLDERS, OLD_FOLDERS, _libpq_url, _sqlite_copy


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
        if parts[0] == "instance" and len(parts) > 1 and parts[1] not in FILES + FOLDERS + OLD_FOLDERS:
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
    unknown = [n for n in manifest["files"] if n not in FILES] + [
        n for n in manifest["folders"] if n not in FOLDERS + OLD_FOLDERS]
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


def _pg_replace(database_uri: str, dump: Path) -> None:
    """Replace the whole PostgreSQL schema with the dump's, in one transaction: the app's tables
    are dropped with everything depending on them (``pg_restore --clean`` alone leaves tables a
    newer release added, whose foreign keys then block the restore of an older backup — going
    back after an upgrade), then the dump is loaded. Any error rolls all of it back."""
    script = dump.with_suffix(".sql")
    commands = [
        ["pg_restore", "--no-owner", f"--file={script}", str(dump)],
        ["psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction",
         f"--dbname={_libpq_url(database_uri)}",
         "--command=DROP SCHEMA IF EXISTS public CASCADE", "--command=CREATE SCHEMA public", f"--file={script}"],
    ]
    for command in commands:
        try:
            result = subprocess.run(command, capture_output=True, text=True)
        except OSError as error:
            raise BackupError(f"{command[0]} could not run ({error}); install the postgresql-client package") from None
        if result.returncode != 0:
            raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")


def restore_backup(archive: str, instance_path: str, database_uri: str, secrets_dir: str | None = None) -> dict:
    """Put an archive back: the database, then the secrets (into ``secrets_dir``, default the
    instance folder). Stop the server first (every server, when several share the database).

    Returns the archive's manifest. The database is replaced whole (SQLite: through the backup
    API into the live file; PostgreSQL: see ``_pg_replace``).
    """
    instance = Path(instance_path)
    secrets = Path(secrets_dir or instance_path)
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
            sqlite_files(url.database)
            _sqlite_copy(staging / DB_SQLITE, url.database)
        else:
            _pg_replace(database_uri, staging / DB_PG)
        for name in manifest["files"]:
            shutil.copy2(staging / "instance" / name, secrets / name)
            os.chmod(secrets / name, 0o600)
        for name in manifest["folders"]:
            destination = (instance if name in OLD_FOLDERS else secrets) / name
            if destination.exists():
                shutil.rmtree(destination)
            shutil.copytree(staging / "instance" / name, destination)
            tighten(destination)
    return manifest
