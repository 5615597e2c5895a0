"""Importing and exporting the worker list as CSV or XLSX (the office's lists come as Excel).

An import runs in two steps. ``preview(file)`` reads the file, checks every row with the same
rules as the enroll form (``enrollment.validate_worker``) plus what only a file can get wrong
(the same NIK twice in it), and says for each row whether it will be added, will update the
worker already enrolled with that NIK, or is refused and why — writing nothing. ``commit``
then checks the rows again and writes every accepted row in one transaction, all or nothing.
Between the two, the parsed rows wait server-side under ``instance/imports/`` (``save`` /
``load``), never in the browser.

Real office files are tolerated: title rows above the header, merged cells, empty rows, header
names in any case/spacing and their usual synonyms ("Nama Lengkap", "NIK KTP", "No HP",
"Kec."), dates as Excel dates or text, money as numbers or "Rp1.500.000". ``export_xlsx`` /
``export_csv`` write the same columns, so an exported list can be corrected and imported back.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import secrets
import time
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Sequence

from flask import current_app
from .i18n import _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import coverage as coverage_rules
from . import enrollment
from . import nik as nik_rules
from . import wilayah
from .database import write_transaction
from .extensions import db
from .models import Coverage, Staff, Worker

MAX_BYTES = 8 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 60
# An XLSX is a zip: refuse one that would unpack to far more than any real list (a zip bomb).
MAX_UNPACKED = 400 * 1024 * 1024
HEADER_SEARCH_ROWS = 15
STORE_HOURS = 6
IN_CHUNK = 5_000
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")

# (key, header written in the template and the export, other names offices use)
COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("nik", "NIK", ("nik ktp", "no nik", "nomor nik", "no ktp", "nomor ktp", "nomor induk kependudukan")),
    ("name", "Nama Lengkap", ("nama", "nama peserta", "nama pekerja", "nama sesuai ktp", "nama tenaga kerja")),
    ("sex", "Jenis Kelamin", ("jk", "l/p", "kelamin", "gender", "jenis kelamin (l/p)", "sex")),
    ("birth_place", "Tempat Lahir", ("tmpt lahir", "tempat")),
    ("birth_date", "Tanggal Lahir", ("tgl lahir", "tgl. lahir", "tanggal lahir (dd-mm-yyyy)", "lahir")),
    ("place_and_date", "Tempat, Tanggal Lahir", ("ttl", "tempat/tanggal lahir", "tempat/tgl lahir", "tempat tgl lahir")),
    ("address", "Alamat", ("alamat lengkap", "alamat rumah", "dusun")),
    ("kecamatan", "Kecamatan", ("kec", "kec.", "kode kecamatan")),
    ("desa", "Desa/Kelurahan", ("desa", "kelurahan", "desa/kel", "desa / kelurahan", "kode desa")),
    ("occupation", "Pekerjaan", ("jenis pekerjaan", "profesi", "pekerjaan utama")),
    ("phone", "No. HP", ("no hp", "nomor hp", "hp", "no telp", "no telepon", "nomor telepon", "telepon", "no wa", "wa")),
    ("kpj", "No. KPJ", ("kpj", "nomor kpj", "no kartu bpjs", "nomor peserta")),
    ("income", "Penghasilan per Bulan", ("penghasilan", "penghasilan/bulan", "pendapatan", "upah", "penghasilan (rp)")),
    ("start", "Mulai Cakupan", ("mulai", "tanggal mulai", "tmt", "awal cakupan")),
    ("end", "Berakhir Cakupan", ("berakhir", "selesai", "tanggal berakhir", "akhir cakupan")),
)
TEMPLATE_KEYS = tuple(k for k, _h, _s in COLUMNS if k != "place_and_date")
HEADERS = {k: h for k, h, _s in COLUMNS}
REQUIRED_KEYS = ("nik", "name", "sex", "birth_date", "kecamatan", "desa", "occupation", "income")
DATE_KEYS = ("birth_date", "start", "end")
# The template's example row: refused if it is left in a real list.
EXAMPLE_ROW = {
    "nik": "1603011201850012", "name": "Contoh Budi Santoso", "sex": "L", "birth_place": "Muara Enim",
    "birth_date": "12-01-1985", "address": "Dusun II RT 003", "kecamatan": "Tanjung Agung",
    "desa": "", "occupation": "Pekebun karet", "phone": "0812-3456-7890", "kpj": "",
    "income": "Rp1.500.000", "start": "", "end": "",
}


def _header_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


_SYNONYMS: dict[str, str] = {}
for _key, _header, _others in COLUMNS:
    for _name in (_header, _key, *_others):
        _SYNONYMS.setdefault(_header_key(_name), _key)
# Longest first: "tempattanggallahir" must win over "tempat".
_PREFIXES = sorted(((s, k) for s, k in _SYNONYMS.items() if len(s) >= 3), key=lambda p: -len(p[0]))


def column_for(header: Any) -> str | None:
    """The field a header names ("Nama Lengkap", "NIK KTP", "Kec.") or ``None``."""
    if header is None:
        return None
    key = _header_key(str(header))
    if not key:
        return None
    if key in _SYNONYMS:
        return _SYNONYMS[key]
    for prefix, name in _PREFIXES:
        if key.startswith(prefix):
            return name
    return None


class ImportFileError(Exception):
    """The file as a whole cannot be imported; ``message`` says why, in Indonesian."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class ImportExpired(ImportFileError):
    """The stored preview is gone (expired, already imported, or someone else's)."""


