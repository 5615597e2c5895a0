"""The office's backups in an app context: the folder, the daily schedule (one worker of all
takes the job, through a lease in the database), running one now, the status for the pages.

**The lease.** Whoever makes a backup holds the job's lease: ``lease_owner`` names it
(``<host>:<pid>:<nonce>``) and ``lease_until`` is renewed every ``HEARTBEAT`` while it works, so
a backup whose process was killed (SIGKILL, a server stopped or restarted mid-backup) is seen as
gone once its lease runs out (``LEASE``, two minutes), and at once by a process on the same host,
which sees that the owner's pid no longer runs (``_reap``). The dead backup is recorded as
interrupted, the job made due again, and its leftovers in the backup folder removed.

**A backup owed.** A distribution closed while another backup runs sets ``pending_kind`` to
``close`` and makes the job due: the process that finishes the running backup makes it next, or
the scheduler's next look (``run(None, due_only=True)`` makes the kind owed)."""

from __future__ import annotations

import contextlib
import logging
import os
import random
import secrets
import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import case, literal, or_, update
from sqlalchemy.exc import IntegrityError

from .. import photos
from ..database import utcnow, write_transaction
from ..extensions import db
from ..i18n import _l, waktu
from ..models import ScheduledTask
from .archive import HOST, Archive, BackupError, archive_info, make_backup, process_gone, prune, remove_leftovers


log = logging.getLogger("kiosk.backup")
log.setLevel(logging.INFO)  # what was backed up, when, belongs in the server's log (the journal)


TASK = "backup"
LEASE = timedelta(minutes=2)  # renewed every HEARTBEAT while the backup runs
HEARTBEAT = timedelta(seconds=20)
OWED_KINDS = ("close",)  # kinds a backup that could not run now leaves owed (pending_kind)
_NONCE = secrets.token_hex(4)  # tells this process from an earlier one that had its pid
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


def _at(moment):
    """A time as a value of the schedule's time columns (inside SQL expressions)."""
    return literal(moment, ScheduledTask.due_at.type)


def owner() -> str:
    """This process as the holder of the backup job's lease: ``<host>:<pid>:<nonce>``."""
    return f"{HOST}:{os.getpid()}:{_NONCE}"


def _owner_gone(holder: str | None) -> bool:
    """True when ``holder`` (a lease's owner) is a process of this host that runs no more."""
    try:
        host, pid, nonce = (holder or "").rsplit(":", 2)
        pid = int(pid)
    except ValueError:
        return False
    if pid == os.getpid() and host == HOST:
        return nonce != _NONCE  # an earlier process with this pid
    return process_gone(host, pid)


def _reap(task=None, *, own_host_only: bool = False) -> bool:
    """Free the job from a backup whose owner is gone (lease run out, or the owner's process not
    running on this host): record it as interrupted, make the job due again, remove its
    leftovers. True when one was found. Exactly one of several reapers records it (the UPDATE
    is conditional on the lease it saw)."""
    task = task or _task()
    now = utcnow()
    if task.lease_until is None:
        return False
    gone = _owner_gone(task.lease_owner)
    if not gone and (own_host_only or task.lease_until >= now):
        return False
    holder = task.lease_owner
    stmt = update(ScheduledTask).where(
        ScheduledTask.name == TASK,
        ScheduledTask.lease_owner.is_(None) if holder is None else ScheduledTask.lease_owner == holder,
    )
    if not gone:
        stmt = stmt.where(ScheduledTask.lease_until < now)
    who = holder.rsplit(":", 1)[0].replace(":", ", process ") if holder else "a server"
    error = (f"interrupted: the backup started by {who} stopped without finishing (the server was stopped "
             "or restarted, or its process killed); it is made again")
    with write_transaction():
        reaped = db.session.execute(
            stmt.values(lease_until=None, lease_owner=None, last_error=error, last_error_at=now,
                        due_at=case((ScheduledTask.due_at > now, _at(now)), else_=ScheduledTask.due_at))
            .execution_options(synchronize_session=False)
        ).rowcount
    if reaped:
        log.warning("backup %s", error)
        if holder is None or holder.startswith(HOST + ":"):
            for path in remove_leftovers(backup_folder()):
                log.info("left by the interrupted backup, removed: %s", path.name)
    return reaped == 1


