"""Keeping a preview until it is confirmed: the checked rows wait server-side in the database
(``import_preview``) for the staff member who made them, for a few hours, never in the browser;
any server of the installation shows and confirms them."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update

from ..database import utcnow, write_transaction
from ..extensions import db
from ..i18n import _l
from ..models import ImportPreviewRecord, Staff
from .checking import ImportPreview, RowResult, counts
from .reading import ImportFileError

STORE_HOURS = 6
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")


class ImportExpired(ImportFileError):
    """The stored preview is gone (expired, already imported, or someone else's)."""


def _gone() -> ImportExpired:
    return ImportExpired(_l("Pratinjau impor ini tidak ada lagi. Unggah berkasnya sekali lagi."))


def _cutoff():
    return utcnow() - timedelta(hours=STORE_HOURS)


def save(result: ImportPreview, *, staff: Staff | None) -> str:
    """Keep the preview's rows (expiring after some hours; older ones are deleted here) for
    ``load``/``commit``; returns the token."""
    token = secrets.token_urlsafe(24)
    payload = {
        "filename": result.filename,
        "columns": result.columns,
        "missing": result.missing,
        "upload": result.upload,
        "header_line": result.header_line,
        "header": result.header,
        "fields": result.fields,
        "rows": [
            {"line": r.line, "data": r.data, "action": r.action, "reasons": [str(m) for m in r.reasons],
             "warnings": [str(m) for m in r.warnings], "changes": r.changes, "nik": r.nik, "name": r.name,
             "probable": [p.as_dict() for p in r.probable], "different": r.different,
             "base_income": r.base_income}
            for r in result.rows
        ],
    }
    with write_transaction():
        db.session.execute(delete(ImportPreviewRecord).where(ImportPreviewRecord.created_at < _cutoff()))
        db.session.add(ImportPreviewRecord(token=token, staff_id=staff.id if staff is not None else None,
                                           payload=payload, created_at=utcnow()))
    result.token = token
    return token


def _payload(token: str, staff: Staff | None) -> dict:
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        raise _gone()
    found = db.session.execute(
        select(ImportPreviewRecord.staff_id, ImportPreviewRecord.payload)
        .where(ImportPreviewRecord.token == token, ImportPreviewRecord.created_at >= _cutoff())
    ).first()
    if found is None or found.staff_id != (staff.id if staff is not None else None):
        raise _gone()
    return found.payload


def load(token: str, *, staff: Staff | None) -> ImportPreview:
    """The preview saved under ``token`` for this staff member (rows with their stored
    action and reasons). Raises ``ImportExpired`` when it is gone, expired or someone else's."""
    from ..duplicates import Probable

    payload = _payload(token, staff)
    rows = [
        RowResult(line=r["line"], action=r["action"], reasons=r["reasons"], warnings=r["warnings"],
                  changes=r["changes"], data=r["data"], clean={"nik": r["nik"], "name": r["name"]},
                  probable=[Probable.from_dict(p) for p in r.get("probable", [])], different=r.get("different"),
                  base_income=bool(r.get("base_income")))
        for r in payload["rows"]
    ]
    return ImportPreview(rows=rows, counts=counts(rows), columns=payload["columns"], missing=payload["missing"],
                         filename=payload["filename"], token=token, upload=payload.get("upload"),
                         header_line=payload.get("header_line"), header=payload.get("header", []),
                         fields=payload.get("fields", []))


def mark_different(token: str, line: int, reason: str, *, staff: Staff | None) -> bool:
    """Staff confirmed that row ``line``, held as probably someone already listed, is another
    person (``reason``, clean): the row will be added, and the decision recorded when the import
    is written. Returns False when that row is not held. Raises ``ImportExpired``."""
    payload = _payload(token, staff)
    for row in payload["rows"]:
        if row["line"] == line and row.get("probable") and row.get("different") is None and row["action"] == "refuse":
            row.update(action="add", reasons=[], different=reason)
            row["warnings"].append(str(_l("Dikonfirmasi orang berbeda: %(reason)s", reason=reason)))
            with write_transaction():
                db.session.execute(update(ImportPreviewRecord).where(ImportPreviewRecord.token == token)
                                   .values(payload=payload))
            return True
    return False


def discard(token: str) -> bool:
    """Forget a saved preview (after it was imported, or cancelled); False when it was gone
    already. Inside a write transaction it is part of it (the import deletes its preview in its
    own transaction, so a preview is imported once, whichever server is asked twice)."""
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return False
    with write_transaction():
        return db.session.execute(delete(ImportPreviewRecord).where(ImportPreviewRecord.token == token)).rowcount == 1
