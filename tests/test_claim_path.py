"""The claim's shape (``kiosk.distribution.claim``): the reads that only choose the message come
before the write lock, in one statement; inside it only the conditional UPDATE and the INSERTs.
And the SQLite writers of one process wait in line (``kiosk.database.WriterQueue``) instead of in
SQLite's busy handler. Exactly-once itself is proven by test_distribution_concurrency.py and
test_crash_safety.py. Counts, not speed (speed lives in ``make bench``).
"""

from __future__ import annotations

import threading
from contextlib import nullcontext

import pytest
from sqlalchemy import create_engine, text

from driver_statements import Statements
from factories import covered_worker, make_card, make_distribution
from kiosk import clock
from kiosk.database import one_connection, write_transaction, writer_queue
from kiosk.distribution import Outcome, claim
from kiosk.extensions import db


def statements_of(action) -> list[str]:
    """The statements ``action`` gives the driver (``driver_statements.Statements``), upper case."""
    with Statements(db.engine) as counting:
        action()
    return [s.upper() for s in counting.seen]


def inside_write(seen: list[str]) -> list[str]:
    """The statements of the write transaction, between its BEGIN IMMEDIATE and its COMMIT."""
    begin = next(i for i, s in enumerate(seen) if s.startswith("BEGIN IMMEDIATE"))
    end = next(i for i, s in enumerate(seen) if i > begin and s.startswith("COMMIT"))
    return seen[begin + 1:end]


def test_a_claim_reads_once_then_writes_without_reading(app):
    distribution = make_distribution(packages=5)
    worker = covered_worker(name="Siti Aminah", sex="P")
    card, _token = make_card(worker)
    ids = distribution.id, worker.id, card.id  # read now: the factories' rows are expired
    assert clock.trusted()  # the clock check's floor, read once per CHECK_SECONDS and process
    answers = []
    seen = statements_of(lambda: answers.append(
        claim(ids[0], ids[1], request_id="r-1", card_id=ids[2], station="Meja 1")))
    assert answers[0].outcome is Outcome.COLLECTED
    before = seen[:seen.index(next(s for s in seen if s.startswith("BEGIN IMMEDIATE")))]
    assert [s for s in before if s.startswith("SELECT")] and len([s for s in before if s.startswith("SELECT")]) == 1
    inside = inside_write(seen)
    assert [s.split()[0] for s in inside] == ["UPDATE", "INSERT", "INSERT", "INSERT"], inside


def test_a_retry_and_a_refusal_write_no_package(app):
    distribution = make_distribution(packages=5)
    worker = covered_worker(name="Siti Aminah", sex="P")
    card, _token = make_card(worker)
    d, w, c = distribution.id, worker.id, card.id
    assert clock.trusted()
    first = claim(d, w, request_id="r-1", card_id=c)
    retry = statements_of(lambda: claim(d, w, request_id="r-1", card_id=c))
    assert not [s for s in retry if s.startswith(("BEGIN IMMEDIATE", "INSERT", "UPDATE"))], retry
    assert len([s for s in retry if s.startswith("SELECT")]) == 1, retry
    again = claim(d, w, request_id="r-2", card_id=c)
    assert first.outcome is Outcome.COLLECTED and again.outcome is Outcome.ALREADY_COLLECTED
    refused = statements_of(lambda: claim(d, w, request_id="r-3", card_id=c))
    assert [s.split()[0] for s in inside_write(refused)] == ["INSERT"], refused


def test_writers_of_one_process_take_turns(app):
    queue = writer_queue(db.engine)
    assert queue is not None and queue.path.endswith("kiosk.sqlite3-writer.lock")
    inside, most = [0], [0]
    lock = threading.Lock()

    def writer():
        with app.app_context():
            for _ in range(5):
                with write_transaction():
                    with lock:
                        inside[0] += 1
                        most[0] = max(most[0], inside[0])
                    threading.Event().wait(0.002)
                    with lock:
                        inside[0] -= 1
            db.session.remove()

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert most[0] == 1


def test_a_write_inside_a_write_does_not_wait_for_itself(app):
    with write_transaction():
        with write_transaction():
            pass


def test_a_claim_records_the_same_rows_on_both_engines(engine_app):
    """What a claim leaves behind, on SQLite and PostgreSQL alike: the collection with the next
    number, the answer for its request id and the audit event."""
    from kiosk.models import AuditEvent, ClaimRequest, Collection

    distribution = make_distribution(packages=5)
    first, second = covered_worker(name="Siti Aminah", sex="P"), covered_worker(name="Budi Santoso")
    card, _token = make_card(first)
    d, w, c, w2 = distribution.id, first.id, card.id, second.id
    assert clock.trusted()
    claim(d, w2, request_id="r-0", station="Meja 2")  # a seq before, so the numbers are not all 1
    claim(d, w, request_id="r-1", card_id=c, station="Meja 1")
    db.session.expire_all()
    collection = db.session.scalar(db.select(Collection).where(Collection.worker_id == w))
    assert (collection.distribution_id, collection.card_id, collection.seq, collection.station) == (d, c, 2, "Meja 1")
    assert collection.collected_at is not None and collection.collected_at.tzinfo is not None
    assert collection.handed_over_at is None and collection.proxy_name is None and collection.voided_at is None
    asked = db.session.get(ClaimRequest, "r-1")
    assert (asked.distribution_id, asked.worker_id, asked.outcome, asked.collection_id) == (d, w, "collected", collection.id)
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.entity_type == "collection",
                                                          AuditEvent.entity_id == collection.id))
    assert event.action == "collection.create" and event.staff_id is None and event.device_id is None
    assert event.after == {"distribution_id": d, "worker_id": w, "seq": 2, "card_id": c, "station": "Meja 1",
                           "proxy_name": None, "request_id": "r-1", "handed_over": False, "no_card_reason": None}
    assert event.at == collection.collected_at or abs((event.at - collection.collected_at).total_seconds()) < 5
    db.session.refresh(distribution)
    assert distribution.packages_given == 2


