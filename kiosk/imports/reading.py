"""Reading an office's file: the rows of the first sheet of an XLSX or of a CSV, the header row
found among title rows (merged cells, empty rows, header names in any case and their synonyms),
and each cell as the text the checks read (dates as Excel dates or text, money as numbers or
"Rp1.500.000")."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from datetime import date, datetime
from typing import IO, Any

from ..i18n import _l
from .columns import DATE_KEYS, column_for, header_key

MAX_BYTES = 8 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 60
# An XLSX is a zip: refuse one that would unpack to far more than any real list (a zip bomb).
MAX_UNPACKED = 400 * 1024 * 1024
HEADER_SEARCH_ROWS = 15


class ImportFileError(Exception):
    """The file as a whole cannot be imported; ``message`` says why, in Indonesian."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


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
        if header_key(data.get("nik", "")) == "nik" or column_for(data.get("nik")) == "nik":
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
