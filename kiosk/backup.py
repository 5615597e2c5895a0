"""Backups: one archive holding a consistent copy of the database (photos included) and the
secrets the app cannot recreate (card-signing keys, the app secret, the LAN certificate). The
secrets are taken from and restored into the secrets folder (``KIOSK_SECRETS_DIR``, default
``instance/``); in the archive they sit under ``instance/`` whichever folder they came from.

The copy is taken while the app keeps serving: SQLite through its online backup API (a snapshot
of one moment, WAL included), PostgreSQL through ``pg_dump`` (one transaction snapshot).

The office's backups live in one folder (``KIOSK_BACKUP_DIR``, default ``backups/`` beside
``instance/``), named ``kiosk-backup-<UTC time>-<kind>.tar.gz`` where kind says why it was made:

- ``daily``: automatic, once a day (below);
- ``close``: automatic, when a distribution is closed;
- ``manual``: an admin's *Cadangkan sekarang* on the page *Cadangan*, or ``flask backup``;
- ``upgrade``: automatic, before a migration runs on a database with data (``before_migration``).

The newest ``KIOSK_BACKUP_KEEP`` of each kind are kept; older ones are removed after each backup.

**Who makes the daily backup.** Every gunicorn worker (and every server) runs a small scheduler
thread, but the "due" state lives in the database (``scheduled_task``, invariant 9): a worker
takes the job with a conditional UPDATE (due, and no live lease), so exactly one of them makes
the backup and moves the next due time on; the others find it not due. A worker that dies
mid-backup leaves a lease that runs out after ``LEASE``, and another takes over. The same lease
keeps an admin's *Cadangkan sekarang* from running twice at once. This works however the app is
started (``make run``, the system service, several servers on one PostgreSQL) without a system
timer to install; ``KIOSK_BACKUP_AUTOMATIC=false`` turns the scheduler off (for a site that
backs up its PostgreSQL by other means).
"""

from __future__ import annotations

import io
import json
import logging
import os
import random
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath

from flask import current_app
from sqlalchemy import create_engine, inspect, or_, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from .database import utcnow, write_transaction
from .extensions import db
from .i18n import _l, waktu
from .models import ScheduledTask

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

log = logging.getLogger("kiosk.backup")
log.setLevel(logging.INFO)  # what was backed up, when, belongs in the server's log (the journal)


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
    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    url = make_url(database_uri)
    with tempfile.TemporaryDirectory(dir=target, prefix=".staging-") as tmp:
        staging = Path(tmp)
        if url.get_backend_name() == "sqlite":
            _sqlite_copy(url.database, staging / DB_SQLITE)
            engine = "sqlite"
        else:
            dump = staging / DB_PG
            try:
                result = subprocess.run(
                    ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", _libpq_url(database_uri)],
                    capture_output=True, text=True,
                )
            except OSError as error:
                raise BackupError(f"pg_dump could not run ({error}); install the postgresql-client package") from None
            if result.returncode != 0:
                raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
            engine = "postgresql"
        manifest = {"engine": engine, "made_at": stamp, "kind": kind,
                    "revision": _schema_revision(engine, staging, database_uri), "files": [], "folders": []}
        archive = target / f"kiosk-backup-{stamp}-{kind}.tar.gz"
        partial = target / (archive.name + PARTIAL_SUFFIX)
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
        partial.rename(archive)
    return archive


# ---- the backup folder ------------------------------------------------------------------------


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
    cutoff = time.time() - 3600
    for path in Path(folder).glob("*"):
        leftover = path.name.endswith(PARTIAL_SUFFIX) or path.name.startswith(".staging-")
        if leftover and path.stat().st_mtime < cutoff:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
            removed.append(path)
    return removed


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
    return manifest


# ---- the office's backups: folder, schedule, status (in an app context) ----------------------

TASK = "backup"
LEASE = timedelta(minutes=30)  # longer than any backup takes; a dead process's lease runs out
RETRY = timedelta(hours=1)  # after a failed backup
STALE_HOURS = 24  # the dashboard warns an admin when the newest backup is older
_local_lock = threading.Lock()  # one backup at a time in this process