def _take_lease(due_only: bool, kind: str | None) -> bool:
    """Take the backup job: True for exactly one caller among every process and server while the
    job is free (and, with ``due_only``, due). A lease whose owner is gone is freed first."""
    _reap()
    with write_transaction():
        now = utcnow()
        stmt = update(ScheduledTask).where(
            ScheduledTask.name == TASK,
            or_(ScheduledTask.lease_until.is_(None), ScheduledTask.lease_until < now),
        )
        if due_only:
            stmt = stmt.where(ScheduledTask.due_at <= now)
        values = {"lease_until": now + LEASE, "lease_owner": owner()}
        if kind in OWED_KINDS:
            values["pending_kind"] = kind  # owed until made: an interrupted one is made again
        taken = db.session.execute(stmt.values(**values).execution_options(synchronize_session=False)).rowcount
    return taken == 1


class _Heartbeat:
    """Renew this process's lease every ``HEARTBEAT`` while a backup runs (a thread of its own)."""

    def __init__(self, app):
        self.app = app
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="kiosk-backup-heartbeat", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def _beat(self) -> None:
        while not self.stop.wait(HEARTBEAT.total_seconds()):
            try:
                with self.app.app_context():
                    try:
                        with write_transaction():
                            kept = db.session.execute(
                                update(ScheduledTask)
                                .where(ScheduledTask.name == TASK, ScheduledTask.lease_owner == owner())
                                .values(lease_until=utcnow() + LEASE)
                                .execution_options(synchronize_session=False)
                            ).rowcount
                    finally:
                        db.session.remove()
                if not kept:
                    log.warning("backup: the lease was taken from this process (it was silent too long)")
            except Exception:  # noqa: BLE001 - a database away for a moment: try again next beat
                log.exception("backup: could not renew the lease")


def _settle(lease: bool, error: str | None, kind: str, path: Path | None = None) -> None:
    """Record the outcome: the next due time moves a day on (an hour on after a failure); a
    backup still owed (``pending_kind``, another kind than this one) stays due now."""
    now = utcnow()
    every = timedelta(hours=float(current_app.config["BACKUP_EVERY_HOURS"]))
    # Due a little early, so that the scheduler's next look finds it due before a day has passed.
    slack = timedelta(seconds=2 * float(current_app.config["BACKUP_POLL_SECONDS"]))
    if error is None:
        owed = ScheduledTask.pending_kind.is_not(None) & (ScheduledTask.pending_kind != kind)
        # The last error stays recorded (the page shows it only while it is newer than last_ok_at).
        values = {"last_ok_at": now, "last_ok_host": HOST, "last_ok_path": str(path) if path else None,
                  "due_at": case((owed, ScheduledTask.due_at), else_=_at(now + max(every - slack, every / 2))),
                  "pending_kind": case((ScheduledTask.pending_kind == kind, None), else_=ScheduledTask.pending_kind)}
    else:
        values = {"last_error": error[:2000], "last_error_at": now}
        if lease:
            values["due_at"] = now + RETRY
    stmt = update(ScheduledTask).where(ScheduledTask.name == TASK)
    if lease:
        values["lease_until"] = None
        values["lease_owner"] = None
    _task()
    with write_transaction():
        db.session.execute(stmt.values(**values).execution_options(synchronize_session=False))


def run(kind: str | None, *, due_only: bool = False, target: str | os.PathLike | None = None,
        lease: bool = True) -> Archive | None:
    """Make a backup of ``kind`` into the backup folder (or ``target``), prune the folder and
    record the outcome for the schedule and the dashboard. ``kind`` None (the scheduler): the
    kind owed (``pending_kind``), else ``daily``. Returns None when another backup is running
    (or, with ``due_only``, none is due). ``lease=False`` (the CLI) runs regardless.
    Raises ``BackupError``; the failure is recorded first."""
    if not _local_lock.acquire(blocking=not lease):
        return None
    try:
        if lease and not _take_lease(due_only, kind):
            return None
        if kind is None:
            kind = (_task().pending_kind if lease else None) or "daily"
        _sweep_photos()
        db.session.remove()  # no read transaction of ours is held open while copying
        folder = Path(target) if target else backup_folder()
        beating = _Heartbeat(current_app._get_current_object()) if lease else contextlib.nullcontext()
        try:
            with beating:
                path = make_backup(current_app.config["SECRETS_DIR"], current_app.config["SQLALCHEMY_DATABASE_URI"],
                                   folder, kind)
        except Exception as error:
            log.error("backup (%s) failed: %s", kind, error)
            _settle(lease, f"{type(error).__name__}: {error}", kind)
            raise BackupError(str(error)) from error
        if not target:
            for removed in prune(folder, int(current_app.config["BACKUP_KEEP"])):
                log.info("old backup removed: %s", removed.name)
        _settle(lease, None, kind, path)
        log.info("backup (%s) made: %s", kind, path.name)
        return archive_info(path)
    finally:
        _local_lock.release()


