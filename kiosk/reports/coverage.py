"""The coverage report and its figures: workers per coverage status on a day (active, not yet
active, ended, never covered; the rule and its SQL are in ``kiosk.coverage``), counted per
kecamatan or occupation, filtered into a list, and as a sheet for XLSX/CSV. Aggregated in SQL so
it stays cheap at 100,000 workers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, case, func, select

from ..coverage import STATUS_LABELS as PERIOD_STATUS_LABELS
from ..coverage import WORKER_STATUSES as STATUSES
from ..coverage import coverage_per_worker, status_of, today_jakarta
from ..extensions import db
from ..i18n import _l, indonesian
from ..models import Worker
from ..spreadsheets import Sheet
from ..wilayah import kecamatan_name

STATUS_LABELS = {**PERIOD_STATUS_LABELS, "tanpa": _l("Belum terdaftar")}


def ending_soon(per, day: date, within: int):
    """True for an active worker whose coverage ends within ``within`` days with no renewal
    (a later period) already in place."""
    return and_(per.c.active == 1, per.c.future == 0, per.c.active_end <= day + timedelta(days=within))


@dataclass
class StatusCount:
    """How many workers of one group (a kecamatan, an occupation) are in each status."""

    key: str
    label: str
    aktif: int = 0
    belum_aktif: int = 0
    berakhir: int = 0
    tanpa: int = 0
    ending_soon: int = 0

    @property
    def total(self) -> int:
        return self.aktif + self.belum_aktif + self.berakhir + self.tanpa


def coverage_summary(day: date | None = None, by: str = "kecamatan", ending_within: int = 14) -> list[StatusCount]:
    """Workers per status, grouped by ``kecamatan`` or ``occupation``, with how many active
    coverages end within ``ending_within`` days without a renewal (to renew). Sorted by label.

    Two aggregate queries (covered workers by status; all workers), never a loop over workers."""
    day = day or today_jakarta()
    per = coverage_per_worker(day)
    column = Worker.kecamatan_code if by == "kecamatan" else Worker.occupation
    status = status_of(per)
    counts = [func.sum(case((status == code, 1), else_=0)) for code in STATUSES[:3]]
    ending = func.sum(case((ending_soon(per, day, ending_within), 1), else_=0))
    covered = {
        key: row for key, *row in db.session.execute(
            select(column, *counts, ending).select_from(per).join(Worker, Worker.id == per.c.worker_id).group_by(column)
        )
    }
    out = []
    for key, total in db.session.execute(select(column, func.count(Worker.id)).group_by(column)):
        aktif, belum, berakhir, ending_n = (int(v or 0) for v in covered.get(key, (0, 0, 0, 0)))
        label = kecamatan_name(key) if by == "kecamatan" else (key or indonesian("(tidak diisi)"))
        out.append(StatusCount(key or "", label, aktif, belum, berakhir, int(total) - aktif - belum - berakhir, ending_n))
    return sorted(out, key=lambda s: s.label.lower())


@dataclass
class CoverageFilter:
    """What the coverage report lists: a status, coverage ending within N days, a kecamatan, an
    occupation (each optional)."""

    status: str = ""
    ending_within: int | None = None
    kecamatan_code: str = ""
    occupation: str = ""


def coverage_query(day: date, filters: CoverageFilter):
    """The SELECT behind the coverage report: one row per worker matching ``filters``."""
    per = coverage_per_worker(day)
    status = status_of(per)
    query = (
        select(Worker.nik, Worker.kpj, Worker.name, Worker.kecamatan_code, Worker.desa_name,
               Worker.occupation, Worker.phone, status.label("status"), per.c.last_end)
        .select_from(Worker)
        .outerjoin(per, per.c.worker_id == Worker.id)
        .order_by(Worker.kecamatan_code, Worker.desa_name, Worker.name, Worker.id)
    )
    if filters.status in STATUSES:
        query = query.where(status == filters.status)
    if filters.ending_within is not None:
        query = query.where(ending_soon(per, day, filters.ending_within))
    if filters.kecamatan_code:
        query = query.where(Worker.kecamatan_code == filters.kecamatan_code)
    if filters.occupation:
        query = query.where(Worker.occupation == filters.occupation)
    return query


def coverage_count(day: date, filters: CoverageFilter) -> int:
    """How many workers the coverage report lists for ``filters``."""
    return db.session.scalar(select(func.count()).select_from(coverage_query(day, filters).order_by(None).subquery())) or 0


def coverage_sheet(day: date | None, filters: CoverageFilter) -> Sheet:
    """The coverage report (who is covered, until when, days left) as a table for XLSX/CSV."""
    day = day or today_jakarta()
    columns = [indonesian(c) for c in ("No.", "NIK", "KPJ", "Nama", "Kecamatan", "Desa", "Pekerjaan", "Telepon",
                                       "Status", "Berakhir", "Sisa hari")]
    rows = []
    for i, (nik, kpj, name, kec, desa, occupation, phone, status, last_end) in enumerate(
        db.session.execute(coverage_query(day, filters)), 1
    ):
        days_left = (last_end - day).days if status == "aktif" and last_end else None
        rows.append([i, nik, kpj or "", name, kecamatan_name(kec), desa or "", occupation or "", phone or "",
                     STATUS_LABELS[status].indonesian, last_end.isoformat() if last_end else "", days_left])
    return Sheet(indonesian("Cakupan"), columns, rows)


def occupations() -> list[str]:
    """The occupations workers declared, for the report filter."""
    return [o for o in db.session.scalars(select(Worker.occupation).distinct().order_by(Worker.occupation)) if o]


def kecamatan_codes() -> list[tuple[str, str]]:
    """(code, name) of the kecamatan that have workers, by name."""
    codes = db.session.scalars(select(Worker.kecamatan_code).distinct())
    return sorted(((c, kecamatan_name(c)) for c in codes if c), key=lambda cn: cn[1].lower())
