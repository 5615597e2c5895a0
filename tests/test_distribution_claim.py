"""Claiming a sembako package: every refusal, exactly-once, voiding, retries, close-out.

Database semantics run on SQLite and PostgreSQL (``engine_app``).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from factories import covered_worker, make_card, make_coverage, make_distribution, make_staff, make_worker
from kiosk import card_registry
from kiosk import distribution as dist
from kiosk.distribution import ClaimResult, DistributionError, Outcome
from kiosk.extensions import db
from kiosk.models import AuditEvent, ClaimRequest, Collection, Distribution, DistributionListEntry, Staff

DAY = date(2026, 11, 20)


def msg(lazy) -> str:
    """A lazy message as the person reads it (the locale is chosen per request)."""
    with current_app.test_request_context():
        return str(lazy)


def rid() -> str:
    return uuid.uuid4().hex


def collections_of(distribution_id):
    return db.session.scalars(
        select(Collection).where(Collection.distribution_id == distribution_id).order_by(Collection.seq)
    ).all()


def packages_given(distribution_id) -> int:
    return db.session.scalar(select(Distribution.packages_given).where(Distribution.id == distribution_id))


@pytest.fixture
def staff(engine_app):
    return make_staff(role="admin")


class TestSuccess:
    def test_first_claim_gets_package_one(self, engine_app, staff):
        d = make_distribution(packages=100, day=DAY)
        worker = covered_worker(DAY)
        card, _token = make_card(worker)
        result = dist.claim(d.id, worker.id, request_id=rid(), card_id=card.id, station="Kiosk Aula 1")
        assert result.outcome is Outcome.COLLECTED and result.collected and not result.replayed
        assert (result.seq, result.packages_total, result.packages_given) == (1, 100, 1)
        assert msg(result.message) == "Paket ke-1 dari 100"
        row = db.session.get(Collection, result.collection_id)
        assert row.worker_id == worker.id and row.card_id == card.id and row.station == "Kiosk Aula 1"
        assert packages_given(d.id) == 1
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "collection.create"))
        assert audit.entity_id == row.id and audit.after["seq"] == 1

    @pytest.mark.parametrize("in_callers_transaction", [False, True])
    def test_a_claim_writes_the_same_four_rows_on_either_engine(self, engine_app, staff, in_callers_transaction):
        """What a claim writes, column by column, on SQLite (four statements) and PostgreSQL (one,
        ``claiming._TAKE_AND_RECORD``), alone or in the caller's write transaction: the counter,
        the collection, the answer kept for its request id, and the audit event."""
        from kiosk.database import write_transaction
        from kiosk.models import Device
        from kiosk.terminal import pairing

        earlier = make_distribution(packages=10, day=DAY)
        dist.claim(earlier.id, covered_worker(DAY).id, request_id=rid())  # so a collection's id is not its number
        d = make_distribution(packages=10, day=DAY)
        device, _code = pairing.add_device("Kios Aula", "collect", d, staff=None)
        worker = covered_worker(DAY)
        card, _token = make_card(worker)
        request_id = rid()
        kwargs = dict(request_id=request_id, card_id=card.id, device=db.session.get(Device, device.id), staff=staff,
                      station="Meja \"2\" <b>", hand_over=True, proxy_name="Siti  Aminah", proxy_relation="istri")
        if in_callers_transaction:
            with write_transaction():
                result = dist.claim(d.id, worker.id, **kwargs)
        else:
            result = dist.claim(d.id, worker.id, **kwargs)
        assert (result.outcome, result.seq, result.packages_given, result.packages_total) == (Outcome.COLLECTED, 1, 1, 10)
        db.session.expire_all()
        row = db.session.get(Collection, result.collection_id)
        assert (row.distribution_id, row.worker_id, row.card_id, row.device_id, row.staff_id, row.seq) == (
            d.id, worker.id, card.id, device.id, staff.id, 1)
        assert (row.station, row.proxy_name, row.proxy_relation, row.handover_request_id) == (
            'Meja "2" <b>', "Siti Aminah", "istri", request_id)
        assert row.handed_over_by_id == staff.id and row.handed_over_at == row.collected_at
        assert row.collected_at.tzinfo is not None and row.voided_at is None and row.no_card_reason is None
        assert result.collected_at == row.collected_at
        answer = db.session.get(ClaimRequest, request_id)
        assert (answer.distribution_id, answer.worker_id, answer.outcome, answer.collection_id) == (
            d.id, worker.id, "collected", row.id)
        assert timedelta(0) <= answer.created_at - row.collected_at < timedelta(seconds=5)
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "collection.create",
                                                            AuditEvent.entity_id == row.id)).one()
        assert row.id != row.seq
        assert (event.entity_type, event.entity_id, event.staff_id, event.device_id, event.before) == (
            "collection", row.id, staff.id, device.id, None)
        assert timedelta(0) <= event.at - row.collected_at < timedelta(seconds=5)
        assert event.after == {
            "distribution_id": d.id, "worker_id": worker.id, "seq": 1, "card_id": card.id, "station": 'Meja "2" <b>',
            "proxy_name": "Siti Aminah", "request_id": request_id, "handed_over": True, "no_card_reason": None,
        }
        assert (packages_given(d.id), db.session.scalar(select(Distribution.next_seq).where(Distribution.id == d.id))) == (1, 2)

    def test_a_claim_that_loses_its_race_writes_nothing_not_even_the_count(self, engine_app):
        """The claim's write is one whole: when a unique index refuses its collection (the same
        worker's, committed after the claim read), its UPDATE of the counter is undone too, on
        either engine, and the claim then answers from the winner's row."""
        from kiosk.distribution import claiming

        d = make_distribution(packages=10, day=DAY)
        worker = covered_worker(DAY)
        request_id = rid()
        facts = claiming._claim_facts(d.id, worker.id, request_id, None)
        winner = dist.claim(d.id, worker.id, request_id=rid())  # a concurrent claim commits first
        assert winner.seq == 1
        db.session.commit()
        args = dict(distribution_id=d.id, worker_id=worker.id, request_id=request_id, card_id=None, device_id=None,
                    staff_id=None, station="", hand_over=False, proxy_name=None, proxy_relation=None,
                    handover_photo=None, no_card_reason="kartu hilang")
        with pytest.raises(IntegrityError):
            with claiming._writer() as writer:
                claiming._claim_once(facts, writer, **args)
        db.session.expire_all()
        assert packages_given(d.id) == 1
        assert db.session.scalar(select(Distribution.next_seq).where(Distribution.id == d.id)) == 2
        assert db.session.get(ClaimRequest, request_id) is None
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "collection.create")) == 1
        again = dist.claim(d.id, worker.id, request_id=request_id)
        assert again.outcome is Outcome.ALREADY_COLLECTED and again.seq == 1

    def test_sequence_numbers_follow_each_other(self, engine_app):
        d = make_distribution(packages=5, day=DAY)
        seqs = [dist.claim(d.id, covered_worker(DAY).id, request_id=rid()).seq for _ in range(3)]
        assert seqs == [1, 2, 3]

    def test_desk_without_card_records_the_staff_and_proxy(self, engine_app, staff):
        d = make_distribution(day=DAY)
        worker = covered_worker(DAY)
        result = dist.claim(d.id, worker.id, request_id=rid(), staff=staff, station="Meja 1",
                            hand_over=True, proxy_name="  Siti   Aminah ", proxy_relation="istri",
                            no_card_reason=" kartu  hilang ")
        row = db.session.get(Collection, result.collection_id)
        assert row.card_id is None and row.staff_id == staff.id
        assert row.handed_over_by_id == staff.id and row.handed_over_at == row.collected_at
        assert row.no_card_reason == "kartu hilang"
        assert (row.proxy_name, row.proxy_relation) == ("Siti Aminah", "istri")
        assert result.proxy_name == "Siti Aminah"

    def test_list_eligibility(self, engine_app, staff):
        d = make_distribution(eligibility="list", day=DAY)
        listed, other = make_worker(), covered_worker(DAY)
        dist.add_to_list(d.id, [listed.id], staff=staff)
        assert dist.claim(d.id, listed.id, request_id=rid()).outcome is Outcome.COLLECTED
        # Coverage does not matter for a list distribution; the list does.
        assert dist.claim(d.id, other.id, request_id=rid()).outcome is Outcome.NOT_ON_LIST