class ImportChanged(Exception):
    """The data changed between preview and confirm; ``preview`` is the new one (saved)."""

    def __init__(self, preview: "ImportPreview"):
        super().__init__("import changed since preview")
        self.preview = preview


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
    """Every row with its action; ``counts`` per action and "total"; ``columns`` the fields
    found; ``missing`` the template columns the file lacks; ``token`` once saved."""

    rows: list[RowResult]
    counts: dict[str, int]
    columns: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    filename: str = ""
    token: str | None = None

    @property
    def accepted(self) -> int:
        """How many rows confirming would write."""
        return self.counts.get("add", 0) + self.counts.get("update", 0)


# ---- reading files ---------------------------------------------------------------------------

def _read_bytes(file: IO[bytes] | bytes) -> bytes:
    if isinstance(file, (bytes, bytearray)):
        data = bytes(file)
    else:
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            _l("Berkas terlalu besar (lebih dari %(mb)s MB). Bagi menjadi beberapa berkas.", mb=MAX_BYTES // 2**20)
        )
    if not data.strip():
        raise ImportFileError(_l("Berkas kosong. Pilih berkas Excel (.xlsx) atau CSV yang berisi data pekerja."))
    return data


def _not_a_sheet():
    return ImportFileError(
        _l("Berkas ini bukan lembar kerja yang bisa dibaca. Simpan dari Excel sebagai .xlsx atau CSV, lalu unggah lagi.")
    )


def read_table(file: IO[bytes] | bytes, filename: str = "") -> list[tuple[int, list[Any]]]:
    """The rows of the first sheet of an XLSX or of a CSV, as (line number, cell values),
    empty rows left out. The type is told by the content, not the file name. Raises
    ``ImportFileError`` with the reason for a file that cannot be read."""
    data = _read_bytes(file)
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(
            _l("Berkas .xls (Excel lama) belum bisa dibaca. Buka di Excel, simpan sebagai .xlsx, lalu unggah lagi.")
        )
    if filename.lower().endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        raise _not_a_sheet()
    return _read_csv(data)


def _merged_ranges(archive: zipfile.ZipFile, sheet_path: str) -> list[tuple[int, int, int, int]]:
    # openpyxl's read-only mode (needed for speed and memory) does not report merged cells, so
    # they are read from the sheet's XML: a kecamatan merged down several rows applies to each.
    from openpyxl.utils.cell import range_boundaries

    try:
        xml = archive.read(sheet_path.lstrip("/"))
    except KeyError:
        return []
    ranges = []
    for ref in re.findall(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+\d+:[A-Z]+\d+)"', xml):
        min_col, min_row, max_col, max_row = range_boundaries(ref.decode())
        ranges.append((min_row, min_col, max_row, max_col))
    return ranges


