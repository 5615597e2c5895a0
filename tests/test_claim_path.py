"""The claim's shape (``kiosk.distribution.claim``): the reads that only choose the message come
before the write lock, in one statement; inside it only the conditional UPDATE and the INSERTs.
And the SQLite writers of one process wait in line (``kiosk.database.WriterQueue``) instead of in
SQLite's busy handler. Exactly-once itself is proven by test_distribution_concurrency.py and
test_crash_safety.py. Counts, not speed (speed lives in ``make bench``).
"""

from __future__ import annotations

import threading

from sqlalchemy import event

from factories import covered_worker, make_card, make_distribution
from kiosk import clock
from kiosk.database import write_transaction, writer_queue
from kiosk.distribution import Outcome, claim
from kiosk.extensions import db


def statements_of(action) -> list[str]:
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()).upper())

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return seen


def inside_write(seen: list[str]) -> list[str]:
    begin = next(i for i, s in enumerate(seen) if s.startswith("BEGIN IMMEDIATE"))
    return seen[begin + 1:]


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
