"""The coverage rules: what a BPU worker's BPJS Ketenagakerjaan programmes cost each month,
how long a period runs, whether it is active on a given day in Asia/Jakarta, and a worker's
status on a day from all their periods (in Python and, beside it, in SQL).

Programmes (BPU = *pekerja bukan penerima upah*, informal workers): JKK (work accident) 1 % of
the declared monthly income, JKM (death) a flat Rp6.800 a month, JHT (old-age savings) 2 %,
optional. Amounts are whole Rupiah computed with integers.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, literal_column, select

from .i18n import _l
from .models import Coverage, Worker

JAKARTA = ZoneInfo("Asia/Jakarta")

INCOME_FLOOR = 1_000_000
JKK_PERCENT = 1
JHT_PERCENT = 2
JKM_MONTHLY = 6_800
DEFAULT_MONTHS = 3
PROGRAMME_CODES = ("JKK", "JKM", "JHT")
DEFAULT_PROGRAMMES = ("JKK", "JKM")


class Programme(NamedTuple):
    """A programme's Indonesian name and what it pays, in plain words."""

    name: object
    benefit: object


PROGRAMMES: dict[str, Programme] = {
    "JKK": Programme(
        _l("Jaminan Kecelakaan Kerja"), _l("Biaya pengobatan dan santunan bila mengalami kecelakaan kerja")
    ),
    "JKM": Programme(_l("Jaminan Kematian"), _l("Santunan untuk ahli waris bila peserta meninggal dunia")),
    "JHT": Programme(_l("Jaminan Hari Tua"), _l("Tabungan hari tua")),
}

STATUS_LABELS = {
    "aktif": _l("Aktif"),
    "belum_aktif": _l("Belum aktif"),
    "berakhir": _l("Berakhir"),
}
_TONES = {"aktif": "ok", "belum_aktif": "warn", "berakhir": "bad"}


@dataclass(frozen=True)
class Contribution:
    """Monthly contribution in whole Rupiah per programme (0 when not chosen), their total,
    and the income it was computed on (``basis``, after the floor)."""

    jkk: int
    jkm: int
    jht: int
    total: int
    basis: int


@dataclass(frozen=True)
class Status:
    """A period's status on one day.

    ``code``: "aktif" (start <= day <= end), "belum_aktif" (before start) or "berakhir" (after end).
    ``days_left`` (aktif only): ``(end - day).days`` — 0 on the last day ("hari terakhir").
    ``starts_in`` (belum_aktif only): days until the start, at least 1.
    ``ended_days_ago`` (berakhir only): days since the end, at least 1.
    """

    code: str
    days_left: int | None = None
    starts_in: int | None = None
    ended_days_ago: int | None = None

    @property
    def active(self) -> bool:
        """True when covered that day."""
        return self.code == "aktif"

    @property
    def last_day(self) -> bool:
        """True on the last covered day."""
        return self.days_left == 0

    @property
    def tone(self) -> str:
        """The colour family for badges and kiosk screens: ok / warn / bad."""
        return _TONES[self.code]

    @property
    def label(self):
        """The status in words: "Aktif", "Belum aktif", "Berakhir"."""
        return STATUS_LABELS[self.code]


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def programme_codes(programmes: Iterable[str] | str) -> tuple[str, ...]:
    """The programme codes in their fixed order (JKK, JKM, JHT), upper-cased and without
    duplicates; raises ``ValueError`` for an unknown code."""
    items = [programmes] if isinstance(programmes, str) else list(programmes)
    codes = {str(p).strip().upper() for p in items}
    unknown = codes - set(PROGRAMME_CODES)
    if unknown:
        raise ValueError(f"unknown programme code(s): {sorted(unknown)}")
    return tuple(c for c in PROGRAMME_CODES if c in codes)


def monthly_contribution(income: int, programmes: Iterable[str] | str = DEFAULT_PROGRAMMES) -> Contribution:
    """The monthly contribution for a declared monthly ``income`` (whole Rupiah) and a set of
    programme codes. The income floor (Rp1.000.000, the lowest income BPJS accepts from a BPU
    worker) applies to both percentage programmes, JKK and JHT: a declared income under it is
    counted as Rp1.000.000. Percentages are rounded half up to whole Rupiah."""
    if isinstance(income, bool) or int(income) != income or income < 0:
        raise ValueError("income must be a non-negative whole number of Rupiah")
    codes = programme_codes(programmes)
    basis = max(int(income), INCOME_FLOOR)
    jkk = _round_half_up(basis * JKK_PERCENT, 100) if "JKK" in codes else 0
    jkm = JKM_MONTHLY if "JKM" in codes else 0
    jht = _round_half_up(basis * JHT_PERCENT, 100) if "JHT" in codes else 0
    return Contribution(jkk=jkk, jkm=jkm, jht=jht, total=jkk + jkm + jht, basis=basis)


def _add_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + (day.month - 1) + months
    return index // 12, index % 12 + 1


def default_end(start: date, months: int = DEFAULT_MONTHS) -> date:
    """The last covered day of a period of ``months`` calendar months from ``start``: the day
    before the same day of the month ``months`` later (2026-01-01 -> 2026-03-31; 2026-01-15 ->
    2026-04-14). When that month has no such day (the 29th–31st), the period runs to the end of
    that month instead (2026-11-30 -> 2027-02-28; 2026-08-31 -> 2026-11-30)."""
    if months < 1:
        raise ValueError("a period lasts at least one month")
    year, month = _add_months(start, months)
    last = calendar.monthrange(year, month)[1]
    if start.day > last:
        return date(year, month, last)
    return date(year, month, start.day) - timedelta(days=1)