def _read_xlsx(data: bytes) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
            raise ImportFileError(_l("Berkas terlalu besar setelah dibuka. Bagi menjadi beberapa berkas."))
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ImportFileError:
        raise
    except Exception:  # noqa: BLE001 - any broken zip/XML is the same answer for the person
        raise _not_a_sheet() from None
    try:
        if not workbook.worksheets:
            raise _not_a_sheet()
        sheet = workbook.worksheets[0]
        merged = _merged_ranges(archive, getattr(sheet, "_worksheet_path", "") or "")
        fill: dict[int, list[tuple[int, tuple[int, int]]]] = {}  # row -> [(column, top-left cell)]
        anchors: set[tuple[int, int]] = set()
        for min_row, min_col, max_row, max_col in merged:
            if (max_row - min_row + 1) * (max_col - min_col + 1) > 200_000:
                continue
            anchors.add((min_row, min_col))
            for r in range(min_row, max_row + 1):
                for c in range(min_col, max_col + 1):
                    if (r, c) != (min_row, min_col):
                        fill.setdefault(r, []).append((c, (min_row, min_col)))
        anchor_values: dict[tuple[int, int], Any] = {}
        rows: list[tuple[int, list[Any]]] = []
        for line, values in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1):
            values = list(values)
            blank = not any(v is not None and str(v).strip() for v in values)
            if anchors:
                for c, value in enumerate(values, start=1):
                    if (line, c) in anchors:
                        anchor_values[(line, c)] = value
                for c, src in fill.get(line, ()):
                    while len(values) < c:
                        values.append(None)
                    values[c - 1] = anchor_values.get(src)
            if not blank:  # a row that only lies inside a merged cell is still an empty row
                rows.append((line, values))
                if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                    raise _too_many_rows()
        return rows
    except ImportFileError:
        raise
    except Exception:  # noqa: BLE001
        raise _not_a_sheet() from None
    finally:
        workbook.close()


def _too_many_rows():
    return ImportFileError(
        _l("Berkas terlalu banyak barisnya: paling banyak %(n)s baris per impor. Bagi menjadi beberapa berkas.",
           n=f"{MAX_ROWS:,}".replace(",", "."))
    )


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return data.decode("utf-16")
        raise _not_a_sheet()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _read_csv(data: bytes) -> list[tuple[int, list[Any]]]:
    text = _decode(data)
    if "\x00" in text or sum(ch < " " and ch not in "\r\n\t" for ch in text[:4096]) > 8:
        raise _not_a_sheet()
    sample = text[:8192]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
    rows = []
    try:
        for line, values in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            values = values[:MAX_COLUMNS]
            if any(v.strip() for v in values):
                rows.append((line, values))
                if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                    raise _too_many_rows()
    except csv.Error:
        raise _not_a_sheet() from None
    return rows


def _find_header(rows: list[tuple[int, list[Any]]]) -> tuple[int, dict[int, str]]:
    """The index (in ``rows``) of the header row and its column -> field map."""
    for index, (_line, values) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        mapping: dict[int, str] = {}
        for col, value in enumerate(values):
            key = column_for(value)
            if key and key not in mapping.values():
                mapping[col] = key
        keys = set(mapping.values())
        if "nik" in keys and ("name" in keys) and len(keys) >= 3:
            return index, mapping
    raise ImportFileError(
        _l("Baris judul kolom tidak ditemukan. Baris judul harus memuat kolom NIK dan Nama Lengkap, "
           "ditambah kolom lain dari templat; unduh templat untuk contohnya.")
    )