def test_a_claim_inside_a_write_transaction_joins_it(engine_app):
    """A caller's open write transaction takes the claim in: it commits with the caller, and is
    gone with the caller's rollback (no second transaction, which on SQLite would wait for itself)."""
    from kiosk.database import write_transaction
    from kiosk.models import ClaimRequest, Collection

    distribution = make_distribution(packages=5)
    kept, dropped = covered_worker(name="Siti Aminah", sex="P"), covered_worker(name="Budi Santoso")
    d, k, x = distribution.id, kept.id, dropped.id
    assert clock.trusted()
    with write_transaction():
        assert claim(d, k, request_id="r-kept").outcome is Outcome.COLLECTED
    try:
        with write_transaction():
            assert claim(d, x, request_id="r-dropped").outcome is Outcome.COLLECTED
            raise RuntimeError("the caller fails after the claim")
    except RuntimeError:
        pass
    db.session.expire_all()
    assert [c.worker_id for c in db.session.scalars(db.select(Collection).where(Collection.distribution_id == d))] == [k]
    assert db.session.get(ClaimRequest, "r-dropped") is None
    db.session.refresh(distribution)
    assert distribution.packages_given == 1


def test_a_claim_leaves_the_session_reading_what_it_wrote(engine_app):
    """The claim's own transaction is beside the session's: what the session had loaded is read
    again afterwards, as after a commit of its own."""
    distribution = make_distribution(packages=5)
    worker = covered_worker(name="Siti Aminah", sex="P")
    assert distribution.packages_given == 0  # loaded in the session
    assert clock.trusted()
    assert claim(distribution.id, worker.id, request_id="r-1").outcome is Outcome.COLLECTED
    assert distribution.packages_given == 1


@pytest.mark.parametrize("in_block", [False, True], ids=["alone", "in-one-connection"])
def test_a_driver_write_is_whole_or_nothing(engine_app, in_block):
    """``driver_write``: an error inside rolls back every statement before it, and the driver's
    errors reach the caller as SQLAlchemy's (a unique index: ``IntegrityError``, which the
    claim's retry expects). Inside ``one_connection`` too, whose PostgreSQL connection is in
    autocommit (``driver_write`` then says BEGIN itself)."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from kiosk.database import driver_write, one_connection
    from kiosk.models import ClaimRequest

    distribution = make_distribution(packages=5)
    worker = covered_worker(name="Siti Aminah", sex="P")
    row = dict(request_id="same", distribution_id=distribution.id, worker_id=worker.id, outcome="not_open")
    with pytest.raises(IntegrityError):
        with one_connection() if in_block else nullcontext():
            with driver_write() as writer:
                writer.execute(insert(ClaimRequest.__table__), row)
                writer.execute(insert(ClaimRequest.__table__), {**row, "request_id": "other"})
                writer.execute(insert(ClaimRequest.__table__), row)  # the same primary key again
    db.session.expire_all()
    assert db.session.scalars(db.select(ClaimRequest)).all() == []
    with driver_write() as writer:
        writer.execute(insert(ClaimRequest.__table__), row)
    stored = db.session.get(ClaimRequest, "same")
    assert stored.created_at is not None and stored.created_at.tzinfo is not None  # the column's default


@pytest.mark.postgres
@pytest.mark.parametrize("engine_app", ["postgresql"], indirect=True)
@pytest.mark.parametrize("in_block", [False, True], ids=["alone", "as-ambil"])
def test_a_claim_on_postgresql_frees_the_distribution_as_its_statement_ends(engine_app, monkeypatch, in_block):
    """Every claim updates the distribution's row, so every other claim waits while one holds
    it. On PostgreSQL a claim's write is one statement that PostgreSQL commits as it ends
    (``driver_write(alone=True)``): when its answer reaches this process the row is free and the
    package counted, for any other connection. In a transaction the row would stay locked until
    this process, its thread perhaps waiting for Python's lock first, sent COMMIT. Probed from a
    second engine (another server process's connection) the moment the write statement returns,
    before the claim goes on; AMBIL runs the claim in ``one_connection``."""
    from kiosk.distribution import claiming

    distribution = make_distribution(packages=5)
    first, second = covered_worker(name="Siti Aminah", sex="P"), covered_worker(name="Budi Santoso")
    d, w1, w2 = distribution.id, first.id, second.id
    assert clock.trusted()
    other = create_engine(db.engine.url.render_as_string(hide_password=False))
    seen = []
    take = claiming._take_and_record

    def take_then_look(conn, *args, **kwargs):
        taken = take(conn, *args, **kwargs)
        with other.connect() as look:  # NOWAIT: a row still locked fails at once
            seen.append(look.execute(text("SELECT packages_given FROM distribution WHERE id = :d FOR UPDATE NOWAIT"),
                                     {"d": d}).scalar_one())
            look.rollback()
        return taken

    monkeypatch.setattr(claiming, "_take_and_record", take_then_look)
    try:
        with one_connection() if in_block else nullcontext():
            assert claim(d, w1, request_id="r-1", station="Meja 1").outcome is Outcome.COLLECTED
        with one_connection() if in_block else nullcontext():
            assert claim(d, w2, request_id="r-2", station="Meja 2").outcome is Outcome.COLLECTED
    finally:
        other.dispose()
    assert seen == [1, 2]
