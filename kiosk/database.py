"""Database plumbing shared by every model and service.

SQLite is the embedded default: WAL (readers never wait for the writer), a busy timeout,
foreign keys on, and ``synchronous = FULL``: every commit is on the disk before the answer goes
out, so a success shown to a worker survives a power cut, not only a killed process (with
NORMAL, WAL mode may lose the last commits when the power goes; invariant 8).

PostgreSQL is durable by default; the one switch that would make it answer before the commit
is on disk is ``synchronous_commit = off`` (in postgresql.conf, per database, per role or in the
connection's options). Each new connection checks it and, when it is off, turns it back on for
that session: the app can make itself safe, so it does that rather than refuse to start, and
says so in the log. ``fsync`` or ``full_page_writes`` off cannot be undone by a session; that is
logged as an error once per process (a power cut may then corrupt the whole database). We issue ``BEGIN`` ourselves so that a write transaction can take the write
lock up front (``BEGIN IMMEDIATE``): two writers then queue on the busy timeout instead of one
of them failing half-way with "database is locked".

SQLite's busy timeout waits by sleeping (1, 2, 5, 10, … up to 100 ms between tries), so a writer
can sleep long after the lock it wants is free. ``write_transaction`` therefore lines the app's
SQLite writers up first (``WriterQueue``): the threads of one process on a lock, the processes
on an ``flock`` of ``<database>-writer.lock`` beside the database, both of which wake the next
writer the moment the last one is done. SQLite's own lock stays the guard; a writer that does
not queue (the CLI, a backup) still meets it and waits as before.

The kiosk's hot paths skip the ORM: the scan's one read and a claim's read (``read_alone``) and a
claim's write (``driver_write``: the same queue, ``BEGIN IMMEDIATE`` and commit as
``write_transaction``) run their Core statements, compiled once per dialect, straight on a pooled
DBAPI connection; AMBIL does both on one connection (``one_connection``). On PostgreSQL a
claim's write is one statement, committed by PostgreSQL as it ends (``driver_write(alone=True)``).
Everything else writes through the session in ``write_transaction``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from contextlib import contextmanager, nullcontext, suppress
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator

from .extensions import db
from .private_files import sqlite_files

SQLITE_BUSY_MS = 30_000
WRITING = "kiosk.write_transaction"  # session.info key: a write transaction is open
SQLITE_SYNCHRONOUS = "FULL"
# synchronous_commit values that flush this server's WAL before a commit returns.
PG_DURABLE_COMMIT = ("on", "local", "remote_write", "remote_apply")

log = logging.getLogger("kiosk.database")


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
    """Attach the connection settings: SQLite's pragmas, PostgreSQL's durability check."""
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgres_connect)
        return
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database if engine.url.database not in (None, "", ":memory:") else None

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # pysqlite must not BEGIN on its own
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {SQLITE_SYNCHRONOUS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
        if database:  # the -wal and -shm exist now: the office's alone, whatever the umask
            sqlite_files(database)

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:  # None: one read statement, which is a transaction on its own (READ_ALONE)
            conn.exec_driver_sql(f"BEGIN {mode}")


# Execution options of a connection that runs one read statement and nothing else: on SQLite
# no BEGIN, the statement is its own transaction (one consistent snapshot) and the rollback at
# the connection's return finds nothing to undo; PostgreSQL is unaffected.
READ_ALONE = {"sqlite_begin": None}


class _Prepared:
    """A Core statement compiled once for one dialect (an INSERT: for one set of parameter names),
    to run straight on the driver: its SQL, how its parameters are passed, the values written
    into it (``column == "text"``), each parameter's conversion and the Python-side defaults of
    the columns an INSERT was not given (its columns' types: UTC moments, JSON, ``utcnow``), and
    how each column it returns is converted (SQLAlchemy's own bind and result processors)."""

    __slots__ = ("statement", "sql", "names", "fixed", "binds", "defaults", "results")

    def __init__(self, statement, dialect, keys: tuple[str, ...] = ()):
        self.statement = statement  # held, so that its id (the cache's key) is never reused
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)
        self.sql = compiled.string
        self.names = tuple(compiled.positiontup) if compiled.positional else None
        binds = compiled.binds
        self.fixed = {name: bind.value for name, bind in binds.items() if not bind.required and name not in keys}
        self.binds = tuple((name, process) for name, bind in binds.items()
                           if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None)
        self.defaults = tuple((column.key, column.default) for column in getattr(compiled, "insert_prefetch", ())
                              if column.key not in keys)
        results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                   for column in getattr(statement, "exported_columns", ())]
        self.results = tuple(results) if any(results) else None

    def parameters(self, params: dict):
        if self.fixed or self.binds or self.defaults:
            params = {**self.fixed, **params}
            for key, default in self.defaults:
                params[key] = default.arg(None) if default.is_callable else default.arg
            for name, process in self.binds:
                params[name] = process(params[name])
        return tuple(params[name] for name in self.names) if self.names is not None else params

    def convert(self, row: tuple | None) -> tuple | None:
        if row is None or self.results is None:
            return row
        return tuple(value if process is None or value is None else process(value)
                     for process, value in zip(self.results, row))

    def rows(self, cursor, params: dict) -> list[tuple]:
        cursor.execute(self.sql, self.parameters(params))
        found = cursor.fetchall()
        return found if self.results is None else [self.convert(row) for row in found]