class TestRefusals:
    def test_not_open_draft_and_closed(self, engine_app, staff):
        worker = covered_worker(DAY)
        for status in ("draft", "closed"):
            d = make_distribution(status=status, day=DAY)
            result = dist.claim(d.id, worker.id, request_id=rid())
            assert result.outcome is Outcome.NOT_OPEN and not result.collected
            assert "tidak dibuka" in msg(result.message)
        assert db.session.scalar(select(func.count()).select_from(Collection)) == 0

    def test_no_coverage(self, engine_app):
        d = make_distribution(day=DAY)
        assert dist.claim(d.id, make_worker().id, request_id=rid()).outcome is Outcome.NO_COVERAGE

    def test_coverage_ended_the_day_before(self, engine_app):
        d = make_distribution(day=DAY)
        worker = make_worker()
        make_coverage(worker, start=DAY - timedelta(days=91), end=DAY - timedelta(days=1))
        result = dist.claim(d.id, worker.id, request_id=rid())
        assert result.outcome is Outcome.COVERAGE_ENDED
        assert "berakhir" in msg(result.message)

    def test_coverage_ending_on_the_day_counts(self, engine_app):
        d = make_distribution(day=DAY)
        worker = make_worker()
        make_coverage(worker, start=DAY - timedelta(days=90), end=DAY)
        assert dist.claim(d.id, worker.id, request_id=rid()).collected

    def test_coverage_not_started(self, engine_app):
        d = make_distribution(day=DAY)
        worker = make_worker()
        make_coverage(worker, start=DAY + timedelta(days=1), end=DAY + timedelta(days=91))
        assert dist.claim(d.id, worker.id, request_id=rid()).outcome is Outcome.COVERAGE_NOT_STARTED

    def test_renewal_row_covers_after_an_ended_one(self, engine_app):
        d = make_distribution(day=DAY)
        worker = make_worker()
        make_coverage(worker, start=DAY - timedelta(days=200), end=DAY - timedelta(days=110))
        make_coverage(worker, start=DAY - timedelta(days=5), end=DAY + timedelta(days=85))
        assert dist.claim(d.id, worker.id, request_id=rid()).collected

    def test_not_on_list(self, engine_app):
        d = make_distribution(eligibility="list", day=DAY)
        result = dist.claim(d.id, covered_worker(DAY).id, request_id=rid())
        assert result.outcome is Outcome.NOT_ON_LIST and "daftar" in msg(result.message)

    def test_already_collected_says_when_and_where(self, engine_app):
        d = make_distribution(day=DAY)
        worker = covered_worker(DAY)
        first = dist.claim(d.id, worker.id, request_id=rid(), station="Kiosk Aula 1")
        second = dist.claim(d.id, worker.id, request_id=rid(), station="Kiosk Aula 2")
        assert second.outcome is Outcome.ALREADY_COLLECTED and not second.replayed
        assert (second.collection_id, second.seq, second.station) == (first.collection_id, 1, "Kiosk Aula 1")
        assert second.collected_at == first.collected_at
        message = msg(second.message)
        assert message.startswith("Sudah diambil pada ") and message.endswith(", nomor 1, belum diserahkan.")
        assert packages_given(d.id) == 1 and len(collections_of(d.id)) == 1
        # Once the desk has handed it over, the answer says where it was claimed.
        dist.hand_over(first.collection_id, staff=make_staff(), request_id=rid())
        third = dist.claim(d.id, worker.id, request_id=rid(), station="Kiosk Aula 2")
        message = msg(third.message)
        assert message.startswith("Sudah diambil pada ") and message.endswith(" di Kiosk Aula 1")

    def test_sold_out(self, engine_app):
        d = make_distribution(packages=2, day=DAY)
        results = [dist.claim(d.id, covered_worker(DAY).id, request_id=rid()) for _ in range(3)]
        assert [r.outcome for r in results] == [Outcome.COLLECTED, Outcome.COLLECTED, Outcome.SOLD_OUT]
        assert "habis" in msg(results[-1].message)
        assert packages_given(d.id) == 2

    def test_zero_packages_is_sold_out(self, engine_app):
        d = make_distribution(packages=0, day=DAY)
        assert dist.claim(d.id, covered_worker(DAY).id, request_id=rid()).outcome is Outcome.SOLD_OUT

    def test_card_revoked(self, engine_app, staff):
        d = make_distribution(day=DAY)
        worker = covered_worker(DAY)
        card, _ = make_card(worker)
        card_registry.revoke(card, staff=staff, reason="hilang")
        result = dist.claim(d.id, worker.id, request_id=rid(), card_id=card.id)
        assert result.outcome is Outcome.CARD_REVOKED and "tidak berlaku" in msg(result.message)
        assert collections_of(d.id) == []

    def test_card_of_someone_else_is_refused(self, engine_app):
        d = make_distribution(day=DAY)
        worker, other = covered_worker(DAY), covered_worker(DAY)
        card, _ = make_card(other)
        assert dist.claim(d.id, worker.id, request_id=rid(), card_id=card.id).outcome is Outcome.CARD_REVOKED

    def test_refusals_are_stored_for_the_retry_but_write_no_collection(self, engine_app):
        d = make_distribution(day=DAY)
        worker = make_worker()
        request_id = rid()
        first = dist.claim(d.id, worker.id, request_id=request_id)
        make_coverage(worker, start=DAY, end=DAY + timedelta(days=90))
        again = dist.claim(d.id, worker.id, request_id=request_id)
        assert first.outcome is again.outcome is Outcome.NO_COVERAGE and again.replayed
        assert db.session.get(ClaimRequest, request_id).outcome == "no_coverage"
        assert collections_of(d.id) == []
        # A new scan (new request id) is judged afresh.
        assert dist.claim(d.id, worker.id, request_id=rid()).collected

    def test_unknown_worker_or_distribution_is_a_programming_error(self, engine_app):
        d = make_distribution(day=DAY)
        with pytest.raises(LookupError):
            dist.claim(d.id, 999_999, request_id=rid())
        with pytest.raises(LookupError):
            dist.claim(999_999, covered_worker(DAY).id, request_id=rid())
        with pytest.raises(ValueError):
            dist.claim(d.id, covered_worker(DAY).id, request_id="")