def _cell_text(key: str, value: Any) -> str:
    """A cell as the text the checks read: dates ISO, whole numbers without ".0", Excel's NIK
    numbers kept recognisable (the NIK check then explains what happened)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if key == "nik" and isinstance(value, (int, float)):
        # A number cell: Excel keeps 15 digits, so the NIK's last digit is already lost. Shown
        # as Excel shows it, the NIK check explains it.
        return f"{float(value):.5E}"
    if isinstance(value, float):
        if key in DATE_KEYS and 1 <= value < 100_000:
            return _excel_serial(value)
        if value.is_integer():
            value = int(value)
        else:
            return str(value)
    if isinstance(value, int):
        if key in DATE_KEYS and 1 <= value < 100_000:
            return _excel_serial(value)
        if key == "phone" and str(value).startswith("8"):
            return "0" + str(value)  # the leading 0 a number cell drops
        return str(value)
    text = " ".join(str(value).replace("\u00a0", " ").split())
    if text.startswith("'"):  # typed to keep Excel from reading a number; also what an export writes
        text = text[1:]
    if key in DATE_KEYS:
        text = re.sub(r"^(\d{4}-\d{2}-\d{2})[ T]00:00(:00)?$", r"\1", text)
    return text


def _excel_serial(value: float) -> str:
    from openpyxl.utils.datetime import from_excel

    try:
        moment = from_excel(value)
    except (ValueError, OverflowError):
        return str(value)
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


def _split_place_and_date(text: str) -> tuple[str, str]:
    # "Muara Enim, 12-01-1985" / "Muara Enim 12/01/1985"
    match = re.match(r"^(.*?)[,\s]+(\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4})$", text.strip())
    if match:
        return match.group(1).strip(" ,"), match.group(2)
    return text, ""


def rows_from_table(table: list[tuple[int, list[Any]]]) -> tuple[list[tuple[int, dict]], list[str]]:
    """The data rows under the header as (line, {field: text}), and the fields found."""
    if not table:
        raise ImportFileError(_l("Berkas kosong. Pilih berkas Excel (.xlsx) atau CSV yang berisi data pekerja."))
    index, mapping = _find_header(table)
    rows = []
    for line, values in table[index + 1 :]:
        data: dict[str, str] = {}
        for col, key in mapping.items():
            data[key] = _cell_text(key, values[col] if col < len(values) else None)
        combined = data.pop("place_and_date", "")
        if combined:
            place, day = _split_place_and_date(combined)
            data.setdefault("birth_place", "")
            data["birth_place"] = data["birth_place"] or place
            data["birth_date"] = data.get("birth_date") or day
        if not any(data.values()):
            continue
        if _header_key(data.get("nik", "")) == "nik" or column_for(data.get("nik")) == "nik":
            continue  # the header repeated (a sheet printed page by page)
        rows.append((line, data))
    if len(rows) > MAX_ROWS:
        raise _too_many_rows()
    if not rows:
        raise ImportFileError(_l("Berkas hanya berisi judul kolom, belum ada data pekerja."))
    found = set(mapping.values())
    if "place_and_date" in found:
        found |= {"birth_place", "birth_date"}
    return rows, sorted(found - {"place_and_date"})


# ---- checking rows ---------------------------------------------------------------------------

def _worker_values(worker: Worker) -> dict:
    """A worker as ``validate_worker`` input (an update row overlays its non-empty cells)."""
    return {
        "nik": worker.nik, "name": worker.name, "sex": worker.sex, "birth_place": worker.birth_place,
        "birth_date": worker.birth_date, "address": worker.address, "kecamatan": worker.kecamatan_code,
        "desa": worker.desa_code or worker.desa_name, "occupation": worker.occupation,
        "phone": worker.phone or "", "kpj": worker.kpj or "", "income": str(worker.income),
    }


def _chunks(items: Sequence, size: int = IN_CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_by_nik(niks: Iterable[str]) -> dict[str, Worker]:
    niks = sorted(set(niks))
    found: dict[str, Worker] = {}
    for chunk in _chunks(niks):
        for worker in db.session.scalars(select(Worker).where(Worker.nik.in_(chunk))):
            found[worker.nik] = worker
    return found


def _kpj_owners(kpjs: Iterable[str]) -> dict[str, tuple[int, str]]:
    kpjs = sorted(set(kpjs))
    owners: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(kpjs):
        for worker_id, kpj, name in db.session.execute(
            select(Worker.id, Worker.kpj, Worker.name).where(Worker.kpj.in_(chunk))
        ):
            owners[kpj] = (worker_id, name)
    return owners


def _periods_of(worker_ids: Iterable[int]) -> dict[int, list[tuple[date, date]]]:
    ids = sorted(set(worker_ids))
    periods: dict[int, list[tuple[date, date]]] = {}
    for chunk in _chunks(ids):
        for worker_id, start, end in db.session.execute(
            select(Coverage.worker_id, Coverage.start_date, Coverage.end_date).where(Coverage.worker_id.in_(chunk))
        ):
            periods.setdefault(worker_id, []).append((start, end))
    return periods


def _lines(lines: list[int]) -> str:
    return ", ".join(str(n) for n in lines[:5]) + (" …" if len(lines) > 5 else "")


def check_rows(rows: list[tuple[int, dict]], *, today: date | None = None) -> list[RowResult]:
    """Check parsed rows against the rules, against each other and against the database (in
    bulk: one look-up for all NIKs, one for all KPJs, one for the coverage of updated workers).
    Writes nothing."""
    today = today or coverage_rules.today_jakarta()
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

    results: list[RowResult] = []
    for line, data in rows:
        nik = niks.get(line, "")
        worker = existing.get(nik)
        values = dict(data)
        if worker is not None:
            values = _worker_values(worker)
            values.update({k: v for k, v in data.items() if v not in ("", None)})
        check = enrollment.validate_worker(values, existing=worker, check_database=False, today=today)
        row = RowResult(line=line, action="refuse", clean=check.clean, data=data,
                        worker_id=worker.id if worker is not None else None)
        for messages in check.errors.values():
            row.reasons.extend(messages)
        for messages in check.warnings.values():
            row.warnings.extend(messages)
        if nik == EXAMPLE_ROW["nik"]:
            row.reasons.insert(0, _l("Ini baris contoh dari templat. Hapus baris ini atau ganti dengan data sebenarnya."))
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
                    from .i18n import tanggal_id

                    row.reasons.append(_l(
                        "Periode cakupan bertumpang tindih dengan periode %(start)s – %(end)s yang sudah ada.",
                        start=tanggal_id(old_start), end=tanggal_id(old_end)))
                    break
        if not row.reasons:
            row.action = "update" if row.worker_id is not None else "add"
    return results


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


def _counts(results: list[RowResult]) -> dict[str, int]:
    counts = {"add": 0, "update": 0, "refuse": 0, "total": len(results)}
    for row in results:
        counts[row.action] += 1
    return counts


def preview(file: IO[bytes] | bytes, *, filename: str = "", today: date | None = None) -> ImportPreview:
    """Read a CSV/XLSX file and say, for every row, whether it will be added, update the worker
    with that NIK, or is refused and why. Writes nothing. Raises ``ImportFileError``."""
    rows, found = rows_from_table(read_table(file, filename))
    return _preview_of(rows, found, filename, today)


def _preview_of(rows, found, filename, today=None) -> ImportPreview:
    results = check_rows(rows, today=today)
    missing = [HEADERS[k] for k in REQUIRED_KEYS if k not in found]
    return ImportPreview(rows=results, counts=_counts(results), columns=found, missing=missing, filename=filename)


# ---- keeping a preview until it is confirmed -------------------------------------------------

def _store() -> Path:
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _purge(directory: Path) -> None:
    cutoff = time.time() - STORE_HOURS * 3600
    for old in directory.glob("*.json"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass


def save(result: ImportPreview, *, staff: Staff | None) -> str:
    """Keep the preview's rows server-side (``instance/imports/<token>.json``, readable only by
    the server, expiring after some hours) for ``load``/``commit``; returns the token."""
    directory = _store()
    _purge(directory)
    token = secrets.token_urlsafe(24)
    payload = {
        "staff_id": staff.id if staff is not None else None,
        "filename": result.filename,
        "columns": result.columns,
        "missing": result.missing,
        "rows": [
            {"line": r.line, "data": r.data, "action": r.action, "reasons": [str(m) for m in r.reasons],
             "warnings": [str(m) for m in r.warnings], "changes": r.changes, "nik": r.nik, "name": r.name}
            for r in result.rows
        ],
    }
    tmp = directory / f".{token}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, ensure_ascii=False, separators=(",", ":"))
    tmp.replace(directory / f"{token}.json")
    result.token = token
    return token


def _path_of(token: str) -> Path:
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        raise ImportExpired(_l("Pratinjau impor ini tidak ada lagi. Unggah berkasnya sekali lagi."))
    return _store() / f"{token}.json"


def load(token: str, *, staff: Staff | None) -> ImportPreview:
    """The preview saved under ``token`` for this staff member (rows with their stored
    action and reasons). Raises ``ImportExpired`` when it is gone, expired or someone else's."""
    path = _path_of(token)
    gone = ImportExpired(_l("Pratinjau impor ini tidak ada lagi. Unggah berkasnya sekali lagi."))
    try:
        if path.stat().st_mtime < time.time() - STORE_HOURS * 3600:
            path.unlink(missing_ok=True)
            raise gone
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise gone from None
    if payload.get("staff_id") != (staff.id if staff is not None else None):
        raise gone
    rows = [
        RowResult(line=r["line"], action=r["action"], reasons=r["reasons"], warnings=r["warnings"],
                  changes=r["changes"], data=r["data"], clean={"nik": r["nik"], "name": r["name"]})
        for r in payload["rows"]
    ]
    return ImportPreview(rows=rows, counts=_counts(rows), columns=payload["columns"], missing=payload["missing"],
                         filename=payload["filename"], token=token)


