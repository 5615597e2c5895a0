"""The uploaded list itself, kept in the database for a few hours (any server can use it): to
ask the clerk which column is which and preview it again, and to give back the refused rows as
a spreadsheet in the file's own columns, with an added "Alasan" column, to fix and re-import."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, Iterable

from sqlalchemy import delete

from ..database import utcnow, write_transaction
from ..extensions import db
from ..i18n import _l
from ..models import ImportUpload, Staff
from .checking import ImportPreview, preview_table
from .mappings import header_for
from .previews import STORE_HOURS, ImportExpired, save
from .reading import read_bytes, read_table

REASON_SEPARATOR = "; "


def keep(file, filename: str, *, staff: Staff | None) -> str:
    """Store an uploaded file (checked for size and emptiness; ``ImportFileError``) for
    ``STORE_HOURS``, dropping older uploads; returns its token."""
    data = read_bytes(file)
    token = secrets.token_urlsafe(24)
    with write_transaction():
        db.session.execute(delete(ImportUpload).where(ImportUpload.created_at < utcnow() - timedelta(hours=STORE_HOURS)))
        db.session.add(ImportUpload(token=token, staff_id=staff.id if staff is not None else None,
                                    filename=(filename or "")[:255], content=data))
    return token


def get(token: str, *, staff: Staff | None) -> ImportUpload:
    """The upload under ``token`` for this staff member. Raises ``ImportExpired`` when it is
    gone, expired or someone else's."""
    upload = db.session.get(ImportUpload, token) if isinstance(token, str) and 20 <= len(token) <= 64 else None
    if (upload is None or upload.staff_id != (staff.id if staff is not None else None)
            or upload.created_at < utcnow() - timedelta(hours=STORE_HOURS)):
        raise ImportExpired(_l("Berkas impor ini tidak ada lagi. Unggah berkasnya sekali lagi."))
    return upload


def forget(token: str) -> None:
    """Drop an upload (a file that could not be read at all)."""
    with write_transaction():
        db.session.execute(delete(ImportUpload).where(ImportUpload.token == token))


def preview_upload(token: str, *, staff: Staff | None, header: tuple[int, dict[int, str]] | None = None) -> ImportPreview:
    """Preview the uploaded file (with the clerk's ``header``: index of the header row and
    column -> field, else the remembered or known column names), save the preview, and note
    on the upload the header used and the refused rows. Raises ``ImportFileError`` /
    ``UnknownColumns``."""
    upload = get(token, staff=staff)
    table = read_table(upload.content, upload.filename)
    index, columns = header or header_for(table)
    result = preview_table(table, filename=upload.filename, header=(index, columns))
    result.upload = token
    save(result, staff=staff)
    width = max(columns, default=-1) + 1
    with write_transaction():
        upload = db.session.get(ImportUpload, token)
        upload.header_line = table[index][0]
        upload.columns = [columns.get(col) for col in range(width)]
        upload.refused = refused_of(result.rows)
    return result


def refused_of(rows: Iterable) -> list[list[Any]]:
    """[[line, [reason, ...]], ...] of the refused rows of a check."""
    return [[row.line, [str(r) for r in row.reasons]] for row in rows if row.action == "refuse"]


def note_refused(token: str | None, refused: list[list[Any]]) -> None:
    """After a change (a row confirmed "orang berbeda", the import written): the refused rows."""
    if not token:
        return
    with write_transaction():
        upload = db.session.get(ImportUpload, token)
        if upload is not None:
            upload.refused = refused


def refused_xlsx(upload: ImportUpload) -> bytes:
    """The refused rows of the upload's last check as an XLSX: the file's header row and its
    columns in their order, each refused row as it was, and an added "Alasan" column."""
    from openpyxl.utils import get_column_letter

    from ..spreadsheets import Column, Sheet, to_xlsx

    table = read_table(upload.content, upload.filename)
    by_line = dict(table)
    header = by_line.get(upload.header_line, table[0][1] if table else [])
    refused = [(line, reasons) for line, reasons in (upload.refused or []) if line in by_line]
    width = max([len(header)] + [len(by_line[line]) for line, _r in refused])
    fields = list(upload.columns or [])
    titles = []
    for col in range(width):
        title = header[col] if col < len(header) and header[col] is not None else ""
        titles.append(Column(str(title).strip() or get_column_letter(col + 1),
                             number_format="@" if col < len(fields) and fields[col] in ("nik", "kpj", "phone") else None))
    titles.append(Column(str(_l("Alasan")), width=60))
    rows = []
    for line, reasons in refused:
        values = list(by_line[line]) + [None] * (width - len(by_line[line]))
        for col, value in enumerate(values):
            if col < len(fields) and fields[col] in ("nik", "kpj", "phone") and isinstance(value, (int, float)):
                values[col] = str(int(value)) if float(value).is_integer() else str(value)
        rows.append(values + [REASON_SEPARATOR.join(reasons)])
    return to_xlsx(Sheet(str(_l("Ditolak")), titles, rows))
