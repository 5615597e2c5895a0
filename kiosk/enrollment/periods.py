"""Writing coverage periods: adding one, renewing one worker or many."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Sequence

from ..i18n import _l, tanggal_indonesian
from sqlalchemy import and_, func, select

from .. import coverage as coverage_rules
from ..audit import record, snapshot
from ..database import write_transaction
from ..extensions import db
from ..models import Coverage, Staff, Worker
from .results import Refused
from .validation import COVERAGE_FIELDS, DEFAULT_FUNDER


def new_period(worker: Worker, *, start: date, end: date, programmes: Sequence[str], funder: str,
               staff: Staff | None) -> Coverage:
    """A ``Coverage`` row for ``worker`` (flushed, so it has an id) with the monthly contribution
    of its programmes on the worker's income (not yet added to the session; nothing checked)."""
    codes = coverage_rules.programme_codes(programmes)
    return Coverage(
        worker_id=worker.id,
        jkk="JKK" in codes,
        jkm="JKM" in codes,
        jht="JHT" in codes,
        start_date=start,
        end_date=end,
        funder=funder or DEFAULT_FUNDER,
        income_basis=worker.income,
        monthly_contribution=int(coverage_rules.monthly_contribution(worker.income, codes).total),
        created_by_id=staff.id if staff else None,
    )


def _lock_worker(worker: Worker) -> None:
    # SQLite already holds the write lock (BEGIN IMMEDIATE); PostgreSQL locks the worker's row so
    # two concurrent period inserts for the same worker run one after the other.
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(select(Worker.id).where(Worker.id == worker.id).with_for_update())


def _overlapping(worker_id: int, start: date, end: date) -> Coverage | None:
    return db.session.scalar(
        select(Coverage)
        .where(Coverage.worker_id == worker_id, Coverage.start_date <= end, Coverage.end_date >= start)
        .order_by(Coverage.start_date)
        .limit(1)
    )


def insert_coverage(
    worker: Worker,
    *,
    start: date,
    end: date | None = None,
    programmes: Sequence[str] = ("JKK", "JKM"),
    funder: str = DEFAULT_FUNDER,
    staff: Staff | None,
) -> Coverage:
    """Add a coverage period to ``worker`` without committing: call it inside the caller's
    ``write_transaction()`` (enrollment, imports, the demo). Refuses an overlapping period."""
    end = end or coverage_rules.default_end(start)
    if end < start:
        raise Refused(_l("Tanggal berakhir tidak boleh sebelum tanggal mulai."))
    codes = {p.upper() for p in programmes}
    if not codes & {"JKK", "JKM", "JHT"}:
        raise Refused(_l("Pilih paling sedikit satu program."))
    _lock_worker(worker)
    clash = _overlapping(worker.id, start, end)
    if clash is not None:
        message = _l(
            "Periode ini bertumpang tindih dengan periode %(start)s – %(end)s yang sudah ada.",
            start=tanggal_indonesian(clash.start_date),
            end=tanggal_indonesian(clash.end_date),
        )
        raise Refused(message, {"start": [message]})
    known = tuple(c for c in coverage_rules.PROGRAMME_CODES if c in codes)
    period = new_period(worker, start=start, end=end, programmes=known, funder=funder, staff=staff)
    db.session.add(period)
    db.session.flush()
    record("coverage.create", period, after=snapshot(period, COVERAGE_FIELDS), staff=staff)
    return period


def add_coverage(worker: Worker, *, staff: Staff | None, **period) -> Coverage:
    """Add a coverage period (``start``, and ``end``, ``programmes``, ``funder`` as
    ``insert_coverage`` takes them; end defaults to start + 3 months) in its own transaction,
    audited. Refused (``Refused``, nothing written) when it overlaps another period of the same
    worker — checked inside the write transaction, so two staff cannot both slip a period in."""
    with write_transaction():
        return insert_coverage(worker, staff=staff, **period)


def latest_coverage(worker: Worker) -> Coverage | None:
    """The worker's period with the latest end date, or ``None``."""
    return db.session.scalar(
        select(Coverage).where(Coverage.worker_id == worker.id).order_by(Coverage.end_date.desc()).limit(1)
    )


def renewal_start(latest_end: date, today: date) -> date:
    """A renewal starts the day after the latest period ends — or today, when that period ended
    long ago (no coverage is bought for days already past)."""
    return max(latest_end + timedelta(days=1), today)


def _renew_locked(worker: Worker, latest: Coverage, today: date, staff) -> Coverage:
    start = renewal_start(latest.end_date, today)
    return insert_coverage(
        worker,
        start=start,
        end=coverage_rules.default_end(start),
        programmes=latest.programmes,
        funder=latest.funder,
        staff=staff,
    )


def renew(worker: Worker, *, staff: Staff | None, today: date | None = None) -> Coverage:
    """Add the next period after the latest one (same programmes and funder, three months),
    keeping the history. Raises ``Refused`` when the worker has no period yet."""
    today = today or coverage_rules.today_jakarta()
    with write_transaction():
        _lock_worker(worker)
        latest = latest_coverage(worker)
        if latest is None:
            raise Refused(_l("Pekerja ini belum punya periode cakupan untuk diperpanjang."))
        return _renew_locked(worker, latest, today, staff)


@dataclass
class RenewalRow:
    """One worker a bulk renewal would extend: their latest period and the new one."""

    worker: Worker
    latest: Coverage
    new_start: date
    new_end: date


def _due_query(ending_before: date):
    latest_end = (
        select(Coverage.worker_id, func.max(Coverage.end_date).label("last_end"))
        .group_by(Coverage.worker_id)
        .subquery()
    )
    return (
        select(Worker, Coverage)
        .join(latest_end, latest_end.c.worker_id == Worker.id)
        .join(Coverage, and_(Coverage.worker_id == Worker.id, Coverage.end_date == latest_end.c.last_end))
        .where(latest_end.c.last_end < ending_before)
        .order_by(Worker.name, Worker.id, Coverage.id)
    )


def _due(ending_before: date) -> list[tuple[Worker, Coverage]]:
    seen: set[int] = set()
    rows = []
    for worker, period in db.session.execute(_due_query(ending_before)).all():
        if worker.id not in seen:  # two periods ending the same day: renew once
            seen.add(worker.id)
            rows.append((worker, period))
    return rows


def renewal_preview(ending_before: date, *, today: date | None = None) -> list[RenewalRow]:
    """Who ``renew_many(ending_before)`` would extend: every worker whose latest period ends
    before ``ending_before``, with the period they would get. Writes nothing."""
    today = today or coverage_rules.today_jakarta()
    rows = []
    for worker, latest in _due(ending_before):
        start = renewal_start(latest.end_date, today)
        rows.append(RenewalRow(worker, latest, start, coverage_rules.default_end(start)))
    return rows


def renew_many(ending_before: date, *, staff: Staff | None, today: date | None = None) -> int:
    """Renew, in one transaction, every worker whose latest period ends before
    ``ending_before`` (exactly those ``renewal_preview`` lists); returns how many."""
    today = today or coverage_rules.today_jakarta()
    with write_transaction():
        due = _due(ending_before)
        for worker, latest in due:
            _renew_locked(worker, latest, today, staff)
    return len(due)