def discard(token: str) -> None:
    """Forget a saved preview (after it was imported, or cancelled)."""
    try:
        _path_of(token).unlink(missing_ok=True)
    except ImportExpired:
        pass


# ---- writing ---------------------------------------------------------------------------------

@dataclass
class ImportOutcome:
    """What ``commit`` wrote."""

    added: int
    updated: int
    refused: int


def commit(preview_or_token: ImportPreview | str, *, staff: Staff | None, today: date | None = None) -> ImportOutcome:
    """Write every accepted row of a preview (or of the preview saved under a token) in ONE
    transaction, audited: all rows or none. The rows are checked again first; when the answer
    changed since the preview (someone enrolled one of those NIKs meanwhile), nothing is
    written and ``ImportChanged`` carries the new preview (saved, with a new token)."""
    if isinstance(preview_or_token, str):
        shown = load(preview_or_token, staff=staff)
    else:
        shown = preview_or_token
    rows = [(r.line, r.data) for r in shown.rows]
    before = [(r.line, r.action) for r in shown.rows]
    try:
        with write_transaction():
            fresh = check_rows(rows, today=today)
            if [(r.line, r.action) for r in fresh] != before:
                raise ImportChanged(_preview_of(rows, shown.columns, shown.filename, today))
            workers = _existing_workers(fresh)
            added = _insert_new([r for r in fresh if r.action == "add"], staff)
            updated = 0
            for row in fresh:
                if row.action == "update":
                    worker = workers[row.worker_id]
                    enrollment.apply_update(worker, row.clean, staff=staff)
                    if row.coverage:
                        enrollment.insert_coverage(worker, staff=staff, **row.coverage)
                    updated += 1
    except ImportChanged as changed:
        if shown.token:
            discard(shown.token)
        save(changed.preview, staff=staff)
        raise
    except IntegrityError:
        raise ImportFileError(
            _l("Impor dibatalkan, tidak ada yang disimpan: sebagian NIK/KPJ baru saja didaftarkan petugas lain. "
               "Unggah berkasnya sekali lagi.")
        ) from None
    except enrollment.Refused as exc:
        raise ImportFileError(_l("Impor dibatalkan, tidak ada yang disimpan: %(why)s", why=exc.message)) from None
    if shown.token:
        discard(shown.token)
    return ImportOutcome(added=added, updated=updated, refused=len(fresh) - added - updated)


