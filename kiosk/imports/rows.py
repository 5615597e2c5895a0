"""From a file's table to the rows the checks read: the header row found among title rows (merged
cells, empty rows, header names in any case and their synonyms), and each cell as text (dates
as Excel dates or text, money as numbers or "Rp1.500.000")."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from ..i18n import _l
from .columns import DATE_KEYS, column_for, header_key
from .reading import HEADER_SEARCH_ROWS, MAX_ROWS, ImportFileError, UnknownColumns, _too_many_rows


# In a row's data: its NIK cell was a number (see checking: NIKs Excel cut).
NIK_FROM_NUMBER = "nik_from_number"


def find_header(rows: list[tuple[int, list[Any]]]) -> tuple[int, dict[int, str]]:
    """The index (in ``rows``) of the header row and its column -> field map."""
    for index, (_line, values) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        mapping = header_fields(values)
        keys = set(mapping.values())
        if "nik" in keys and ("name" in keys) and len(keys) >= 3:
            return index, mapping
    raise UnknownColumns(
        _l("Baris judul kolom tidak ditemukan. Baris judul harus memuat kolom NIK dan Nama Lengkap, "
           "ditambah kolom lain dari templat; unduh templat untuk contohnya.")
    )


def header_fields(values: list[Any]) -> dict[int, str]:
    """column -> field of the known column names in a row (the first column of each field)."""
    mapping: dict[int, str] = {}
    for col, value in enumerate(values):
        key = column_for(value)
        if key and key not in mapping.values():
            mapping[col] = key
    return mapping


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
        # A number cell. Sixteen digits are read as the NIK: whether Excel cut the last one
        # (it keeps 15, the 16th becomes 0) is told over the whole file (checking). Anything
        # else is shown as Excel shows it, and the NIK check explains it.
        if float(value).is_integer() and 10**15 <= value < 10**16:
            return str(int(value))
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


def rows_from_table(
    table: list[tuple[int, list[Any]]], header: tuple[int, dict[int, str]] | None = None
) -> tuple[list[tuple[int, dict]], list[str]]:
    """The data rows under the header as (line, {field: text}), and the fields found. ``header``:
    (index of the header row in ``table``, column -> field) as the clerk chose it; else the
    header is found by its column names (``UnknownColumns`` when none is)."""
    if not table:
        raise ImportFileError(_l("Berkas kosong. Pilih berkas Excel (.xlsx) atau CSV yang berisi data pekerja."))
    index, mapping = header if header is not None else find_header(table)
    nik_column = next((col for col, key in mapping.items() if key == "nik"), None)
    rows = []
    for line, values in table[index + 1 :]:
        data: dict[str, str] = {}
        for col, key in mapping.items():
            data[key] = _cell_text(key, values[col] if col < len(values) else None)
        if nik_column is not None and nik_column < len(values) and type(values[nik_column]) in (int, float):
            data[NIK_FROM_NUMBER] = "1"
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