def months_between(start: date, end: date) -> int:
    """How many months a period from ``start`` to ``end`` (both covered) is paid for: the fewest
    whole months, as ``default_end`` counts them, that reach ``end`` — a part month is paid in
    full. ``months_between(d, default_end(d, n)) == n``."""
    if end < start:
        raise ValueError("end is before start")
    months = max(1, (end.year - start.year) * 12 + end.month - start.month - 1)
    while default_end(start, months) < end:
        months += 1
    return months


def period_total(monthly: int, months: int = DEFAULT_MONTHS) -> int:
    """The contribution for a whole period of ``months`` months (of a period's dates:
    ``months_between(start, end)``)."""
    return int(monthly) * int(months)


def today_jakarta(now: datetime | None = None) -> date:
    """Today's date in Asia/Jakarta (WIB), the day coverage status is computed for. ``now``
    must be timezone-aware when given (tests pass one)."""
    if now is None:
        return datetime.now(JAKARTA).date()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("today_jakarta needs a timezone-aware datetime")
    return now.astimezone(JAKARTA).date()


def status_on(start: date, end: date, day: date) -> Status:
    """The status of a period covering ``start``..``end`` (both included) on ``day``."""
    if end < start:
        raise ValueError("end is before start")
    if day < start:
        return Status("belum_aktif", starts_in=(start - day).days)
    if day > end:
        return Status("berakhir", ended_days_ago=(day - end).days)
    return Status("aktif", days_left=(end - day).days)


def status_today(periods: Iterable, day: date | None = None):
    """The coverage status of a worker on ``day`` (default today in Jakarta) from their periods:
    the period (a ``Coverage``) covering that day, else the next one to start, else the last one
    to end.
    Days left count through renewals that follow on without a gap. Returns
    ``(period, Status)`` or ``(None, None)`` when there is no period."""
    day = day or today_jakarta()
    periods = sorted(periods, key=lambda p: p.start_date)
    if not periods:
        return None, None
    current = [p for p in periods if p.start_date <= day <= p.end_date]
    future = [p for p in periods if p.start_date > day]
    if current:
        chosen = max(current, key=lambda p: p.end_date)
        end = chosen.end_date
        for p in periods:  # a renewal starting the day after keeps the worker covered
            if p.start_date <= end + timedelta(days=1) and p.end_date > end:
                end = p.end_date
        return chosen, status_on(chosen.start_date, end, day)
    chosen = future[0] if future else max(periods, key=lambda p: p.end_date)
    return chosen, status_on(chosen.start_date, chosen.end_date, day)


# A worker's coverage status on a day: the code of the period ``status_today`` picks, or "tanpa"
# (never covered). The rule in Python, then its two SQL twins (one row per worker for the reports'
# counts, a condition for the worker list's filter); tests/test_rule_agreement.py checks they agree.
WORKER_STATUSES = ("aktif", "belum_aktif", "berakhir", "tanpa")


def worker_status(periods: Iterable, day: date) -> str:
    """The worker's status code on ``day`` from their periods (one of ``WORKER_STATUSES``)."""
    _period, status = status_today(periods, day)
    return status.code if status is not None else "tanpa"


def coverage_per_worker(day: date):
    """Per covered worker, from one pass over ``coverage`` (grouped on its worker index):
    ``active`` (1 when a period covers ``day``), ``future`` (1 when a period starts later),
    ``last_end`` (the last end of any period), ``active_end`` and ``contribution`` of the active
    period(s). Workers with no coverage at all have no row."""
    covers = and_(Coverage.start_date <= day, Coverage.end_date >= day)
    return (
        select(
            Coverage.worker_id.label("worker_id"),
            func.max(case((covers, 1), else_=0)).label("active"),
            func.max(case((Coverage.start_date > day, 1), else_=0)).label("future"),
            func.max(Coverage.end_date).label("last_end"),
            func.max(case((covers, Coverage.end_date), else_=None)).label("active_end"),
            func.max(case((covers, Coverage.monthly_contribution), else_=0)).label("contribution"),
        )
        .group_by(Coverage.worker_id)
        .subquery()
    )


def status_of(per):
    """The status code of a worker from its ``coverage_per_worker`` row (NULL row: "tanpa")."""
    # Inline constants, not bind parameters: PostgreSQL then types the CASE as text by itself.
    return case(
        (per.c.active == 1, literal_column("'aktif'")),
        (per.c.future == 1, literal_column("'belum_aktif'")),
        (per.c.worker_id.is_not(None), literal_column("'berakhir'")),
        else_=literal_column("'tanpa'"),
    )


def status_condition(code: str, day: date):
    """A condition on ``Worker``: the worker's status on ``day`` is ``code`` (``WORKER_STATUSES``)."""
    of_worker = Coverage.worker_id == Worker.id
    current = exists().where(of_worker, Coverage.start_date <= day, Coverage.end_date >= day)
    future = exists().where(of_worker, Coverage.start_date > day)
    any_period = exists().where(of_worker)
    return {
        "aktif": current,
        "belum_aktif": and_(~current, future),
        "berakhir": and_(any_period, ~current, ~future),
        "tanpa": ~any_period,
    }[code]