def _prepared_for(statement, dialect, keys: tuple[str, ...] = ()) -> _Prepared:
    key = (id(statement), dialect.name, keys)
    prepared = _prepared.get(key)
    if prepared is None:
        prepared = _prepared.setdefault(key, _Prepared(statement, dialect, keys))
    return prepared


_prepared: dict[tuple, _Prepared] = {}


def read_alone(statement, params: dict) -> list[tuple]:
    """The rows of one read-only Core ``statement`` (a module-level constant) on a pooled DBAPI
    connection of its own, as tuples with SQLAlchemy's conversions (dates, moments) applied.

    The kiosk's scan is one statement on every card shown: compiled once per dialect and run
    straight on the driver, it skips the per-execution work of a Connection (compiled-cache
    key, execution context, result object), which is most of a small query's cost. A single
    statement is its own transaction: on SQLite the connection has no BEGIN; on PostgreSQL it
    runs in autocommit (``_autocommit``), so no ROLLBACK follows it: psycopg forgets its
    prepared statements at every ROLLBACK, and a statement it has prepared (after its fifth
    run on a connection) costs PostgreSQL a tenth of one it parses and plans again (0.04 against
    0.30–0.35 ms of server CPU for the scan's and the claim's reads, measured). In a
    ``one_connection`` block the read runs on the block's connection, the same way. ``params`` are plain
    values (ints, strings) handed to the driver as they are."""
    engine = db.engine
    prepared = _prepared_for(statement, engine.dialect)
    held = _held.get()
    if held is not None:
        return _read(held, prepared, params)
    connection = engine.raw_connection()
    try:
        if engine.dialect.name != "postgresql":
            return _read(connection, prepared, params)  # SQLite: no BEGIN, see READ_ALONE
        with _autocommit(connection):
            return _read(connection, prepared, params)
    finally:
        connection.close()  # back to the pool (which rolls back whatever is still open)


def _read(connection, prepared: _Prepared, params: dict) -> list[tuple]:
    cursor = connection.cursor()
    try:
        return prepared.rows(cursor, params)
    finally:
        cursor.close()


@contextmanager
def _autocommit(connection) -> Iterator[None]:
    """A pooled psycopg connection in autocommit for one statement: the statement is its own
    transaction (one snapshot, as between BEGIN and COMMIT), in one round trip instead of three
    (BEGIN, the statement, COMMIT), and no ROLLBACK drops what psycopg prepared. Handed back to
    the pool as it was taken, or not at all: a connection left in autocommit would commit every
    statement of the next request that takes it on its own."""
    driver = connection.driver_connection
    driver.autocommit = True
    try:
        yield
    finally:
        try:
            driver.autocommit = False
        except Exception:  # noqa: BLE001 - broken on the way: the pool must not hand it out again
            connection.invalidate()


_held: ContextVar = ContextVar("kiosk.database.one_connection", default=None)


@contextmanager
def one_connection() -> Iterator[None]:
    """Run the block's ``read_alone`` reads and its ``driver_write`` on one pooled DBAPI
    connection instead of one each: one checkout (on PostgreSQL one ping) for a request that
    reads and then writes (AMBIL). A read is its own transaction, as outside the block: on
    SQLite without BEGIN, on PostgreSQL in autocommit (the connection is in autocommit for the
    whole block; a ``driver_write`` in it says BEGIN itself unless its statements stand alone).
    Nested: the outer block's connection.

    A thread in the block holds this one connection and no other: the request's read
    transaction is ended first (its connection goes back to the pool), and what the block reads
    goes through ``read_alone``. A thread holding one connection while it waits for a second
    could wait forever once every thread does (the pool is bounded)."""
    if _held.get() is not None:
        yield
        return
    end_read_transaction(db.session())
    engine = db.engine
    connection = engine.raw_connection()
    token = _held.set(connection)
    try:
        with _autocommit(connection) if engine.dialect.name == "postgresql" else nullcontext():
            yield
    finally:
        _held.reset(token)
        connection.close()  # back to the pool (which rolls back whatever is still open)