class TestRetry:
    def test_same_request_id_gets_the_first_answer(self, engine_app):
        d = make_distribution(packages=10, day=DAY)
        worker = covered_worker(DAY)
        request_id = rid()
        first = dist.claim(d.id, worker.id, request_id=request_id, station="Kiosk 1")
        again = dist.claim(d.id, worker.id, request_id=request_id, station="Kiosk 1")
        assert again.outcome is Outcome.COLLECTED and again.replayed and not first.replayed
        assert (again.collection_id, again.seq, again.station) == (first.collection_id, first.seq, "Kiosk 1")
        assert msg(again.message) == msg(first.message) == "Paket ke-1 dari 10"
        assert packages_given(d.id) == 1 and len(collections_of(d.id)) == 1

    def test_retry_after_sold_out_is_still_sold_out(self, engine_app):
        d = make_distribution(packages=1, day=DAY)
        dist.claim(d.id, covered_worker(DAY).id, request_id=rid())
        worker = covered_worker(DAY)
        request_id = rid()
        assert dist.claim(d.id, worker.id, request_id=request_id).outcome is Outcome.SOLD_OUT
        assert dist.claim(d.id, worker.id, request_id=request_id).outcome is Outcome.SOLD_OUT


class TestVoid:
    def test_void_gives_the_package_back_and_allows_a_new_collection(self, engine_app, staff):
        d = make_distribution(packages=1, day=DAY)
        worker, other = covered_worker(DAY), covered_worker(DAY)
        first = dist.claim(d.id, worker.id, request_id=rid())
        assert dist.claim(d.id, other.id, request_id=rid()).outcome is Outcome.SOLD_OUT
        voided = dist.void(first.collection_id, staff=staff, reason="salah orang")
        assert voided.voided_at is not None and voided.void_reason == "salah orang"
        assert voided.voided_by_id == staff.id
        assert packages_given(d.id) == 0
        again = dist.claim(d.id, worker.id, request_id=rid())
        assert again.collected and again.seq == 2 and again.collection_id != first.collection_id
        rows = collections_of(d.id)
        assert [(r.seq, r.voided_at is None) for r in rows] == [(1, False), (2, True)]
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "collection.void"))
        assert audit.entity_id == first.collection_id and audit.after["void_reason"] == "salah orang"

    def test_void_needs_a_reason_and_happens_once(self, engine_app, staff):
        d = make_distribution(day=DAY)
        result = dist.claim(d.id, covered_worker(DAY).id, request_id=rid())
        with pytest.raises(DistributionError):
            dist.void(result.collection_id, staff=staff, reason="   ")
        dist.void(result.collection_id, staff=staff, reason="paket dikembalikan")
        with pytest.raises(DistributionError):
            dist.void(result.collection_id, staff=staff, reason="lagi")
        assert packages_given(d.id) == 0

    def test_void_after_close_refreezes_the_report(self, engine_app, staff):
        d = make_distribution(day=DAY)
        worker = covered_worker(DAY, name="Budi Santoso")
        result = dist.claim(d.id, worker.id, request_id=rid(), staff=staff, hand_over=True)
        dist.close_distribution(d.id, staff=staff)
        assert [r["name"] for r in db.session.get(Distribution, d.id).frozen_report["recipients"]] == ["Budi Santoso"]
        dist.void(result.collection_id, staff=staff, reason="salah input")
        report = db.session.get(Distribution, d.id).frozen_report
        assert report["recipients"] == [] and [r["name"] for r in report["non_recipients"]] == ["Budi Santoso"]
        assert report["voided"][0]["reason"] == "salah input"


