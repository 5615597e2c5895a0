"""The import template and the export of the worker list: the same columns both ways, so an
exported list can be corrected and imported back. Written by ``kiosk.spreadsheets`` (formula
guard, NIK kept as text)."""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy import select

from .. import coverage as coverage_rules
from .. import spreadsheets, wilayah
from ..extensions import db
from ..i18n import _l
from ..models import Coverage, Worker
from .columns import EXAMPLE_ROW, HEADERS, TEMPLATE_KEYS

EXPORT_KEYS = TEMPLATE_KEYS + ("status",)
STATUS_HEADER = "Status Cakupan Hari Ini"
TEXT_KEYS = ("nik", "kpj", "phone")  # Excel must not turn a NIK into 1.60301E+15
WIDE_KEYS = ("name", "address", "desa")


def _column(key: str) -> spreadsheets.Column:
    return spreadsheets.Column(
        HEADERS.get(key, STATUS_HEADER if key == "status" else key),
        width=24 if key in WIDE_KEYS else 16,
        number_format="@" if key in TEXT_KEYS else "#,##0" if key == "income" else None,
    )


def _write(keys: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str) -> bytes:
    return spreadsheets.write(spreadsheets.Sheet("Pekerja", [_column(k) for k in keys], rows), fmt)


def template(fmt: str = "xlsx") -> bytes:
    """The import template: the exact column headers and one example row, as XLSX (default)
    or CSV (UTF-8 with BOM)."""
    kec = wilayah.kecamatan_by_name(EXAMPLE_ROW["kecamatan"]) or wilayah.kecamatan_list()[0]
    desa = wilayah.desa_list(kec.code)
    example = dict(EXAMPLE_ROW, kecamatan=kec.name, desa=desa[0].name if desa else "")
    return _write(TEMPLATE_KEYS, [[example[k] for k in TEMPLATE_KEYS]], "csv" if fmt == "csv" else "xlsx")


def export_rows(query, *, day: date | None = None, masked: bool = False) -> Iterator[list[Any]]:
    """The export's rows for a ``SELECT worker`` query (e.g. ``listing.filtered_query``), in its
    order: the template's columns with the latest coverage period, and today's status. ``masked``
    (a petugas's export, ``kiosk.downloads``): the NIK masked and no birth date."""
    from ..nik import mask_nik
    from ..phone import display_phone

    day = day or coverage_rules.today_jakarta()
    batch: list[Worker] = []

    def flush(workers: list[Worker]) -> Iterator[list[Any]]:
        periods: dict[int, list[Coverage]] = {}
        for period in db.session.scalars(select(Coverage).where(Coverage.worker_id.in_([w.id for w in workers]))):
            periods.setdefault(period.worker_id, []).append(period)
        for w in workers:
            chosen, status = coverage_rules.status_today(periods.get(w.id, []), day)
            latest = max(periods.get(w.id, []), key=lambda p: p.end_date, default=None)
            yield [
                mask_nik(w.nik) if masked else w.nik, w.name, w.sex, w.birth_place,
                None if masked else w.birth_date, w.address,
                wilayah.kecamatan_name(w.kecamatan_code), w.desa_name, w.occupation,
                display_phone(w.phone) if w.phone else "", w.kpj or "", w.income,
                latest.start_date if latest else None, latest.end_date if latest else None,
                str(status.label) if status else str(_l("Belum ada cakupan")),
            ]

    for worker in db.session.scalars(query.execution_options(yield_per=1000)):
        batch.append(worker)
        if len(batch) >= 1000:
            yield from flush(batch)
            batch = []
    if batch:
        yield from flush(batch)


def export_xlsx(query, *, day: date | None = None, masked: bool = False) -> bytes:
    """The workers of ``query`` as an XLSX workbook (``masked``: see ``export_rows``)."""
    return _write(EXPORT_KEYS, export_rows(query, day=day, masked=masked), "xlsx")


def export_csv(query, *, day: date | None = None, masked: bool = False) -> bytes:
    """The workers of ``query`` as CSV, UTF-8 with a BOM for Excel (``masked``: see ``export_rows``)."""
    return _write(EXPORT_KEYS, export_rows(query, day=day, masked=masked), "csv")
