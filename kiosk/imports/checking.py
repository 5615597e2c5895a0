"""Checking the rows of a file, writing nothing: the same rules as the enroll form
(``enrollment.validate_worker``) plus what only a file can get wrong (the same NIK or KPJ twice
in it, the template's example row, a coverage period overlapping one already recorded). Each row
will be added, will update the worker enrolled with that NIK, or is refused, and says why.

Lists as offices send them: a new worker without an income gets the base income (the setting
``base_income``, Rp1.000.000) with a note; a new worker who is probably someone already
enrolled, or an earlier row of the file, under another NIK (``kiosk.duplicates``) is held
until staff confirm "orang berbeda" with a reason (``different``), which is recorded when the
import is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import IO, Iterable, Iterator, Sequence

from sqlalchemy import select

from .. import coverage as coverage_rules
from .. import duplicates, enrollment
from .. import nik as nik_rules
from .. import settings
from ..extensions import db
from ..i18n import _l, tanggal_indonesian
from ..models import Coverage, Worker
from .columns import EXAMPLE_ROW, HEADERS, REQUIRED_KEYS
from .reading import read_table
from .rows import NIK_FROM_NUMBER, rows_from_table

IN_CHUNK = 5_000
# This many 16-digit NIKs typed as text, all ending in 0, were cut by Excel (by chance: 1 in 10^5).
CUT_NIKS_AT_LEAST = 5


@dataclass
class RowResult:
    """One row of the file: its line number in the sheet, ``action`` ("add", "update",
    "refuse"), the ``reasons`` it is refused, ``warnings``, the fields an update would
    ``changes``, the ``clean`` values, and the ``data`` as read (strings)."""

    line: int
    action: str
    reasons: list = field(default_factory=list)
    clean: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    data: dict = field(default_factory=dict)
    coverage: dict | None = None
    worker_id: int | None = None
    # Probably the same person as an enrolled worker or an earlier row (duplicates.Probable).
    probable: list = field(default_factory=list)
    # Staff confirmed "orang berbeda" for the probable duplicates, with this reason.
    different: str | None = None
    # The income was empty: the base income was used.
    base_income: bool = False

    @property
    def held(self) -> bool:
        """Refused only because it is probably someone already listed: "orang berbeda" frees it."""
        return bool(self.probable) and self.different is None and self.action == "refuse"

    @property
    def nik(self) -> str:
        """The NIK as cleaned, else as typed."""
        return self.clean.get("nik") or str(self.data.get("nik") or "")

    @property
    def name(self) -> str:
        """The name as cleaned, else as typed."""
        return self.clean.get("name") or str(self.data.get("name") or "")


@dataclass
class ImportPreview:
    """Every row with its action; ``counts`` per action, "total", "held" (probable duplicates
    waiting for "orang berbeda") and "base_income" (rows given the base income); ``columns``
    the fields found; ``missing`` the template columns the file lacks; ``token`` once saved."""

    rows: list[RowResult]
    counts: dict[str, int]
    columns: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    filename: str = ""
    token: str | None = None
    # The stored upload (kiosk.imports.uploads), the header row's line and texts, and the field
    # of each column (None: not used).
    upload: str | None = None
    header_line: int | None = None
    header: list[str] = field(default_factory=list)
    fields: list[str | None] = field(default_factory=list)

    @property
    def unused(self) -> list[str]:
        """The named columns of the file that no field reads."""
        return [name for col, name in enumerate(self.header)
                if name and (col >= len(self.fields) or self.fields[col] is None)]

    @property
    def accepted(self) -> int:
        """How many rows confirming would write."""
        return self.counts.get("add", 0) + self.counts.get("update", 0)


def _worker_values(worker: Worker) -> dict:
    """A worker as ``validate_worker`` input (an update row overlays its non-empty cells)."""
    return {
        "nik": worker.nik, "name": worker.name, "sex": worker.sex, "birth_place": worker.birth_place,
        "birth_date": worker.birth_date, "address": worker.address, "kecamatan": worker.kecamatan_code,
        "desa": worker.desa_code or worker.desa_name, "occupation": worker.occupation,
        "phone": worker.phone or "", "kpj": worker.kpj or "", "income": str(worker.income),
    }


def chunks(items: Sequence, size: int = IN_CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_by_nik(niks: Iterable[str]) -> dict[str, Worker]:
    niks = sorted(set(niks))
    found: dict[str, Worker] = {}
    for chunk in chunks(niks):
        for worker in db.session.scalars(select(Worker).where(Worker.nik.in_(chunk))):
            found[worker.nik] = worker
    return found


def _kpj_owners(kpjs: Iterable[str]) -> dict[str, tuple[int, str]]:
    kpjs = sorted(set(kpjs))
    owners: dict[str, tuple[int, str]] = {}
    for chunk in chunks(kpjs):
        for worker_id, kpj, name in db.session.execute(
            select(Worker.id, Worker.kpj, Worker.name).where(Worker.kpj.in_(chunk))
        ):
            owners[kpj] = (worker_id, name)
    return owners


def _periods_of(worker_ids: Iterable[int]) -> dict[int, list[tuple[date, date]]]:
    ids = sorted(set(worker_ids))
    periods: dict[int, list[tuple[date, date]]] = {}
    for chunk in chunks(ids):
        for worker_id, start, end in db.session.execute(
            select(Coverage.worker_id, Coverage.start_date, Coverage.end_date).where(Coverage.worker_id.in_(chunk))
        ):
            periods.setdefault(worker_id, []).append((start, end))
    return periods


def _lines(lines: list[int]) -> str:
    return ", ".join(str(n) for n in lines[:5]) + (" …" if len(lines) > 5 else "")


def base_income() -> int:
    """The income a new worker without one gets (the setting, at least the BPJS floor)."""
    return int(settings.get("base_income"))


def check_rows(
    rows: list[tuple[int, dict]], *, today: date | None = None, different: dict[int, str] | None = None
) -> list[RowResult]:
    """Check parsed rows against the rules, against each other and against the database (in
    bulk: one look-up for all NIKs, one for all KPJs, one for the coverage of updated workers,
    two for probable duplicates). ``different``: line -> reason, the rows staff confirmed are
    not the probable duplicates found. Writes nothing."""
    from ..rupiah import format_rupiah

    today = today or coverage_rules.today_jakarta()
    different = different or {}
    base = base_income()
    niks: dict[int, str] = {}
    by_nik: dict[str, list[int]] = {}
    for line, data in rows:
        try:
            nik = nik_rules.normalize_nik(data.get("nik"))
        except nik_rules.NikError:
            continue
        if nik:
            niks[line] = nik
            by_nik.setdefault(nik, []).append(line)
    existing = _existing_by_nik(n for n in by_nik if len(n) == 16 and n.isdigit())
    cut = _niks_cut_by_excel(rows, niks)

    results: list[RowResult] = []
    for line, data in rows:
        nik = niks.get(line, "")
        worker = existing.get(nik)
        values = dict(data)
        if worker is not None:
            values = _worker_values(worker)
            values.update({k: v for k, v in data.items() if v not in ("", None)})
        no_income = worker is None and not str(values.get("income") or "").strip()
        if no_income:
            values["income"] = str(base)
        check = enrollment.validate_worker(values, existing=worker, check_database=False, today=today)
        row = RowResult(line=line, action="refuse", clean=check.clean, data=data,
                        worker_id=worker.id if worker is not None else None, base_income=no_income)
        for messages in check.errors.values():
            row.reasons.extend(messages)
        if no_income:
            row.warnings.append(_l("Penghasilan tidak diisi: dipakai penghasilan dasar %(amount)s.",
                                   amount=format_rupiah(base)))
        for messages in check.warnings.values():
            row.warnings.extend(messages)
        if nik == EXAMPLE_ROW["nik"]:
            row.reasons.insert(0, _l("Ini baris contoh dari templat. Hapus baris ini atau ganti dengan data sebenarnya."))
        if line in cut:
            row.reasons.insert(0, cut[line])
        if nik and len(by_nik.get(nik, [])) > 1:
            others = [n for n in by_nik[nik] if n != line]
            row.reasons.insert(0, _l("NIK ini muncul lebih dari sekali dalam berkas (juga di baris %(lines)s).",
                                     lines=_lines(others)))
        _check_coverage(row, data)
        if worker is not None:
            row.changes = [
                k for k in enrollment.WORKER_FIELDS
                if k in row.clean and k != "photo" and row.clean[k] != getattr(worker, k)
            ]
        results.append(row)

    kpj_lines: dict[str, list[int]] = {}
    for row in results:
        kpj = row.clean.get("kpj")
        if kpj:
            kpj_lines.setdefault(kpj, []).append(row.line)
    owners = _kpj_owners(kpj_lines)
    update_ids = [r.worker_id for r in results if r.worker_id is not None and r.coverage]
    periods = _periods_of(update_ids) if update_ids else {}
    for row in results:
        kpj = row.clean.get("kpj")
        if kpj and len(kpj_lines[kpj]) > 1:
            others = [n for n in kpj_lines[kpj] if n != row.line]
            row.reasons.append(_l("Nomor KPJ ini muncul lebih dari sekali dalam berkas (juga di baris %(lines)s).",
                                  lines=_lines(others)))
        owner = owners.get(kpj) if kpj else None
        if owner is not None and owner[0] != row.worker_id:
            row.reasons.append(_l("Nomor KPJ ini sudah dipakai %(name)s.", name=owner[1]))
        if row.coverage and row.worker_id is not None:
            start, end = row.coverage["start"], row.coverage["end"]
            for old_start, old_end in periods.get(row.worker_id, []):
                if (old_start, old_end) == (start, end):
                    row.coverage = None  # already recorded: importing the same list twice adds nothing
                    break
                if old_start <= end and old_end >= start:
                    row.reasons.append(_l(
                        "Periode cakupan bertumpang tindih dengan periode %(start)s – %(end)s yang sudah ada.",
                        start=tanggal_indonesian(old_start), end=tanggal_indonesian(old_end)))
                    break
        if not row.reasons:
            row.action = "update" if row.worker_id is not None else "add"
    _hold_probable_duplicates(results, different)
    return results


def _niks_cut_by_excel(rows: list[tuple[int, dict]], niks: dict[int, str]) -> dict:
    """line -> refusal for the NIKs Excel cut. Excel keeps 15 digits of a number, so a NIK
    stored as a number ends in 0: when every NIK number of the file ends in 0 they were cut
    (one that does not shows the numbers came whole from elsewhere). A CSV saved from Excel
    holds the cut NIK as text: when at least CUT_NIKS_AT_LEAST text NIKs all end in 0, so were
    they."""
    numbers = [line for line, data in rows if data.get(NIK_FROM_NUMBER) and len(niks.get(line, "")) == 16]
    texts = [line for line, data in rows if not data.get(NIK_FROM_NUMBER) and len(niks.get(line, "")) == 16]
    cut: dict = {}
    if numbers and all(niks[line].endswith("0") for line in numbers):
        for line in numbers:
            cut[line] = _l("NIK tersimpan sebagai angka di Excel, yang hanya menyimpan 15 angka: angka terakhirnya "
                           "menjadi 0 (%(nik)s). Ubah format kolom NIK menjadi Teks, lalu ketik ulang NIK dari KTP.",
                           nik=niks[line])
    if len(texts) >= CUT_NIKS_AT_LEAST and all(niks[line].endswith("0") for line in texts):
        for line in texts:
            cut[line] = _l("Semua NIK di berkas ini berakhiran 0 (%(n)s baris): Excel memotong angka terakhirnya "
                           "sebelum berkas disimpan. Ubah format kolom NIK menjadi Teks, ketik ulang NIK dari KTP, "
                           "lalu simpan lagi.", n=len(texts))
    return cut


def _hold_probable_duplicates(results: list[RowResult], different: dict[int, str]) -> None:
    """New workers who are probably someone enrolled, or an earlier new row, under another NIK
    wait for "orang berbeda" (``different``); the rest go ahead."""
    adding = [r for r in results if r.action == "add"]
    found = duplicates.in_rows((r.line, r.clean) for r in adding)
    for row in adding:
        probable = found.get(row.line)
        if not probable:
            continue
        row.probable = probable
        reason = different.get(row.line)
        if reason:
            row.different = reason
            row.warnings.append(_l("Dikonfirmasi orang berbeda: %(reason)s", reason=reason))
        else:
            row.action = "refuse"
            row.reasons.extend(p.message for p in probable)


def _check_coverage(row: RowResult, data: dict) -> None:
    start, end = data.get("start", ""), data.get("end", "")
    if not start and not end:
        return
    if not start:
        row.reasons.append(_l("Tanggal berakhir cakupan diisi tanpa tanggal mulai."))
        return
    check = enrollment.validate_coverage({"start": start, "end": end})
    if check.ok:
        row.coverage = {"start": check.clean["start"], "end": check.clean["end"],
                        "programmes": check.clean["programmes"], "funder": check.clean["funder"]}
    else:
        for messages in check.errors.values():
            row.reasons.extend(messages)


def counts(results: list[RowResult]) -> dict[str, int]:
    counts = {"add": 0, "update": 0, "refuse": 0, "total": len(results), "held": 0, "base_income": 0}
    for row in results:
        counts[row.action] += 1
        counts["held"] += row.held
        counts["base_income"] += row.base_income and row.action == "add"
    return counts


def preview(file: IO[bytes] | bytes, *, filename: str = "", today: date | None = None) -> ImportPreview:
    """Read a CSV/XLSX file and say, for every row, whether it will be added, update the worker
    with that NIK, or is refused and why. Writes nothing. Raises ``ImportFileError`` (and
    ``UnknownColumns`` when no header row is known)."""
    return preview_table(read_table(file, filename), filename=filename, today=today)


def preview_table(table, *, filename: str = "", today: date | None = None,
                  header: tuple[int, dict[int, str]] | None = None) -> ImportPreview:
    """``preview`` of a table already read; ``header``: (index of the header row, column ->
    field) as the clerk chose it, else the remembered or known column names."""
    from .mappings import header_for

    index, columns = header or header_for(table)
    rows, found = rows_from_table(table, (index, columns))
    result = preview_of(rows, found, filename, today)
    line, values = table[index]
    result.header_line = line
    result.header = [" ".join(str(v).split()) if v is not None else "" for v in values]
    result.fields = [columns.get(col) for col in range(max(len(values), max(columns, default=-1) + 1))]
    return result


def preview_of(rows, found, filename, today=None, different=None) -> ImportPreview:
    results = check_rows(rows, today=today, different=different)
    # Not refusals: a missing income column (every new worker gets the base income), a missing
    # kecamatan column beside a desa column (each desa names its kecamatan).
    optional = {"income"} | ({"kecamatan"} if "desa" in found else set())
    missing = [HEADERS[k] for k in REQUIRED_KEYS if k not in found and k not in optional]
    return ImportPreview(rows=results, counts=counts(results), columns=found, missing=missing, filename=filename)