class TestDatabaseGuards:
    """The guards hold even for a caller that bypasses ``claim``."""

    def test_second_active_collection_is_refused_by_the_index(self, engine_app):
        d = make_distribution(day=DAY)
        worker = covered_worker(DAY)
        dist.claim(d.id, worker.id, request_id=rid())
        db.session.add(Collection(distribution_id=d.id, worker_id=worker.id, seq=99))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()

    def test_duplicate_seq_is_refused(self, engine_app):
        d = make_distribution(day=DAY)
        dist.claim(d.id, covered_worker(DAY).id, request_id=rid())
        db.session.add(Collection(distribution_id=d.id, worker_id=covered_worker(DAY).id, seq=1))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()

    def test_count_cannot_pass_the_total(self, engine_app):
        d = make_distribution(packages=1, day=DAY)
        dist.claim(d.id, covered_worker(DAY).id, request_id=rid())
        with pytest.raises(IntegrityError):
            db.session.execute(text("UPDATE distribution SET packages_given = packages_given + 1 WHERE id = :id"), {"id": d.id})
            db.session.commit()
        db.session.rollback()


class TestReadOnly:
    def test_status_and_eligibility_do_not_write(self, engine_app):
        d = make_distribution(packages=1, day=DAY)
        worker = covered_worker(DAY)
        status = dist.status_for(d, worker)
        assert status.may_collect and status.outcome is None and dist.pickup_refusal(d, worker) is None
        assert "tersedia" in msg(status.message)
        assert db.session.scalar(select(func.count()).select_from(ClaimRequest)) == 0
        dist.claim(d.id, worker.id, request_id=rid(), station="Kiosk 1")
        db.session.refresh(d)
        status = dist.status_for(d, worker)
        assert status.outcome is Outcome.ALREADY_COLLECTED and status.station == "Kiosk 1" and status.seq == 1
        assert dist.pickup_refusal(d, covered_worker(DAY)) is Outcome.SOLD_OUT
        assert dist.pickup_refusal(d, make_worker()) is Outcome.NO_COVERAGE

    def test_eligibility_on_another_day(self, engine_app):
        d = make_distribution(day=DAY)
        worker = covered_worker(DAY)
        assert dist.pickup_refusal(d, worker, day=DAY + timedelta(days=365)) is Outcome.COVERAGE_ENDED

    def test_status_with_revoked_card(self, engine_app, staff):
        d = make_distribution(day=DAY)
        worker = covered_worker(DAY)
        card, _ = make_card(worker)
        card_registry.revoke(card, staff=staff, reason="rusak")
        assert dist.status_for(d, worker, card_id=card.id).outcome is Outcome.CARD_REVOKED


