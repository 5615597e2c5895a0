"""The office's backups in an app context: the folder, the daily schedule (one worker of all
takes the job, through a lease in the database), running one now, the status for the pages."""

from __future__ import annotations

import logging
import os
import random
import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from .. import photos
from ..database import utcnow, write_transaction
from ..extensions import db
from ..i18n import _l, waktu
from ..models import ScheduledTask
from .archive import Archive, BackupError, archive_info, make_backup, prune


log = logging.getLogger("kiosk.backup")
log.setLevel(logging.INFO)  # what was backed up, when, belongs in the server's log (the journal)


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
        _sweep_photos()
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
