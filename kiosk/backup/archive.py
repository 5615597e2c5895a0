"""Making a backup archive, and the folder of archives (names, listing, pruning)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ..private_files import private_dir, replace_file


# What a backup holds besides the database: files and folders of the secrets folder. The one
# list (the restore checks archives against it too).
FILES = ("secret_key",)
FOLDERS = ("card-keys", "tls")
# Archives of versions that kept photos on disk hold instance/photos/: restored into instance/,
# where the next `flask db upgrade` copies them into the database.
OLD_FOLDERS = ("photos",)
DB_SQLITE = "database.sqlite3"
DB_PG = "database.pgdump"
KINDS = ("daily", "close", "manual", "upgrade")
ARCHIVE_NAME = re.compile(r"^kiosk-backup-(?P<stamp>\d{8}T\d{12})Z(?:-(?P<kind>[a-z]+))?\.tar\.gz$")
PARTIAL_SUFFIX = ".partial"
STAGING_PREFIX = ".staging-"
# What a backup writes before its archive is whole carries its maker (<pid>@<host>), so that a
# leftover of a process that is gone is removed at once, not only after LEFTOVER_SECONDS.
LEFTOVER_SECONDS = 3600
_MAKER = re.compile(r"(?P<pid>\d+)@(?P<host>[^/]+?)(?:-[A-Za-z0-9_]+|\.partial)$")
HOST = socket.gethostname()


def maker() -> str:
    """This process as the maker of a backup's leftovers: ``<pid>@<host>``."""
    return f"{os.getpid()}@{HOST}"


def process_gone(host: str, pid: int) -> bool:
    """True when ``pid`` is a process of this host that no longer runs (False for another host's
    process, which this server cannot see)."""
    if host != HOST:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):
        return False
    return False


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


def _schema_revision(engine: str, staging: Path, database_uri: str) -> str | None:
    """The migration the copied database is at (``alembic_version``), for the manifest."""
    try:
        if engine == "sqlite":
            con = sqlite3.connect(staging / DB_SQLITE)
            try:
                row = con.execute("SELECT version_num FROM alembic_version").fetchone()
            finally:
                con.close()
            return row[0] if row else None

        pg = create_engine(database_uri)
        try:
            with pg.connect() as conn:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        finally:
            pg.dispose()
    except Exception:  # noqa: BLE001 - an empty database has no version table; the manifest says None
        return None


def make_backup(secrets_dir: str, database_uri: str, target_dir: str, kind: str = "manual") -> Path:
    """Write ``kiosk-backup-<UTC time>-<kind>.tar.gz`` into ``target_dir`` and return its path.

    The archive is written under a ``.partial`` name (mode 0600 from the first byte: it holds the
    keys) and renamed when complete, so a half-written backup is never listed."""
    if kind not in KINDS:
        raise ValueError(f"unknown backup kind {kind!r}")
    instance = Path(secrets_dir)
    target = private_dir(target_dir)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    url = make_url(database_uri)
    with tempfile.TemporaryDirectory(dir=target, prefix=f"{STAGING_PREFIX}{maker()}-") as tmp:
        staging = Path(tmp)
        if url.get_backend_name() == "sqlite":
            _sqlite_copy(url.database, staging / DB_SQLITE)
            engine = "sqlite"
        else:
            _pg_dump(database_uri, staging / DB_PG)
            engine = "postgresql"
        manifest = {"engine": engine, "made_at": stamp, "kind": kind,
                    "revision": _schema_revision(engine, staging, database_uri), "files": [], "folders": []}
        archive = target / f"kiosk-backup-{stamp}-{kind}.tar.gz"
        partial = target / f"{archive.name}.{maker()}{PARTIAL_SUFFIX}"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
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
                raw.flush()
                os.fsync(raw.fileno())
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        replace_file(partial, archive)  # the name survives a power cut once its row is recorded
    return archive


def _pg_dump(database_uri: str, dump: Path) -> None:
    """Dump the database into ``dump`` through a pipe: pg_dump writes to this process, which
    writes the file, so a pg_dump whose backup process is killed stops at its next write (its
    pipe is gone) instead of dumping on into a folder nobody will read."""
    with open(dump, "xb") as out, tempfile.TemporaryFile() as errors:
        try:
            dumping = subprocess.Popen(
                ["pg_dump", "--format=custom", "--no-owner", _libpq_url(database_uri)],
                stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL,
            )
        except OSError as error:
            raise BackupError(f"pg_dump could not run ({error}); install the postgresql-client package") from None
        try:
            shutil.copyfileobj(dumping.stdout, out, 1 << 20)
        finally:
            dumping.stdout.close()
            code = dumping.wait()
        if code != 0:
            errors.seek(0)
            raise BackupError(f"pg_dump failed: {errors.read().decode(errors='replace').strip()}")
        out.flush()
        os.fsync(out.fileno())


@dataclass(frozen=True)
class Archive:
    """One backup in the folder: its file, when it was made (UTC), why, and its size in bytes."""
    path: Path
    made_at: datetime
    kind: str
    size: int

    @property
    def name(self) -> str:
        return self.path.name


def archive_info(path: Path) -> Archive | None:
    """The ``Archive`` behind ``path`` when its name is a backup's name, else None."""
    match = ARCHIVE_NAME.match(path.name)
    if match is None or not path.is_file():
        return None
    made_at = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%S%f").replace(tzinfo=timezone.utc)
    kind = match["kind"] if match["kind"] in KINDS else "manual"  # the first release had no kind
    return Archive(path, made_at, kind, path.stat().st_size)


def archives(folder: str | os.PathLike) -> list[Archive]:
    """Every backup in ``folder``, newest first (half-written ones are not listed)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [info for info in map(archive_info, folder.iterdir()) if info is not None]
    return sorted(found, key=lambda a: a.made_at, reverse=True)


def prune(folder: str | os.PathLike, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` backups of each kind; returns what was removed. Also
    removes what a backup killed half-way left behind (older than an hour)."""
    removed = []
    seen: dict[str, int] = {}
    for archive in archives(folder):
        seen[archive.kind] = seen.get(archive.kind, 0) + 1
        if seen[archive.kind] > max(1, keep):
            archive.path.unlink(missing_ok=True)
            removed.append(archive.path)
    removed += remove_leftovers(folder)
    return removed


def remove_leftovers(folder: str | os.PathLike) -> list[Path]:
    """Remove what a backup killed half-way left in ``folder`` (its staging folder, its
    ``.partial`` archive): at once when its maker was a process of this host that is gone, else
    once older than ``LEFTOVER_SECONDS`` (a maker on another server sharing the folder)."""
    removed = []
    cutoff = time.time() - LEFTOVER_SECONDS
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        if not (path.name.endswith(PARTIAL_SUFFIX) or path.name.startswith(STAGING_PREFIX)):
            continue
        found = _MAKER.search(path.name)
        gone = found is not None and process_gone(found["host"], int(found["pid"]))
        try:
            if gone or path.lstat().st_mtime < cutoff:
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink(missing_ok=True)
                removed.append(path)
        except FileNotFoundError:
            pass
    return removed
