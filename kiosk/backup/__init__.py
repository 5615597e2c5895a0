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
the backup and moves the next due time on; the others find it not due. The lease names its
owner (host, process) and is renewed while the backup runs: a worker killed mid-backup (or a
server stopped or restarted) stops renewing it, and within ``LEASE`` (two minutes; at once on the
same host, whose processes can be seen) the backup is recorded as interrupted and made again.
The same lease keeps an admin's *Cadangkan sekarang* from running twice at once; a distribution
closed meanwhile leaves its ``close`` backup owed, made right after (see ``schedule``). This works however the app is
started (``make run``, the system service, several servers on one PostgreSQL) without a system
timer to install; ``KIOSK_BACKUP_AUTOMATIC=false`` turns the scheduler off (for a site that
backs up its PostgreSQL by other means).

What lives where: ``archive`` (making one, the folder of archives), ``restore``, ``schedule``
(the office's backups in an app context), ``upgrade`` (the backup before a migration).
"""

from .archive import ARCHIVE_NAME, KINDS, Archive, BackupError, archive_info, archives, make_backup, prune
from .restore import check_archive, restore_backup
from .schedule import backup_folder, disk_space, mark_due, run, start, start_scheduler, status, warnings
from .upgrade import before_migration

__all__ = [
    "ARCHIVE_NAME", "KINDS", "Archive", "BackupError",
    "archive_info", "archives", "backup_folder", "before_migration", "check_archive", "disk_space",
    "make_backup", "mark_due", "prune", "restore_backup", "run", "start", "start_scheduler", "status", "warnings",
]