def backup_folder() -> Path:
    """The office's backup folder: ``KIOSK_BACKUP_DIR``, else ``backups/`` beside ``instance/``."""
    configured = current_app.config.get("BACKUP_DIR")
    return Path(configured) if configured else Path(current_app.instance_path).parent / "backups"


def _task():
    """The schedule's row, made on first use (by whichever process gets there first)."""
    task = db.session.get(ScheduledTask, TASK, populate_existing=True)
    if task is None:
        try:
            with write_transaction():
                db.session.add(ScheduledTask(name=TASK, due_at=utcnow()))
        except IntegrityError:
            pass
        task = db.session.get(ScheduledTask, TASK, populate_existing=True)
    return task


def _take_lease(due_only: bool) -> bool:
    """Take the backup job: True for exactly one caller among every process and server while the
    job is free (and, with ``due_only``, due)."""
    _task()
    with write_transaction():
        now = utcnow()
        stmt = update(ScheduledTask).where(
            ScheduledTask.name == TASK,
            or_(ScheduledTask.lease_until.is_(None), ScheduledTask.lease_until < now),
        )
        if due_only:
            stmt = stmt.where(ScheduledTask.due_at <= now)
        taken = db.session.execute(
            stmt.values(lease_until=now + LEASE).execution_options(synchronize_session=False)
        ).rowcount
    return taken == 1


def _settle(lease: bool, error: str | None) -> None:
    """Record the outcome: the next due time moves a day on (an hour on after a failure)."""
    now = utcnow()
    every = timedelta(hours=float(current_app.config["BACKUP_EVERY_HOURS"]))
    # Due a little early, so that the scheduler's next look finds it due before a day has passed.
    slack = timedelta(seconds=2 * float(current_app.config["BACKUP_POLL_SECONDS"]))
    if error is None:
        values = {"last_ok_at": now, "due_at": now + max(every - slack, every / 2), "last_error": None}
    else:
        values = {"last_error": error[:2000], "last_error_at": now}
        if lease:
            values["due_at"] = now + RETRY
    if lease:
        values["lease_until"] = None
    _task()
    with write_transaction():
        db.session.execute(update(ScheduledTask).where(ScheduledTask.name == TASK).values(**values)
                           .execution_options(synchronize_session=False))


def run(kind: str, *, due_only: bool = False, target: str | os.PathLike | None = None,
        lease: bool = True) -> Archive | None:
    """Make a backup of ``kind`` into the backup folder (or ``target``), prune the folder and
    record the outcome for the schedule and the dashboard. Returns None when another backup is
    running (or, with ``due_only``, none is due). ``lease=False`` (the CLI) runs regardless.
    Raises ``BackupError``; the failure is recorded first."""
    if not _local_lock.acquire(blocking=not lease):
        return None
    try:
        if lease and not _take_lease(due_only):
            return None
        db.session.remove()  # no read transaction of ours is held open while copying
        folder = Path(target) if target else backup_folder()
        try:
            path = make_backup(current_app.config["SECRETS_DIR"], current_app.config["SQLALCHEMY_DATABASE_URI"], folder, kind)
        except Exception as error:
            log.error("backup (%s) failed: %s", kind, error)
            _settle(lease, f"{type(error).__name__}: {error}")
            raise BackupError(str(error)) from error
        if not target:
            for removed in prune(folder, int(current_app.config["BACKUP_KEEP"])):
                log.info("old backup removed: %s", removed.name)
        _settle(lease, None)
        log.info("backup (%s) made: %s", kind, path.name)
        return archive_info(path)
    finally:
        _local_lock.release()


def start(app, kind: str) -> bool:
    """Make a backup in a background thread (the page answers at once; a backup of many photos
    takes longer than a request should). False when one is running already."""
    if not _task_free(app):
        return False

    def work() -> None:

        with app.app_context():
            try:
                made = run(kind)
                if made is None and kind == "close":
                    mark_due(app)  # a backup was running: the next look makes one after the close
            except BackupError:
                pass  # logged and recorded for the page and the dashboard
            except Exception:  # noqa: BLE001 - a thread's failure must reach the log, not vanish
                log.exception("backup (%s) could not run", kind)
            finally:
                db.session.remove()

    threading.Thread(target=work, name=f"kiosk-backup-{kind}", daemon=True).start()
    return True


