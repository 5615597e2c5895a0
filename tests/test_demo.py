"""``flask --app kiosk seed-demo``: 100 valid Muara Enim workers with 3 months of JKK + JKM from
today, the open first distribution; running it twice adds nothing."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from kiosk import enrollment
from kiosk.coverage import default_end, today_jakarta
from kiosk.extensions import db
from kiosk.models import AuditEvent, Card, Coverage, Distribution, Worker
from kiosk.nik import parse_nik
from kiosk.wilayah import desa_list, kecamatan_by_code


@pytest.fixture(autouse=True)
def request_context(app):
    with app.test_request_context():
        yield


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_demo_creates_100_valid_workers_with_coverage_and_the_distribution(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "100 ditambahkan" in result.output
    today = today_jakarta()
    workers = db.session.scalars(select(Worker)).all()
    assert len(workers) == 100 and len({w.nik for w in workers}) == 100
    for worker in workers:
        check = enrollment.validate_worker(
            {"nik": worker.nik, "name": worker.name, "sex": worker.sex, "birth_place": worker.birth_place,
             "birth_date": worker.birth_date, "address": worker.address, "kecamatan": worker.kecamatan_code,
             "desa": worker.desa_code, "occupation": worker.occupation, "phone": worker.phone,
             "income": worker.income},
            existing=worker,
        )
        assert check.ok and not check.warnings, (worker.nik, check.errors, check.warnings)
        nik = parse_nik(worker.nik, birth_date=worker.birth_date, sex=worker.sex)
        assert nik.ok and nik.kecamatan == worker.kecamatan_code
        assert kecamatan_by_code(worker.kecamatan_code) is not None
        assert worker.desa_code in {d.code for d in desa_list(worker.kecamatan_code)}
        assert worker.phone and worker.phone.startswith("+628")
    sexes = Counter(w.sex for w in workers)
    assert sexes["L"] >= 30 and sexes["P"] >= 30
    assert len({w.kecamatan_code for w in workers}) >= 15
    assert len({w.occupation for w in workers}) >= 5

    periods = db.session.scalars(select(Coverage)).all()
    assert len(periods) == 100 and {p.worker_id for p in periods} == {w.id for w in workers}
    for period in periods:
        assert (period.start_date, period.end_date) == (today, default_end(today))
        assert (period.jkk, period.jkm, period.jht) == (True, True, False)
        assert period.funder == "Pemkab Muara Enim" and period.monthly_contribution >= 16_800

    distribution = db.session.scalars(select(Distribution)).one()
    assert (distribution.name, distribution.day, distribution.packages_total, distribution.status) == (
        "Penyaluran Sembako Tahap I", today, 100, "open")
    assert count(Card) == 0


def test_seed_demo_twice_is_still_100(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    events = count(AuditEvent)
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert "0 ditambahkan, 100 sudah ada" in again.output and "sudah ada (tidak digandakan)" in again.output
    assert count(Worker) == 100 and count(Coverage) == 100 and count(Distribution) == 1
    assert count(AuditEvent) == events


def test_seed_demo_with_cards(runner):
    result = runner.invoke(args=["seed-demo", "--with-cards"])
    assert result.exit_code == 0, result.output
    assert "100 diterbitkan" in result.output
    assert db.session.scalar(select(func.count()).where(Card.revoked_at.is_(None))) == 100
    again = runner.invoke(args=["seed-demo", "--with-cards"])
    assert "0 diterbitkan" in again.output and count(Card) == 100


def test_seed_demo_help_says_what_it_does(runner):
    result = runner.invoke(args=["seed-demo", "--help"])
    assert result.exit_code == 0 and "100 BPU workers" in result.output and "--with-cards" in result.output
