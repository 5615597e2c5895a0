"""Handing a claimed package over at the desk: the second moment of a collection. Exactly once,
who and when, retries, voided and closed distributions, the desk's one-step claim, the queue
and the figures. On SQLite and PostgreSQL (``engine_app``); the races are in
test_distribution_concurrency.py."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from flask import current_app
from sqlalchemy import func, select

from factories import covered_worker as _covered_worker
from factories import make_card, make_distribution, make_staff
from kiosk import distribution as dist
from kiosk.distribution import Handover, Outcome
from kiosk.extensions import db
from kiosk.models import AuditEvent, Collection

DAY = date(2026, 11, 20)


def msg(lazy) -> str:
    with current_app.test_request_context():
        return str(lazy)


def rid() -> str:
    return uuid.uuid4().hex


def covered_worker(**fields):
    return _covered_worker(DAY, **fields)


def kiosk_claim(d, worker=None, **kw):
    worker = worker or covered_worker()
    card, _token = make_card(worker)
    result = dist.claim(d.id, worker.id, request_id=rid(), card_id=card.id, station="Kios aula 1", **kw)
    assert result.collected
    return result


def test_a_kiosk_claim_waits_for_the_desk(engine_app):
    d = make_distribution(packages=10, day=DAY)
    worker = covered_worker(name="Siti Aminah")
    claimed = kiosk_claim(d, worker)
    row = db.session.get(Collection, claimed.collection_id)
    assert row.handed_over_at is None and row.handed_over_by_id is None
    status = dist.status_for(d, worker)
    assert status.outcome is Outcome.ALREADY_COLLECTED and status.handed_over_at is None
    assert msg(status.message).endswith(", nomor 1, belum diserahkan.")
    assert [c.seq for c in dist.waiting(d.id)] == [1]


def test_hand_over_once_with_who_and_when(engine_app):
    d = make_distribution(packages=10, day=DAY)
    desk1 = make_staff(full_name="Budi Petugas")
    desk2 = make_staff(full_name="Ani Petugas")
    claimed = kiosk_claim(d)
    first = dist.hand_over(claimed.collection_id, staff=desk1, request_id=rid(),
                           proxy_name=" Wati ", proxy_relation="istri")
    assert first.outcome is Handover.HANDED_OVER and first.ok and not first.replayed
    assert first.seq == 1 and first.handed_over_by == "Budi Petugas"
    assert msg(first.message) == "Paket nomor 1 sudah diserahkan."
    row = db.session.get(Collection, claimed.collection_id)
    assert row.handed_over_at == first.handed_over_at and row.handed_over_by_id == desk1.id
    assert (row.proxy_name, row.proxy_relation) == ("Wati", "istri")
    # Another desk a moment later: refused, with who was first and when.
    second = dist.hand_over(claimed.collection_id, staff=desk2, request_id=rid())
    assert second.outcome is Handover.ALREADY_HANDED_OVER and not second.ok
    assert second.handed_over_at == first.handed_over_at and second.handed_over_by == "Budi Petugas"
    assert "oleh Budi Petugas" in msg(second.message)
    db.session.refresh(row)
    assert row.handed_over_by_id == desk1.id and row.proxy_name == "Wati"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "collection.hand_over")).all()
    assert [(e.entity_id, e.staff_id, e.after["seq"]) for e in events] == [(row.id, desk1.id, 1)]
    assert dist.waiting(d.id) == []


def test_a_retry_of_the_same_handover_gets_the_same_answer(engine_app):
    d = make_distribution(packages=10, day=DAY)
    desk = make_staff()
    claimed = kiosk_claim(d)
    request_id = rid()
    first = dist.hand_over(claimed.collection_id, staff=desk, request_id=request_id)
    again = dist.hand_over(claimed.collection_id, staff=desk, request_id=request_id)
    assert first.ok and again.ok and again.replayed and not first.replayed
    assert again.handed_over_at == first.handed_over_at
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "collection.hand_over")) == 1


def test_voided_and_closed_are_refused(engine_app):
    admin = make_staff(role="admin")
    d = make_distribution(packages=10, day=DAY)
    voided = kiosk_claim(d)
    dist.void(voided.collection_id, staff=admin, reason="salah orang")
    answer = dist.hand_over(voided.collection_id, staff=admin, request_id=rid())
    assert answer.outcome is Handover.VOIDED and "dibatalkan" in msg(answer.message)

    waiting = kiosk_claim(d)
    dist.close_distribution(d.id, staff=admin, unhanded="keep")
    answer = dist.hand_over(waiting.collection_id, staff=admin, request_id=rid())
    assert answer.outcome is Handover.NOT_OPEN and "tidak dibuka" in msg(answer.message)
    assert db.session.get(Collection, waiting.collection_id).handed_over_at is None
    with pytest.raises(LookupError):
        dist.hand_over(999_999, staff=admin, request_id=rid())
    with pytest.raises(ValueError):
        dist.hand_over(waiting.collection_id, staff=admin, request_id="")


def test_the_desk_claims_and_hands_over_in_one_step(engine_app):
    d = make_distribution(packages=10, day=DAY)
    desk = make_staff()
    worker = covered_worker()
    request_id = rid()
    result = dist.claim(d.id, worker.id, request_id=request_id, staff=desk, station="Meja", hand_over=True)
    assert result.collected and result.handed_over_at is not None
    row = db.session.get(Collection, result.collection_id)
    assert row.handed_over_at == row.collected_at and row.handed_over_by_id == desk.id
    assert row.handover_request_id == request_id
    assert dist.claim(d.id, worker.id, request_id=request_id, staff=desk, hand_over=True).replayed
    # The same desk request cannot hand it over a second time either.
    assert dist.hand_over(row.id, staff=desk, request_id=request_id).replayed
    assert dist.hand_over(row.id, staff=desk, request_id=rid()).outcome is Handover.ALREADY_HANDED_OVER
    with pytest.raises(ValueError):
        dist.claim(d.id, covered_worker().id, request_id=rid(), hand_over=True)


def test_the_queue_in_claim_order_found_by_number_or_name(engine_app):
    d = make_distribution(packages=10, day=DAY)
    desk = make_staff()
    names = ["Siti Aminah", "Budi Santoso", "Nur 100% Aini", "Ahmad Fauzi"]
    claims = [kiosk_claim(d, covered_worker(name=n)) for n in names]
    dist.hand_over(claims[1].collection_id, staff=desk, request_id=rid())
    assert [c.worker.name for c in dist.waiting(d.id)] == ["Siti Aminah", "Nur 100% Aini", "Ahmad Fauzi"]
    assert [c.seq for c in dist.waiting(d.id, q="3")] == [3]
    assert [c.seq for c in dist.waiting(d.id, q=" 2 ")] == []  # handed over already
    assert [c.worker.name for c in dist.waiting(d.id, q="AMIN")] == ["Siti Aminah"]
    assert [c.worker.name for c in dist.waiting(d.id, q="0%")] == ["Nur 100% Aini"]
    assert [c.worker.name for c in dist.waiting(d.id, q="%")] == ["Nur 100% Aini"]
    assert [c.seq for c in dist.waiting(d.id, limit=2)] == [1, 3]
    # Digits that are not a package number find nothing (and never overflow the column).
    assert dist.waiting(d.id, q="9" * 30) == [] and dist.waiting(d.id, q="²") == []
    assert dist.by_number(d.id, 2).worker.name == "Budi Santoso"
    assert dist.by_number(d.id, 99) is None and dist.by_number(d.id, 10**12) is None


def test_progress_counts_claimed_handed_over_and_left(engine_app):
    admin = make_staff(role="admin")
    d = make_distribution(packages=10, day=DAY)
    claims = [kiosk_claim(d) for _ in range(4)]
    dist.hand_over(claims[0].collection_id, staff=admin, request_id=rid())
    dist.hand_over(claims[1].collection_id, staff=admin, request_id=rid())
    dist.void(claims[1].collection_id, staff=admin, reason="paket dikembalikan")
    dist.void(claims[2].collection_id, staff=admin, reason="salah orang")
    figures = dist.progress(db.session.get(type(d), d.id))
    assert (figures.total, figures.claimed, figures.handed_over, figures.waiting, figures.left) == (10, 2, 1, 1, 8)


def test_closing_with_packages_not_handed_over_asks_what_to_do(engine_app):
    from kiosk.models import Distribution

    admin = make_staff(role="admin")
    d = make_distribution(packages=10, day=DAY)
    handed = kiosk_claim(d)
    dist.hand_over(handed.collection_id, staff=admin, request_id=rid())
    left = [kiosk_claim(d) for _ in range(2)]
    with pytest.raises(dist.UnhandedPackages) as refused:
        dist.close_distribution(d.id, staff=admin)
    assert refused.value.count == 2 and "2 paket sudah diambil" in msg(refused.value.message)
    assert db.session.get(Distribution, d.id).status == "open"  # nothing changed

    closed = dist.close_distribution(d.id, staff=admin, unhanded="void")
    assert closed.status == "closed" and closed.packages_given == 1
    for claim in left:
        row = db.session.get(Collection, claim.collection_id)
        assert row.voided_at is not None and row.void_reason == dist.UNHANDED_VOID_REASON
    assert dist.progress(closed) == dist.Progress(total=10, claimed=1, handed_over=1)
    # Re-opened, those workers may claim again.
    dist.open_distribution(d.id, staff=admin)
    again = dist.claim(d.id, left[0].worker_id, request_id=rid())
    assert again.collected and again.seq == 4

    dist.close_distribution(d.id, staff=admin, unhanded="keep")
    row = db.session.get(Collection, again.collection_id)
    assert row.voided_at is None and row.handed_over_at is None
    with pytest.raises(ValueError):
        dist.close_distribution(d.id, staff=admin, unhanded="sometimes")
