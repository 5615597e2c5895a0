"""The audit trail as the admin reads it: filtered by staff member, record and Jakarta dates,
a page at a time, or whole as a sheet for XLSX/CSV."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..coverage import JAKARTA
from ..extensions import db
from ..i18n import indonesian
from ..models import AuditEvent, Staff
from ..spreadsheets import Sheet


def jakarta_day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """UTC bounds [start of ``first``, start of the day after ``last``) of Jakarta days."""
    start = datetime.combine(first, time(0), JAKARTA).astimezone(timezone.utc) if first else None
    end = datetime.combine(last + timedelta(days=1), time(0), JAKARTA).astimezone(timezone.utc) if last else None
    return start, end


@dataclass
class AuditFilter:
    """Which audit events to list: by staff member, record type and id, Jakarta date range."""

    staff_id: int | None = None
    entity_type: str = ""
    entity_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def audit_query(filters: AuditFilter):
    """The SELECT of audit events matching ``filters``, newest first."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if filters.staff_id:
        query = query.where(AuditEvent.staff_id == filters.staff_id)
    if filters.entity_type:
        query = query.where(AuditEvent.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        query = query.where(AuditEvent.entity_id == filters.entity_id)
    start, end = jakarta_day_bounds(filters.date_from, filters.date_to)
    if start:
        query = query.where(AuditEvent.at >= start)
    if end:
        query = query.where(AuditEvent.at < end)
    return query


def audit_page(filters: AuditFilter, page: int = 1, per_page: int = 50) -> tuple[list[AuditEvent], int]:
    """One page of matching audit events (with their staff loaded) and the number of matches."""
    query = audit_query(filters)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page_query = query.options(selectinload(AuditEvent.staff)).limit(per_page).offset((max(page, 1) - 1) * per_page)
    events = list(db.session.scalars(page_query))
    return events, total


def audit_entity_types() -> list[str]:
    """The record types present in the audit trail, for the filter."""
    return list(db.session.scalars(select(AuditEvent.entity_type).distinct().order_by(AuditEvent.entity_type)))


def audit_staff_choices() -> list[tuple[int, str]]:
    """(id, name) of every staff account, for the filter."""
    return [(s.id, s.full_name or s.username) for s in db.session.scalars(select(Staff).order_by(Staff.username))]


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def audit_sheet(filters: AuditFilter, limit: int = 100_000) -> Sheet:
    """The matching audit events as a table for XLSX/CSV (times in Asia/Jakarta)."""
    columns = [indonesian(c) for c in ("Waktu (WIB)", "Petugas", "Perangkat", "Aksi", "Jenis data", "ID data",
                                       "Sebelum", "Sesudah")]
    query = (
        audit_query(filters)
        .with_only_columns(AuditEvent.at, Staff.username, AuditEvent.device_id, AuditEvent.action,
                           AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.before, AuditEvent.after)
        .outerjoin(Staff, Staff.id == AuditEvent.staff_id)
        .limit(limit)
    )
    rows = [
        [at.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M:%S"), username or "", device_id or "", action, etype,
         eid, _json(before), _json(after)]
        for at, username, device_id, action, etype, eid, before, after in db.session.execute(query)
    ]
    return Sheet(indonesian("Jejak audit"), columns, rows)