class TestManaging:
    def test_close_freezes_recipients_and_non_recipients(self, engine_app, staff):
        d = make_distribution(day=DAY)
        a = covered_worker(DAY, name="Ani", phone="081234567890")
        b = covered_worker(DAY, name="Beni")
        make_worker(name="Tanpa Kepesertaan")
        dist.claim(d.id, a.id, request_id=rid(), station="Kiosk 1", staff=staff, hand_over=True,
                   proxy_name="Rudi", proxy_relation="suami")
        closed = dist.close_distribution(d.id, staff=staff)
        report = closed.frozen_report
        assert closed.status == "closed" and closed.closed_at is not None
        (recipient,) = report["recipients"]
        assert recipient["seq"] == 1 and recipient["name"] == "Ani" and recipient["station"] == "Kiosk 1"
        assert recipient["proxy_name"] == "Rudi" and recipient["by_card"] is False
        assert a.nik not in str(report) and recipient["nik_masked"].endswith(a.nik[-4:])
        assert [w["name"] for w in report["non_recipients"]] == ["Beni"]
        assert report["packages_given"] == 1
        assert dist.claim(d.id, b.id, request_id=rid()).outcome is Outcome.NOT_OPEN
        with pytest.raises(DistributionError):
            dist.close_distribution(d.id, staff=staff)

    def test_open_then_reopen(self, engine_app, staff):
        d = make_distribution(status="draft", day=DAY)
        assert dist.open_distribution(d.id, staff=staff).status == "open"
        dist.close_distribution(d.id, staff=staff)
        assert dist.open_distribution(d.id, staff=staff).status == "open"
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["distribution.open", "distribution.close", "distribution.open"]

    def test_save_refuses_fewer_packages_than_given(self, engine_app, staff):
        d = dist.save(None, {"name": "Tahap II", "day": DAY, "packages_total": 3, "eligibility": "coverage",
                             "place": "Aula", "contents": "Beras"}, staff=staff)
        assert d.status == "draft" and d.packages_given == 0
        dist.open_distribution(d.id, staff=staff)
        dist.claim(d.id, covered_worker(DAY).id, request_id=rid())
        dist.claim(d.id, covered_worker(DAY).id, request_id=rid())
        with pytest.raises(DistributionError):
            dist.save(d, {"packages_total": 1}, staff=staff)
        assert dist.save(d, {"packages_total": 2}, staff=staff).packages_total == 2

    def test_list_by_pasted_niks(self, engine_app, staff):
        d = make_distribution(eligibility="list", day=DAY)
        a, b = make_worker(), make_worker()
        change = dist.add_niks_to_list(d.id, f"{a.nik}\n {b.nik[:4]} {b.nik[4:]} \n\n1603000000000000\nabc", staff=staff)
        assert (change.added, change.already) == (2, 0)
        assert change.unknown == ("abc", "1603000000000000")
        again = dist.add_niks_to_list(d.id, a.nik, staff=staff)
        assert (again.added, again.already) == (0, 1)
        assert {w.id for w in dist.listed_workers(d.id)} == {a.id, b.id}
        assert dist.remove_from_list(d.id, a.id, staff=staff)
        assert db.session.scalar(select(func.count()).select_from(DistributionListEntry)) == 1

    def test_not_collected_lists_eligible_workers_only(self, engine_app):
        d = make_distribution(day=DAY)
        a, b = covered_worker(DAY, name="Ani"), covered_worker(DAY, name="Beni")
        make_worker(name="Tanpa")
        dist.claim(d.id, a.id, request_id=rid())
        assert [w.name for w in dist.not_collected(d)] == ["Beni"]