def _insert_new(rows: list[RowResult], staff: Staff | None) -> int:
    """Add the new workers (and their first periods) with their audit events, as
    ``enrollment.insert_worker`` does one by one, but flushed in a few batched INSERTs: a
    10,000-row import then holds the write lock for a second or two, not for 10,000 flushes."""
    from .audit import record, snapshot

    by = staff.id if staff is not None else None
    workers = [
        Worker(**{k: row.clean[k] for k in enrollment.WORKER_FIELDS if k in row.clean}, created_by_id=by)
        for row in rows
    ]
    db.session.add_all(workers)
    db.session.flush()
    periods = []
    for worker, row in zip(workers, rows):
        record("create", worker, after=snapshot(worker, enrollment.WORKER_FIELDS), staff=staff)
        if row.coverage:
            codes = tuple(row.coverage["programmes"])
            periods.append(Coverage(
                worker_id=worker.id, jkk="JKK" in codes, jkm="JKM" in codes, jht="JHT" in codes,
                start_date=row.coverage["start"], end_date=row.coverage["end"], funder=row.coverage["funder"],
                income_basis=worker.income,
                monthly_contribution=int(coverage_rules.monthly_contribution(worker.income, codes).total),
                created_by_id=by,
            ))
    if periods:
        db.session.add_all(periods)
        db.session.flush()
        for period in periods:
            record("create", period, after=snapshot(period, enrollment.COVERAGE_FIELDS), staff=staff)
    db.session.flush()
    return len(workers)


