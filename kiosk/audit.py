"""The audit trail: every create, update and delete, with who, when, and before/after values.

Call ``record`` inside the same transaction as the change it describes, so the two land together.
An action is named ``<entity>.<verb>`` ("worker.update", "staff.create"). Events that enrollment,
the import and "orang berbeda" wrote before their actions were named so say "create", "update" or
"delete" alone: the trail is append-only (database triggers), so they stay as they were written.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable

from sqlalchemy import insert as sa_insert

from .extensions import db
from .models import AuditEvent, Device, Staff


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> dict:
    """The named attributes of ``obj`` as JSON-ready values."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields that differ between two snapshots."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(
    action: str,
    entity: Any,
    *,
    before: dict | None = None,
    after: dict | None = None,
    staff: Staff | None = None,
    device: Device | None = None,
) -> AuditEvent:
    """Add an audit event for ``entity`` (a model instance, flushed so it has an id)."""
    event = AuditEvent(**_values(action, type(entity).__tablename__, getattr(entity, "id", None), before, after,
                                 staff.id if staff is not None else None, device.id if device is not None else None))
    db.session.add(event)
    return event


def insert(action: str, entity_type: str, entity_id: int | None, *, before: dict | None = None,
           after: dict | None = None, staff_id: int | None = None, device_id: int | None = None,
           conn=None) -> None:
    """``record`` for a row written with a Core INSERT (no model instance): the event is written
    at once, one INSERT, without the ORM's unit of work (the claim's write lock is held), on
    ``conn`` (the write transaction's connection or ``database.driver_write``'s writer) or the
    session's. The actor is given by id: nothing is loaded while the lock is held."""
    (conn or db.session).execute(_INSERT_EVENT, _values(action, entity_type, entity_id, before, after, staff_id, device_id))


_INSERT_EVENT = sa_insert(AuditEvent.__table__)


def _values(action, entity_type, entity_id, before, after, staff_id, device_id) -> dict:
    return dict(
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before={k: _plain(v) for k, v in before.items()} if before else None,
        after={k: _plain(v) for k, v in after.items()} if after else None,
        staff_id=staff_id,
        device_id=device_id,
    )
