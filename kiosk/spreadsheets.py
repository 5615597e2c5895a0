"""Tables written as spreadsheets (XLSX and CSV): the one writer for every export, report and
template the office downloads.

A ``Sheet`` is a title, its columns and its rows. Text a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading
apostrophe, so it stays text (CSV / formula injection); the import reads that apostrophe away.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable, Sequence

from .characters import writable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "DD-MM-YYYY"


@dataclass(frozen=True)
class Column:
    """A column: its ``title`` in the header row, and optionally its ``width`` (characters) and
    Excel ``number_format`` in XLSX ("@" keeps a NIK as text, never 1.60301E+15)."""

    title: str
    width: int | None = None
    number_format: str | None = None


@dataclass
class Sheet:
    """A titled table: ``columns`` (titles or ``Column``) and ``rows`` (any iterable of rows,
    read once, so an export can stream)."""

    title: str
    columns: Sequence[str | Column]
    rows: Iterable[Sequence[Any]] = field(default_factory=list)

    def column_list(self) -> list[Column]:
        return [c if isinstance(c, Column) else Column(str(c)) for c in self.columns]


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is kept as text; characters a workbook
    cannot hold (``characters.writable``: stored before the form cleaned them) are dropped."""
    if isinstance(value, str):
        value = writable(value)
        if value.startswith(FORMULA_START):
            return "'" + value
    return value


def _csv_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime("%d-%m-%Y")
    return safe_cell(value)


def to_csv(sheet: Sheet) -> bytes:
    """The sheet as UTF-8 CSV with a BOM (Excel then reads the accents and "–" right); dates as
    DD-MM-YYYY."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(c.title) for c in sheet.column_list()])
    for row in sheet.rows:
        writer.writerow([_csv_text(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(sheet: Sheet) -> bytes:
    """The sheet as an XLSX workbook: a bold, frozen header row, then one row per record, with
    each column's width and number format, and dates as DD-MM-YYYY."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    columns = sheet.column_list()
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet(str(sheet.title)[:31])
    ws.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        if column.width:
            ws.column_dimensions[get_column_letter(index)].width = column.width
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=safe_cell(column.title))  # an uploaded list's own headers too
        cell.font = bold
        header.append(cell)
    ws.append(header)
    formats = [c.number_format for c in columns]
    for row in sheet.rows:
        cells = []
        for index, value in enumerate(row):
            value = safe_cell(value)
            number_format = formats[index] if index < len(formats) else None
            if number_format is None and isinstance(value, date):
                number_format = DATE_FORMAT
            if number_format is None:
                cells.append(value)
            else:
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = number_format
                cells.append(cell)
        ws.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def write(sheet: Sheet, fmt: str) -> bytes:
    """The sheet as ``"xlsx"`` or ``"csv"``."""
    if fmt == "csv":
        return to_csv(sheet)
    if fmt == "xlsx":
        return to_xlsx(sheet)
    raise ValueError(f"unknown spreadsheet format {fmt!r}")