def _existing_workers(results: list[RowResult]) -> dict[int, Worker]:
    ids = sorted({r.worker_id for r in results if r.action == "update"})
    found: dict[int, Worker] = {}
    for chunk in _chunks(ids):
        for worker in db.session.scalars(select(Worker).where(Worker.id.in_(chunk))):
            found[worker.id] = worker
    return found


# ---- template and export ---------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is kept as text (CSV/formula injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _xlsx(header: Sequence[str], rows: Iterable[Sequence[Any]], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet(title[:31])
    ws.freeze_panes = "A2"
    for index, key in enumerate(header_keys := [k for k in header]):
        ws.column_dimensions[_column_letter(index)].width = 24 if key in ("name", "address", "desa") else 16
    bold = Font(bold=True)
    cells = []
    for key in header_keys:
        cell = WriteOnlyCell(ws, value=HEADERS.get(key, key))
        cell.font = bold
        cells.append(cell)
    ws.append(cells)
    for values in rows:
        out = []
        for key, value in zip(header_keys, values):
            cell = WriteOnlyCell(ws, value=safe_cell(value))
            if key in ("nik", "kpj", "phone"):
                cell.number_format = "@"  # Excel must not turn a NIK into 1.60301E+15
            elif isinstance(value, date):
                cell.number_format = "DD-MM-YYYY"
            elif key == "income":
                cell.number_format = "#,##0"
            out.append(cell)
        ws.append(out)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([HEADERS.get(k, k) for k in header])
    for values in rows:
        writer.writerow([
            "" if v is None else v.strftime("%d-%m-%Y") if isinstance(v, date) else safe_cell(v) for v in values
        ])
    # The BOM makes Excel read the file as UTF-8 (names with accents, "–").
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template(fmt: str = "xlsx") -> bytes:
    """The import template: the exact column headers and one example row, as XLSX (default)
    or CSV (UTF-8 with BOM)."""
    kec = wilayah.kecamatan_by_name(EXAMPLE_ROW["kecamatan"]) or wilayah.kecamatan_list()[0]
    desa = wilayah.desa_list(kec.code)
    example = dict(EXAMPLE_ROW, kecamatan=kec.name, desa=desa[0].name if desa else "")
    row = [example[k] for k in TEMPLATE_KEYS]
    if fmt == "csv":
        return _csv(TEMPLATE_KEYS, [row])
    return _xlsx(TEMPLATE_KEYS, [row], "Pekerja")


EXPORT_KEYS = TEMPLATE_KEYS + ("status",)
HEADERS["status"] = "Status Cakupan Hari Ini"


def export_rows(query, *, day: date | None = None) -> Iterator[list[Any]]:
    """The export's rows for a ``SELECT worker`` query (e.g. ``listing.filtered_query``), in its
    order: the template's columns with the latest coverage period, and today's status."""
    from .phone import display_phone

    day = day or coverage_rules.today_jakarta()
    kecamatan = {k.code: k.name for k in wilayah.kecamatan_list()}
    batch: list[Worker] = []

    def flush(workers: list[Worker]) -> Iterator[list[Any]]:
        periods: dict[int, list[Coverage]] = {}
        for period in db.session.scalars(select(Coverage).where(Coverage.worker_id.in_([w.id for w in workers]))):
            periods.setdefault(period.worker_id, []).append(period)
        for w in workers:
            chosen, status = enrollment.status_today(periods.get(w.id, []), day)
            latest = max(periods.get(w.id, []), key=lambda p: p.end_date, default=None)
            yield [
                w.nik, w.name, w.sex, w.birth_place, w.birth_date, w.address,
                kecamatan.get(w.kecamatan_code, w.kecamatan_code), w.desa_name, w.occupation,
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


def export_xlsx(query, *, day: date | None = None) -> bytes:
    """The workers of ``query`` as an XLSX workbook (full NIK: for staff only)."""
    return _xlsx(EXPORT_KEYS, export_rows(query, day=day), "Pekerja")


def export_csv(query, *, day: date | None = None) -> bytes:
    """The workers of ``query`` as CSV, UTF-8 with a BOM for Excel (full NIK: for staff only)."""
    return _csv(EXPORT_KEYS, export_rows(query, day=day))
