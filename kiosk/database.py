"""Database plumbing shared by every model and service.

SQLite is the embedded default: WAL (readers never wait for the writer), a busy timeout,
foreign keys on. We issue ``BEGIN`` ourselves so that a write transaction can take the write
lock up front (``BEGIN IMMEDIATE``): two writers then queue on the busy timeout instead of one
of them failing half-way with "database is locked".
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from .extensions import db

SQLITE_BUSY_MS = 30_000


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always returned timezone-aware (UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def configure_engine(engine: Engine) -> None:
    """Attach the SQLite connection settings; PostgreSQL needs nothing."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # pysqlite must not BEGIN on its own
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction() -> Iterator:
    """Run the block as one write transaction that commits whole or not at all.

    On SQLite the write lock is taken when the transaction begins (``BEGIN IMMEDIATE``), so a
    read-then-write block can never deadlock against another writer. Any read transaction the
    request had open is ended first (nothing is pending in it: views write only through here).
    """
    session = db.session()  # the request's Session behind the scoped proxy
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