def test_claim_result_is_frozen():
    result = ClaimResult(outcome=Outcome.SOLD_OUT, distribution_id=1, worker_id=1)
    with pytest.raises(AttributeError):
        result.seq = 3  # type: ignore[misc]
    assert [o.value for o in Outcome] == [
        "collected", "not_open", "no_coverage", "coverage_ended", "coverage_not_started",
        "not_on_list", "already_collected", "sold_out", "card_revoked",
        "clock_wrong",  # never stored: a claim under a clock the server does not believe is not tried
    ]


# ---- property: any sequence of scans, retries and voids agrees with a simple model -------------


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("claim"), st.integers(0, 5)),
        st.tuples(st.just("retry"), st.integers(0, 30)),
        st.tuples(st.just("void"), st.integers(0, 30)),
    ),
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(packages=st.integers(0, 4), ops=OPS)
def test_any_sequence_matches_the_model(app, packages, ops):
    # The app (and its database) lives across examples; each example gets a new distribution.
    shared = app.extensions.setdefault("model-test", {})
    if not shared:
        shared["admin_id"] = make_staff(role="admin").id
        shared["workers"] = [covered_worker(DAY).id for _ in range(6)]
    admin = db.session.get(Staff, shared["admin_id"])
    workers = shared["workers"]
    d = make_distribution(packages=packages, day=DAY)
    holding: dict[int, int] = {}  # worker -> active collection id
    answers: list[tuple[str, ClaimResult]] = []
    for op, n in ops:
        if op == "claim":
            worker_id = workers[n]
            request_id = rid()
            result = dist.claim(d.id, worker_id, request_id=request_id)
            if worker_id in holding:
                assert result.outcome is Outcome.ALREADY_COLLECTED
                assert result.collection_id == holding[worker_id]
            elif len(holding) >= packages:
                assert result.outcome is Outcome.SOLD_OUT
            else:
                assert result.outcome is Outcome.COLLECTED
                holding[worker_id] = result.collection_id
            answers.append((request_id, result))
        elif op == "retry" and answers:
            request_id, first = answers[n % len(answers)]
            again = dist.claim(d.id, first.worker_id, request_id=request_id)
            assert again.replayed
            assert (again.outcome, again.collection_id, again.seq) == (first.outcome, first.collection_id, first.seq)
        elif op == "void" and holding:
            worker_id = sorted(holding)[n % len(holding)]
            dist.void(holding.pop(worker_id), staff=admin, reason="uji")
        rows = db.session.scalars(select(Collection).where(
            Collection.distribution_id == d.id, Collection.voided_at.is_(None))).all()
        assert {r.worker_id: r.id for r in rows} == holding
        assert packages_given(d.id) == len(holding) <= packages
