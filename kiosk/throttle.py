"""Throttling of guesses, counted in the database so that every server process and every server
of one database sees one count: a documented limit holds exactly, however many gunicorn workers
or servers answer (no Redis, nothing in a process's memory).

What is limited (the numbers: SECURITY.md, "Rate limits"; the first two are settings):

- sign-in: failures per username *from one address* (``LOGIN_LIMIT_PER_USER``), so a stranger who
  guesses an account's password slows only their own guesses and never locks the owner out from
  another address; and failures per address over all usernames (``LOGIN_LIMIT_PER_ADDRESS``);
- typed card fallback codes: refusals per kiosk device (``CODE_LIMIT``);
- the setup code and the kiosk pairing code: failures per address; the kiosk exit PIN: per device.

Only failures count. A request first *reserves* one attempt under every key it is counted by, in
one write transaction: each key's row is inserted or updated by one conditional statement
(``INSERT … ON CONFLICT DO UPDATE … WHERE attempts < limit``) that does nothing when the limit is
reached; then the whole reservation is rolled back and the request is refused (429, with how long
to wait). A request that then succeeds gives its reservation back (``Attempt.succeeded``). So
concurrent guesses on several processes cannot slip past the limit between a check and a count.

A window is fixed from the first failure: the count starts at that failure and is forgotten
``seconds`` later. Times are the database's clock (one clock for every server). A row whose
window is over is dead; rows are deleted when a new window starts (any key's), so the table stays
as small as the guesses of the last minutes. Keys are a kind and a hash: no typed username or
address is stored.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Iterator

from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.engine import Connection
from werkzeug.exceptions import TooManyRequests

from .database import in_write_transaction, writer_queue
from .extensions import db
from .i18n import _l

log = logging.getLogger("kiosk.throttle")

# Limits that are not settings (guessing a one-time code or a PIN).
SETUP_LIMIT = "10 per 10 minutes"  # wrong setup codes per address
PAIRING_LIMIT = "10 per 5 minutes"  # wrong pairing codes per address
EXIT_PIN_LIMIT = "5 per 5 minutes"  # wrong exit PINs per kiosk device
SETTINGS = ("LOGIN_LIMIT_PER_USER", "LOGIN_LIMIT_PER_ADDRESS", "CODE_LIMIT")

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
LIMIT_TEXT = re.compile(r"^\s*(\d+)\s*(?:per|/)\s*(\d+)?\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE)
CLEANUP_BATCH = 500

NOW = {
    "sqlite": "CAST(strftime('%s', 'now') AS INTEGER)",
    "postgresql": "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)",  # the transaction's start: one "now" for all of it
}


@dataclass(frozen=True)
class Limit:
    """``attempts`` failures per ``seconds``."""

    attempts: int
    seconds: int

    @classmethod
    def parse(cls, value: str | "Limit") -> "Limit":
        """``"10 per 5 minutes"`` (also ``"10/minute"``, ``"30 per hour"``)."""
        if isinstance(value, Limit):
            return value
        found = LIMIT_TEXT.match(str(value))
        if not found or int(found.group(1)) < 1 or found.group(2) == "0":
            raise ValueError(f"not a limit: {value!r} (write it like '10 per 5 minutes')")
        return cls(int(found.group(1)), int(found.group(2) or 1) * UNITS[found.group(3).lower()])

    def __str__(self) -> str:
        return f"{self.attempts} per {self.seconds} seconds"


class TooMany(TooManyRequests):
    """A limit is reached: refused without looking at the guess. ``seconds``: until the oldest
    window ends (at least 1)."""

    def __init__(self, seconds: int):
        super().__init__()
        self.seconds = max(1, int(seconds))

    @property
    def message(self):
        return _l("Terlalu banyak percobaan yang salah. Coba lagi dalam %(wait)s.", wait=wait_text(self.seconds))

    def get_headers(self, environ=None, scope=None):
        return [*super().get_headers(environ, scope), ("Retry-After", str(self.seconds))]


def wait_text(seconds: int):
    """How long to wait, in words: '40 detik', '5 menit'."""
    if seconds < 60:
        return _l("1 detik") if seconds == 1 else _l("%(n)s detik", n=seconds)
    minutes = math.ceil(seconds / 60)
    return _l("1 menit") if minutes == 1 else _l("%(n)s menit", n=minutes)


def key(kind: str, *parts) -> str:
    """The row's key (``bucket``): the kind in clear, the parts (a username, an address) as a hash."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8", "replace")).hexdigest()
    return f"{kind}:{digest}"


def limit(name: str) -> Limit:
    """The limit of a setting (``"LOGIN_LIMIT_PER_USER"``)."""
    return Limit.parse(current_app.config[name])