class _DriverResult:
    """What ``DriverWriter.execute`` returns: the rows of its statement, converted, as a
    Connection's result gives them (``first``, ``one``, ``scalar_one``)."""

    __slots__ = ("cursor", "prepared")

    def __init__(self, cursor, prepared: _Prepared):
        self.cursor, self.prepared = cursor, prepared

    def first(self):
        return self.prepared.convert(self.cursor.fetchone()) if self.cursor.description is not None else None

    def one(self):
        row = self.first()
        if row is None:
            raise LookupError("no row")
        return row

    def scalar_one(self):
        return self.one()[0]


class DriverWriter:
    """The statements of one ``driver_write`` transaction, run straight on the driver; an error
    is SQLAlchemy's (``IntegrityError`` for a unique index, ``OperationalError`` for a lock), as
    on a Connection."""

    __slots__ = ("cursor", "dialect")

    def __init__(self, cursor, dialect):
        self.cursor, self.dialect = cursor, dialect

    def execute(self, statement, params: dict | None = None) -> _DriverResult:
        params = params or {}
        prepared = _prepared_for(statement, self.dialect, tuple(sorted(params)))
        _run(self.cursor, self.dialect, prepared.sql, prepared.parameters(params))
        return _DriverResult(self.cursor, prepared)


def _run(cursor, dialect, sql: str, parameters=()) -> None:
    try:
        cursor.execute(sql, parameters)
    except dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(sql, parameters, error, dialect.loaded_dbapi.Error) from error


@contextmanager
def driver_write(*, alone: bool = False) -> Iterator[DriverWriter]:
    """One write transaction straight on a pooled DBAPI connection, for the one write that is
    every kiosk's hot path (a claim): the same statements and the same transaction as
    ``write_transaction`` (SQLite: the writer queue, then ``BEGIN IMMEDIATE``; PostgreSQL: the
    driver's transaction), without the Session and Connection work around each statement, so the
    write lock is held for the statements and the commit, not for the framework between them.
    Commits whole or rolls back whole.

    ``alone``: on PostgreSQL each statement is a transaction of its own (autocommit), for a
    caller each of whose statements is a whole write by itself (a claim's: its four writes are
    one statement, ``claiming._TAKE_AND_RECORD``). PostgreSQL then commits a statement as it
    ends, so the rows it locked (the distribution's, which every claim updates) are free again
    at once; in a transaction they stay locked for the answer's way back to this process and a
    COMMIT after it, where a server thread under load first waits for Python's lock: every other
    claim waits that long behind it (bench/README.md, "Claim on PostgreSQL"). On SQLite it
    changes nothing: the write lock is the database's, held from ``BEGIN IMMEDIATE`` to the
    commit either way.

    The request's session is treated as ``write_transaction`` treats it: a read transaction it
    had open is ended first (on SQLite its snapshot would not see this write), and what it had
    loaded is read again when next used. Not inside ``write_transaction``, which on SQLite it
    would wait for: join that one instead (``claiming._writer``)."""
    session = db.session()
    if session.info.get(WRITING):
        raise RuntimeError("driver_write inside write_transaction: run the statements in that one")
    end_read_transaction(session)
    engine = db.engine
    dialect = engine.dialect
    queue = writer_queue(engine)
    alone = alone and dialect.name == "postgresql"
    with queue.turn() if queue is not None else nullcontext():
        held = _held.get()
        connection = held or engine.raw_connection()
        try:
            cursor = connection.cursor()
            with _autocommit(connection) if alone and held is None else nullcontext():
                if dialect.name == "sqlite":
                    _run(cursor, dialect, "BEGIN IMMEDIATE")
                elif held is not None and not alone:
                    _run(cursor, dialect, "BEGIN")  # one_connection's is in autocommit
                yield DriverWriter(cursor, dialect)
                try:
                    connection.commit()  # alone: nothing open, the driver sends nothing
                except dialect.loaded_dbapi.Error as error:
                    raise DBAPIError.instance("COMMIT", (), error, dialect.loaded_dbapi.Error) from error
        except BaseException:
            with suppress(Exception):  # a connection that cannot roll back is dropped by the pool
                connection.rollback()
            raise
        finally:
            if held is None:
                connection.close()  # back to the pool
    if session.in_transaction():
        session.commit()  # opened meanwhile (something loaded): its snapshot predates this write
    elif session.identity_map:
        session.expire_all()


