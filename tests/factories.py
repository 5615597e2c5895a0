"""Test data factories: ``make_<model>()`` with sensible defaults, committed to the database."""

from __future__ import annotations

import itertools

from kiosk.coverage import today_jakarta
from kiosk.extensions import db
from kiosk.models import Staff, Worker

_seq = itertools.count(1)


def make_staff(role: str = "petugas", username: str | None = None, password: str = "rahasia-123", active: bool = True,
               full_name: str | None = None) -> Staff:
    """A staff account (committed)."""
    n = next(_seq)
    staff = Staff(username=username or f"{role}{n}", full_name=full_name or f"Petugas {n}", role=role, active=active)
    staff.set_password(password)
    db.session.add(staff)
    db.session.commit()
    return staff


def nik_for(birth_date, sex: str = "L", kecamatan: str = "160302", serial: int | None = None) -> str:
    """A valid Muara Enim NIK for a birth date and sex (women: day + 40)."""
    day = birth_date.day + (40 if sex == "P" else 0)
    if serial is None:
        serial = next(_seq) % 10000 or 1
    return f"{kecamatan}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"


def make_worker(name: str | None = None, sex: str = "L", birth_date=None, kecamatan: str = "160302", **fields) -> "Worker":
    """An enrolled worker with a valid NIK (committed). No coverage: see ``make_coverage``."""
    from datetime import date

    from kiosk.models import Worker

    n = next(_seq)
    birth_date = birth_date or date(1980 + n % 20, 1 + n % 12, 1 + n % 28)
    worker = Worker(
        nik=fields.pop("nik", None) or nik_for(birth_date, sex, kecamatan, serial=n % 10000 or 1),
        name=name or f"Pekerja {n}",
        sex=sex,
        birth_place=fields.pop("birth_place", "Muara Enim"),
        birth_date=birth_date,
        address=fields.pop("address", f"Jl. Merdeka No. {n}"),
        kecamatan_code=kecamatan,
        desa_name=fields.pop("desa_name", "Pasar II Muara Enim"),
        occupation=fields.pop("occupation", "Petani"),
        income=fields.pop("income", 1_500_000),
        **fields,
    )
    db.session.add(worker)
    db.session.commit()
    return worker


def make_coverage(worker, start=None, end=None, jht: bool = False, funder: str = "Pemkab Muara Enim"):
    """A JKK + JKM coverage period for ``worker`` (committed); default: today for three months."""
    from datetime import date, timedelta

    from kiosk.models import Coverage

    start = start or today_jakarta() - timedelta(days=1)
    end = end or start + timedelta(days=90)
    coverage = Coverage(
        worker_id=worker.id, jkk=True, jkm=True, jht=jht, start_date=start, end_date=end,
        funder=funder, income_basis=worker.income, monthly_contribution=16_800,
    )
    db.session.add(coverage)
    db.session.commit()
    return coverage


def covered_worker(day=None, start=None, end=None, **fields) -> Worker:
    """A worker (``make_worker`` fields) covered by JKK + JKM on ``day`` (default: today in
    Jakarta): from five days before it to thirty days after, unless ``start``/``end`` say."""
    from datetime import timedelta

    day = day or today_jakarta()
    worker = make_worker(**fields)
    make_coverage(worker, start=start or day - timedelta(days=5), end=end or day + timedelta(days=30))
    return worker


def make_card(worker, staff=None):
    """Issue a card for ``worker`` through the real registry; returns (card, token)."""
    from kiosk import card_registry

    card = card_registry.issue(worker, staff=staff)
    return card, card_registry.token_for(card)


def make_distribution(packages: int = 100, status: str = "open", eligibility: str = "coverage", day=None, **fields):
    """A sembako distribution (committed), open by default."""
    from datetime import date

    from kiosk.models import Distribution

    distribution = Distribution(
        name=fields.pop("name", "Penyaluran Sembako Tahap I"),
        day=day or today_jakarta(),
        place=fields.pop("place", "Aula Dinas Ketenagakerjaan"),
        packages_total=packages,
        contents=fields.pop("contents", "Beras 10 kg, minyak goreng 2 L, gula 1 kg"),
        eligibility=eligibility,
        status=status,
        **fields,
    )
    db.session.add(distribution)
    db.session.commit()
    return distribution


def valid_cards(worker) -> list:
    """The worker's cards that are not revoked, as the database holds them now (the read
    transaction is ended first, to see what the server or another thread wrote)."""
    from sqlalchemy import select

    from kiosk.models import Card

    db.session.commit()
    return list(db.session.scalars(select(Card).where(Card.worker_id == worker.id, Card.revoked_at.is_(None))))
