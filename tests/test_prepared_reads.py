"""The kiosk's reads on the driver (``database.read_alone``, ``one_connection``) end their
transaction without the pool's ROLLBACK (on PostgreSQL each is a transaction of its own, in
autocommit; on SQLite there is no BEGIN): psycopg forgets every statement it prepared
at each ROLLBACK, and an unprepared statement costs PostgreSQL about ten times the server CPU
(parse and plan again; measured in bench/README.md). With a pool of one connection every read
below runs on the same connection, so what it leaves behind can be looked at."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, table

from factories import covered_worker, make_card
from kiosk.database import driver_write, one_connection, read_alone
from kiosk.extensions import db
from kiosk.terminal.screen import read_card


@pytest.fixture
def app_config() -> dict:
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": 1, "max_overflow": 0}}


PREPARED = select(func.count()).select_from(table("pg_prepared_statements"))


def kept_after(engine_app) -> int | bool:
    """On PostgreSQL, how many statements the (one) pooled connection has prepared; on SQLite,
    whether it is out of any transaction."""
    connection = db.engine.raw_connection()
    try:
        if db.engine.dialect.name == "sqlite":
            return not connection.driver_connection.in_transaction
        cursor = connection.cursor()
        cursor.execute(str(PREPARED.compile(dialect=db.engine.dialect)))
        return cursor.fetchone()[0]
    finally:
        connection.close()


def test_reads_on_the_driver_keep_what_the_driver_prepared(engine_app):
    worker = covered_worker(name="Siti Aminah", sex="P")
    card, _token = make_card(worker)
    card_id = card.id
    db.session.remove()  # the session's connection back to the pool of one
    for _ in range(6):  # psycopg prepares a statement at its fifth run on a connection
        assert read_card(card_id).worker.name == "Siti Aminah"
    kept = kept_after(engine_app)
    assert kept is True if db.engine.dialect.name == "sqlite" else kept >= 1


def test_a_block_that_only_read_ends_with_commit(engine_app):
    worker = covered_worker(name="Siti Aminah", sex="P")
    card, _token = make_card(worker)
    card_id = card.id
    db.session.remove()
    with one_connection():
        for _ in range(6):
            read_card(card_id)
        if db.engine.dialect.name == "postgresql":
            assert read_alone(PREPARED, {})[0][0] >= 1
    kept = kept_after(engine_app)
    assert kept is True if db.engine.dialect.name == "sqlite" else kept >= 1


ONE_STATEMENT = select(func.now() == func.statement_timestamp())


@pytest.mark.postgres
@pytest.mark.parametrize("engine_app", ["postgresql"], indirect=True)
def test_a_read_alone_on_postgresql_is_one_statement_and_leaves_the_connection_as_it_was(engine_app):
    """On PostgreSQL ``read_alone`` runs in autocommit: its transaction begins with its one
    statement (``now()``, the transaction's start, is the statement's), where BEGIN sent first
    would have started it a round trip earlier; and the connection goes back to the pool out of
    autocommit, so the next request's transactions are transactions. The same for the reads of a
    ``one_connection`` block and the statements of a ``driver_write(alone=True)``; a plain
    ``driver_write`` is one transaction, in a block or not."""
    assert db.engine.dialect.name == "postgresql"
    db.session.remove()
    assert read_alone(ONE_STATEMENT, {}) == [(True,)]
    connection = db.engine.raw_connection()
    try:
        assert connection.driver_connection.autocommit is False
    finally:
        connection.close()
    with one_connection():  # in a block too: every read its own transaction, the block's connection in autocommit
        read_alone(select(func.count()).select_from(table("worker")), {})
        assert read_alone(ONE_STATEMENT, {}) == [(True,)]
    with driver_write(alone=True) as writer:  # a write whose statements stand alone: autocommit too
        assert writer.execute(ONE_STATEMENT).one() == (True,)
    with driver_write() as writer:  # a write transaction: BEGIN first, as ever
        assert writer.execute(ONE_STATEMENT).one() == (False,)
    with one_connection():
        with driver_write() as writer:  # in the block's autocommit connection: BEGIN said by driver_write
            writer.execute(select(func.count()).select_from(table("worker")))
            assert writer.execute(ONE_STATEMENT).one() == (False,)
    connection = db.engine.raw_connection()  # the pool's one connection, back as it was taken
    try:
        assert connection.driver_connection.autocommit is False
    finally:
        connection.close()