def end_read_transaction(session) -> None:
    """End the read transaction ``session`` has open, if any, before a write: nothing is pending
    in it (views write only through ``write_transaction`` and ``driver_write``)."""
    if session.in_transaction():
        session.commit()


_server_warned: set[str] = set()


def _postgres_connect(dbapi_conn, _record) -> None:
    """Make this session's commits durable (see the module docstring)."""
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True  # these SHOWs and SET must not leave a transaction open
    try:
        with dbapi_conn.cursor() as cursor:
            cursor.execute("SELECT current_setting('synchronous_commit'), current_setting('fsync'), "
                           "current_setting('full_page_writes')")
            synchronous_commit, fsync, full_page_writes = cursor.fetchone()
            if synchronous_commit not in PG_DURABLE_COMMIT:
                cursor.execute("SET synchronous_commit = on")
                _warn_once("synchronous_commit",
                           "PostgreSQL synchronous_commit was %r for this connection; set to 'on' so an "
                           "answered claim survives a power cut. Remove the setting that turns it off.",
                           synchronous_commit, level=logging.WARNING)
            for name, value in (("fsync", fsync), ("full_page_writes", full_page_writes)):
                if value != "on":
                    _warn_once(name, "PostgreSQL %s is %r: a power cut can lose or corrupt the whole database. "
                               "Turn it on in postgresql.conf.", name, value, level=logging.ERROR)
    finally:
        dbapi_conn.autocommit = autocommit


def _warn_once(key: str, message: str, *args, level: int) -> None:
    if key in _server_warned:
        return
    _server_warned.add(key)
    log.log(level, message, *args)


class WriterQueue:
    """Where the app's writers of one SQLite database wait their turn (see the module docstring)."""

    def __init__(self, path: str):
        self.path = path + "-writer.lock"
        self.lock = threading.Lock()
        self.local = threading.local()
        self.fd: int | None = None
        self.pid: int | None = None

    def _file(self) -> int | None:
        if self.pid != os.getpid():  # a forked process needs its own open file for its flock
            try:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                self.fd = None  # cannot make the file: the processes wait on SQLite alone
            self.pid = os.getpid()
        return self.fd

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the turn for the block (a thread already holding it just goes on)."""
        if getattr(self.local, "holding", False):
            yield
            return
        if not self.lock.acquire(timeout=SQLITE_BUSY_MS / 1000):
            yield  # never stuck behind a lost turn: SQLite's busy timeout decides
            return
        fd = None
        try:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            self.local.holding = True
            yield
        finally:
            self.local.holding = False
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self.lock.release()


_writer_queues: dict[str, WriterQueue] = {}
_writer_queues_lock = threading.Lock()


def writer_queue(engine: Engine) -> WriterQueue | None:
    """The queue of the SQLite database behind ``engine`` (None for PostgreSQL or memory)."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        return None
    with _writer_queues_lock:
        return _writer_queues.setdefault(path, WriterQueue(path))


@contextmanager
def _turn(session) -> Iterator[None]:
    queue = writer_queue(session.get_bind())
    if queue is None:
        yield
    else:
        with queue.turn():
            yield


@contextmanager
def write_transaction() -> Iterator:
    """Run the block as one write transaction that commits whole or not at all.

    On SQLite the write lock is taken when the transaction begins (``BEGIN IMMEDIATE``), so a
    read-then-write block can never deadlock against another writer. Any read transaction the
    request had open is ended first (nothing is pending in it: views write only through here).
    Inside another ``write_transaction`` it joins that one: the outer block commits or rolls
    back the whole.
    """
    session = db.session()  # the request's Session behind the scoped proxy
    if session.info.get(WRITING):
        yield session
        return
    end_read_transaction(session)
    with _turn(session):
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        session.info[WRITING] = True
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.info.pop(WRITING, None)


def in_write_transaction() -> bool:
    """True inside ``write_transaction``."""
    return bool(db.session().info.get(WRITING))
