"""Which column is which, when the app does not know a file's column names: the clerk says so
on the page *Atur kolom*, and the choice is remembered in the database for the next file with
the same header row (every server sees it)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..database import utcnow, write_transaction
from ..extensions import db
from ..i18n import _l
from ..models import ColumnMapping, Staff
from .columns import COLUMNS, header_key
from .reading import HEADER_SEARCH_ROWS, MAX_COLUMNS, UnknownColumns
from .rows import find_header, header_fields

# The fields a column can be, in the template's order ("place_and_date": "Tempat, Tanggal Lahir").
FIELDS = tuple(key for key, _header, _others in COLUMNS)
REQUIRED = ("nik", "name")


def signature(values: list[Any]) -> str:
    """The header row as remembered: its column names normalised (case, spacing, punctuation),
    empty trailing cells left out, hashed."""
    keys = [header_key(str(v)) if v is not None else "" for v in values[:MAX_COLUMNS]]
    while keys and not keys[-1]:
        keys.pop()
    return hashlib.sha256("\x1f".join(keys).encode("utf-8")).hexdigest()


def remembered(table: list[tuple[int, list[Any]]]) -> tuple[int, dict[int, str]] | None:
    """(index of the header row, column -> field) from a mapping a clerk gave for a file with
    the same header row as one of the first rows of ``table``; one query."""
    candidates = {signature(values): index for index, (_line, values) in enumerate(table[:HEADER_SEARCH_ROWS])}
    if not candidates:
        return None
    found = {m.signature: m.columns for m in
             db.session.scalars(select(ColumnMapping).where(ColumnMapping.signature.in_(list(candidates))))}
    for sig, index in sorted(candidates.items(), key=lambda item: item[1]):
        if sig in found:
            columns = {col: key for col, key in enumerate(found[sig]) if key in FIELDS}
            if {"nik", "name"} <= set(columns.values()):
                return index, columns
    return None


def header_for(table: list[tuple[int, list[Any]]]) -> tuple[int, dict[int, str]]:
    """The header a preview uses: the clerk's remembered choice, else the known column names.
    Raises ``UnknownColumns``."""
    return remembered(table) or find_header(table)


def guess(table: list[tuple[int, list[Any]]], line: int | None = None) -> tuple[int, dict[int, str]]:
    """What the page *Atur kolom* starts from: the header row at ``line`` (or the one the
    preview would use, or the fullest of the first rows) with the fields its names suggest."""
    if line is not None:
        for index, (row_line, values) in enumerate(table[:HEADER_SEARCH_ROWS]):
            if row_line == line:
                return index, header_fields(values)
    try:
        return header_for(table)
    except UnknownColumns:
        pass
    first = table[:HEADER_SEARCH_ROWS]
    index = max(range(len(first)), key=lambda i: (sum(1 for v in first[i][1] if isinstance(v, str) and v.strip()), -i))
    return index, header_fields(first[index][1])


def check(columns: dict[int, str]) -> list:
    """What is wrong with a clerk's choice (empty when nothing): NIK and name are needed, and a
    field may be chosen for one column only."""
    from .columns import HEADERS

    problems = []
    chosen = list(columns.values())
    for key in REQUIRED:
        if key not in chosen:
            problems.append(_l("Pilih kolom mana yang berisi %(field)s.", field=HEADERS[key]))
    for key in sorted(set(chosen), key=FIELDS.index):
        if chosen.count(key) > 1:
            problems.append(_l("%(field)s dipilih untuk lebih dari satu kolom.", field=HEADERS[key]))
    return problems


def remember(header: list[Any], columns: dict[int, str], *, staff: Staff | None) -> None:
    """Keep the clerk's choice for the next file with this header row (one row per header)."""
    width = max(len(header), max(columns, default=-1) + 1)
    stored = [columns.get(col) for col in range(width)]
    sig = signature(header)
    for attempt in range(2):
        try:
            with write_transaction():
                mapping = db.session.get(ColumnMapping, sig) or ColumnMapping(signature=sig)
                mapping.columns = stored
                mapping.updated_at = utcnow()
                mapping.updated_by_id = staff.id if staff is not None else None
                db.session.add(mapping)
            return
        except IntegrityError:  # another server remembered the same header at the same moment
            if attempt:
                raise
