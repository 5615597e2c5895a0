"""Files the app keeps on disk are the office's alone: every file it makes under ``instance/``,
the secrets folder and the backup folder is mode 0600 and every folder 0700, whatever the umask
of the process that made it (issue #12: the database and its photos were world-readable).

``os.open(..., 0o600)`` and ``mkdir(mode=0o700)`` only ever lose bits to the umask, and a file
someone else creates (SQLite's database, ``-wal`` and ``-shm``) gets whatever the umask leaves, so
the modes are set explicitly after creating. The SQLite database is created here, empty, before
SQLite opens it: SQLite gives its ``-wal``, ``-shm`` and ``-journal`` the mode of the database
file itself (``robust_open`` fchmods them to it), and the connect hook in ``kiosk.database``
tightens them all the same for an installation made before this.

A file is put in place whole (``link_new``, ``replace_file``): written aside, fsynced, then
linked or renamed to its name, and the folder fsynced (``sync_folder``), since a rename or link
is durable only once the folder holding it is: after a power cut the name points at the whole
file or at nothing (or the old file), never at an empty one.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: str | os.PathLike) -> Path:
    """Make the folder ``path`` (and missing parents) and set it to 0700."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _chmod(path, DIR_MODE)
    return path


def private_file(path: str | os.PathLike) -> Path:
    """Create the file ``path`` empty when it is missing, and set it to 0600."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def sqlite_files(database: str | os.PathLike) -> None:
    """The SQLite database file, made 0600 before SQLite first opens it, and its companions.

    A database that exists is never opened here, only chmod-ed by its path: closing any file
    descriptor of a file drops every POSIX lock this process holds on it, so an open() and
    close() beside live SQLite connections would silently release their locks (SQLite's
    documented pitfall) — a reader's snapshot or a writer's lock gone."""
    database = Path(database)
    if not database.parent.exists():
        private_dir(database.parent)
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    for path in (database, *(Path(str(database) + suffix) for suffix in SQLITE_COMPANIONS)):
        _chmod(path, FILE_MODE)


def tighten(root: str | os.PathLike) -> None:
    """Set every folder under ``root`` (itself included) to 0700 and every file to 0600: what an
    older version, a restore or a person left more open. Links are left alone (never followed)."""
    root = Path(root)
    if not root.is_dir() or root.is_symlink():
        return
    _chmod(root, DIR_MODE)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            _chmod(Path(folder, name), DIR_MODE)
        for name in files:
            _chmod(Path(folder, name), FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) == mode:
        return
    try:
        os.chmod(path, mode)
    except PermissionError:  # not ours (a file root left behind): leave it, the operator's job
        pass


def sync_folder(path: str | os.PathLike) -> None:
    """fsync the folder ``path``: the names created, renamed or removed in it reach the disk
    (fsync of a file alone does not save the name pointing at it)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: str | os.PathLike, data: bytes) -> None:
    """Create ``path`` (mode 0600; it must not exist) holding ``data``, fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _aside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


def link_new(path: str | os.PathLike, data: bytes) -> bool:
    """Write ``path`` whole (mode 0600) only if it does not exist yet: written aside, fsynced,
    linked to its name, the folder fsynced. False when ``path`` existed (another process was
    first): it is left as it is."""
    path = Path(path)
    tmp = _aside(path)
    write_private(tmp, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    sync_folder(path.parent)
    return True


def replace_file(source: str | os.PathLike, destination: str | os.PathLike) -> None:
    """Rename ``source`` over ``destination`` and fsync the folder holding ``destination`` (and
    ``source``'s, when another): the rename survives a power cut. ``source`` is to be fsynced
    already."""
    source, destination = Path(source), Path(destination)
    os.replace(source, destination)
    sync_folder(destination.parent)
    if source.parent.resolve() != destination.parent.resolve():
        sync_folder(source.parent)


def write_replacing(path: str | os.PathLike, data: bytes) -> None:
    """Write ``path`` whole (mode 0600), replacing what it held: written aside, fsynced, renamed."""
    path = Path(path)
    tmp = _aside(path)
    write_private(tmp, data)
    try:
        replace_file(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