def _sweep_photos() -> None:
    """Delete the photos nobody refers to past their grace period (``photos.sweep``), so that no
    backup carries them even when no photo has been taken for days."""
    try:
        swept = photos.sweep()
    except Exception:  # noqa: BLE001 - the backup matters more; the next photo stored sweeps again
        log.exception("photos nobody refers to could not be deleted before the backup")
        db.session.remove()
        return
    if swept:
        log.info("%d photo(s) nobody referred to deleted before the backup", swept)


def start(app, kind: str) -> bool:
    """Make a backup in a background thread (the page answers at once; a backup of many photos
    takes longer than a request should). False when one is running already; a ``close`` backup
    is then left owed (``mark_due``): it is made as soon as the running one is done."""
    if not _task_free(app):
        if kind in OWED_KINDS:
            mark_due(app, kind)
        return False

    def work() -> None:

        with app.app_context():
            try:
                made = run(kind)
                if made is None and kind in OWED_KINDS:
                    mark_due(app, kind)  # another backup took the job first: this one is owed
                _run_owed(app)
            except BackupError:
                pass  # logged and recorded for the page and the dashboard
            except Exception:  # noqa: BLE001 - a thread's failure must reach the log, not vanish
                log.exception("backup (%s) could not run", kind)
            finally:
                db.session.remove()

    threading.Thread(target=work, name=f"kiosk-backup-{kind}", daemon=True).start()
    return True


def _run_owed(app) -> None:
    """Right after a backup: make the one owed meanwhile (a distribution closed while it ran)."""
    with app.app_context():
        try:
            if _task().pending_kind is not None:
                run(None, due_only=True)
        finally:
            db.session.remove()


def _task_free(app) -> bool:
    with app.app_context():

        try:
            return not status()["running"]
        finally:
            db.session.remove()


def mark_due(app, kind: str = "daily") -> None:
    """Make the scheduled backup due now (the scheduler's next look makes it, or the process
    running a backup, right after it); a kind of ``OWED_KINDS`` is remembered as the one to make."""
    with app.app_context():
        _task()
        values = {"due_at": utcnow()}
        if kind in OWED_KINDS:
            values["pending_kind"] = kind
        with write_transaction():
            db.session.execute(update(ScheduledTask).where(ScheduledTask.name == TASK).values(**values)
                               .execution_options(synchronize_session=False))
        db.session.remove()


def status() -> dict:
    """The schedule as the page and the dashboard show it: ``running``, ``last_ok_at``,
    ``last_error``, ``last_error_at``, ``due_at``, ``pending_kind``, where the last backup was
    made (``last_ok_host``, ``last_ok_path``; ``elsewhere`` when on another server). A backup whose owner is gone
    is recorded as interrupted first (``_reap``)."""
    task = _task()
    if _reap(task):
        task = _task()
    now = utcnow()
    return {
        "running": task.lease_until is not None and task.lease_until > now,
        "last_ok_at": task.last_ok_at,
        "last_error": task.last_error if task.last_error_at and (not task.last_ok_at or task.last_error_at > task.last_ok_at) else None,
        "last_error_at": task.last_error_at,
        "due_at": task.due_at,
        "pending_kind": task.pending_kind,
        "last_ok_host": task.last_ok_host,
        "last_ok_path": task.last_ok_path,
        # Made by another server: its archive is in that server's backup folder, not listed here.
        "elsewhere": task.last_ok_host is not None and task.last_ok_host != HOST,
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
    try:
        with app.app_context():
            try:
                _reap(own_host_only=True)  # this host's backup killed with its server: free at once
            finally:
                db.session.remove()
    except Exception:  # noqa: BLE001 - a database away at start: the scheduler's looks reap it later
        log.exception("backup scheduler: could not look for an interrupted backup")
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
                    run(None, due_only=True)
                finally:
                    db.session.remove()
        except BackupError:
            pass  # logged and recorded
        except Exception:  # noqa: BLE001 - the scheduler must outlive a database that is away
            log.exception("backup scheduler: could not look at the schedule")
