"""Keeping a preview until it is confirmed: the parsed rows wait server-side under
``instance/imports/`` for the staff member who made them, for a few hours, never in the browser."""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from pathlib import Path

from flask import current_app

from ..i18n import _l
from ..models import Staff
from .checking import ImportPreview, RowResult, counts
from .reading import ImportFileError

STORE_HOURS = 6
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")


class ImportExpired(ImportFileError):
    """The stored preview is gone (expired, already imported, or someone else's)."""


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
    _write(directory, token, payload)
    result.token = token
    return token


def _write(directory: Path, token: str, payload: dict) -> None:
    tmp = directory / f".{token}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, ensure_ascii=False, separators=(",", ":"))
    tmp.replace(directory / f"{token}.json")


def _path_of(token: str) -> Path:
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        raise ImportExpired(_l("Pratinjau impor ini tidak ada lagi. Unggah berkasnya sekali lagi."))
    return _store() / f"{token}.json"


def _payload(token: str, staff: Staff | None) -> dict:
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
    return payload


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
            _write(_store(), token, payload)
            return True
    return False


def discard(token: str) -> None:
    """Forget a saved preview (after it was imported, or cancelled)."""
    try:
        _path_of(token).unlink(missing_ok=True)
    except ImportExpired:
        pass