@dataclass
class Attempt:
    """The attempts a request reserved; give them back when it succeeded."""

    keys: tuple[str, ...]

    def succeeded(self) -> None:
        """The guess was right: it does not count."""
        with _transaction() as (conn, now):
            for k in self.keys:
                conn.execute(text(f"UPDATE throttle SET attempts = attempts - 1 "
                                  f"WHERE bucket = :bucket AND attempts > 0 AND expires_at > {now}"), {"bucket": k})


class _Full(Exception):
    def __init__(self, keys: list[str]):
        super().__init__()
        self.keys = keys


def attempt(*checks: tuple[str, Limit | str]) -> Attempt:
    """Reserve one attempt under each ``(key, limit)``, all or none; raise ``TooMany`` when any
    limit is reached. Call it before looking at the guess, outside any write transaction."""
    checks = tuple(sorted((k, Limit.parse(lim)) for k, lim in checks))  # one lock order for all
    try:
        with _transaction() as (conn, now):
            full, fresh = [], False
            for k, lim in checks:
                row = conn.execute(text(
                    f"INSERT INTO throttle (bucket, attempts, expires_at) VALUES (:bucket, 1, {now} + :seconds) "
                    f"ON CONFLICT (bucket) DO UPDATE SET "
                    f"attempts = CASE WHEN throttle.expires_at <= {now} THEN 1 ELSE throttle.attempts + 1 END, "
                    f"expires_at = CASE WHEN throttle.expires_at <= {now} THEN {now} + :seconds "
                    f"ELSE throttle.expires_at END "
                    f"WHERE throttle.expires_at <= {now} OR throttle.attempts < :attempts "
                    f"RETURNING attempts"),
                    {"bucket": k, "seconds": lim.seconds, "attempts": lim.attempts}).first()
                if row is None:
                    full.append(k)
                elif row[0] == 1:
                    fresh = True
            if full:
                raise _Full(full)  # rolls the other keys' reservations back
            if fresh:
                _clean(conn, now)
    except _Full as refused:
        raise TooMany(_seconds_left(refused.keys)) from None
    return Attempt(tuple(k for k, _ in checks))


def _seconds_left(keys: list[str]) -> int:
    with _transaction(write=False) as (conn, now):
        waits = [conn.scalar(text(f"SELECT expires_at - {now} FROM throttle WHERE bucket = :bucket"),
                             {"bucket": k}) for k in keys]
    return max([1, *(int(w) for w in waits if w is not None)])


def _clean(conn: Connection, now: str) -> None:
    """Delete dead rows (windows over), a batch at a time; on PostgreSQL rows another request
    holds are skipped (never a wait, never a deadlock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(
            f"DELETE FROM throttle WHERE bucket IN (SELECT bucket FROM throttle WHERE expires_at <= {now} "
            f"LIMIT {CLEANUP_BATCH} FOR UPDATE SKIP LOCKED)"))
    else:
        conn.execute(text(
            f"DELETE FROM throttle WHERE bucket IN (SELECT bucket FROM throttle WHERE expires_at <= {now} "
            f"LIMIT {CLEANUP_BATCH})"))


@contextmanager
def _transaction(write: bool = True) -> Iterator[tuple[Connection, str]]:
    """A connection of its own (the request's session is not touched) in a transaction that
    commits at the end, or rolls back on an exception; on SQLite a writer lines up and takes the write lock
    at BEGIN, like ``write_transaction``. Yields the connection and the SQL of 'now'."""
    if write:
        if in_write_transaction():
            # On SQLite this connection would wait for the session's own write lock.
            raise RuntimeError("throttle counts outside a write transaction, before it")
        session = db.session()
        if session.in_transaction():
            # End the request's read transaction (nothing is pending in it: views write only in
            # write_transaction), as write_transaction does: on SQLite a read snapshot older than
            # this write could not become a write later.
            session.commit()
    engine = db.engine
    now = NOW.get(engine.dialect.name)
    if now is None:
        raise RuntimeError(f"throttle: no clock for {engine.dialect.name}")
    queue = writer_queue(engine) if write else None
    with queue.turn() if queue is not None else nullcontext():
        with engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE" if write else "DEFERRED")
            with conn.begin():
                yield conn, now


def reset() -> None:
    """Forget every count (the tests; an operator may use it through ``flask shell``)."""
    with _transaction() as (conn, _now):
        conn.execute(text("DELETE FROM throttle"))


def init_app(app: Flask) -> None:
    """Refuse to start with a limit setting that does not read as one."""
    for name in SETTINGS:
        try:
            Limit.parse(app.config[name])
        except ValueError as error:
            raise ValueError(f"KIOSK_{name}: {error}") from None