def _task_free(app) -> bool:
    with app.app_context():

        try:
            return not status()["running"]
        finally:
            db.session.remove()


def mark_due(app) -> None:
    """Make the scheduled backup due now (the scheduler's next look makes it)."""
    with app.app_context():
        _task()
        with write_transaction():
            db.session.execute(update(ScheduledTask).where(ScheduledTask.name == TASK).values(due_at=utcnow())
                               .execution_options(synchronize_session=False))
        db.session.remove()


def status() -> dict:
    """The schedule as the page and the dashboard show it: ``running``, ``last_ok_at``,
    ``last_error``, ``last_error_at``, ``due_at``."""
    task = _task()
    now = utcnow()
    return {
        "running": task.lease_until is not None and task.lease_until > now,
        "last_ok_at": task.last_ok_at,
        "last_error": task.last_error if task.last_error_at and (not task.last_ok_at or task.last_error_at > task.last_ok_at) else None,
        "last_error_at": task.last_error_at,
        "due_at": task.due_at,
    }


def disk_space() -> list[dict]:
    """Free space of the disks holding ``instance/`` and the backup folder: ``path``, ``free``,
    ``total`` (bytes), ``percent_free``, ``low`` (below ``KIOSK_DISK_WARN_FREE_PERCENT``)."""
    limit = float(current_app.config["DISK_WARN_FREE_PERCENT"])
    found, devices = [], set()
    for path in (Path(current_app.instance_path), backup_folder()):
        while not path.exists() and path != path.parent:
            path = path.parent
        device = path.stat().st_dev
        if device in devices:
            continue
        devices.add(device)
        usage = shutil.disk_usage(path)
        percent = 100 * usage.free / usage.total if usage.total else 0
        found.append({"path": path, "free": usage.free, "total": usage.total,
                      "percent_free": percent, "low": percent < limit})
    return found


def warnings() -> list:
    """What an admin should know about backups now (for the dashboard): none yet or the newest
    older than ``STALE_HOURS``, the last one failed, a disk nearly full."""
    found = []
    state = status()
    if state["last_ok_at"] is None:
        found.append(_l("Belum ada cadangan data. Buat sekarang di halaman Cadangan."))
    elif utcnow() - state["last_ok_at"] > timedelta(hours=STALE_HOURS):
        found.append(_l("Cadangan terakhir dibuat %(when)s, lebih dari 24 jam lalu. Periksa halaman Cadangan.",
                        when=waktu(state["last_ok_at"])))
    if state["last_error"]:
        found.append(_l("Cadangan terakhir gagal (%(when)s): %(error)s", when=waktu(state["last_error_at"]),
                        error=state["last_error"][:200]))
    for disk in disk_space():
        if disk["low"]:
            found.append(_l("Disk hampir penuh: sisa %(free)s GB (%(percent)s %%). Pindahkan cadangan lama ke "
                            "flashdisk lalu hapus dari PC ini.",
                            free=f"{disk['free'] / 1e9:.1f}", percent=f"{disk['percent_free']:.0f}"))
    return found


def start_scheduler(app) -> None:
    """Start this process's scheduler thread (gunicorn starts one per worker; see the module
    docstring for why only one of them makes each backup)."""
    if not app.config.get("BACKUP_AUTOMATIC") or app.extensions.get("kiosk.backup_scheduler"):
        return
    poll = float(app.config["BACKUP_POLL_SECONDS"])
    thread = threading.Thread(target=_schedule, args=(app, poll), name="kiosk-backup-scheduler", daemon=True)
    app.extensions["kiosk.backup_scheduler"] = thread
    thread.start()
    log.info("backup scheduler started: looks every %.0f s whether the daily backup is due", poll)


def _schedule(app, poll: float) -> None:

    wait = random.uniform(0, min(poll, 30))  # soon after start: a PC off overnight catches up
    while True:
        time.sleep(wait)
        wait = poll * random.uniform(0.8, 1.2)
        try:
            with app.app_context():
                try:
                    run("daily", due_only=True)
                finally:
                    db.session.remove()
        except BackupError:
            pass  # logged and recorded
        except Exception:  # noqa: BLE001 - the scheduler must outlive a database that is away
            log.exception("backup scheduler: could not look at the schedule")


# ---- safe upgrades ----------------------------------------------------------------------------

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
