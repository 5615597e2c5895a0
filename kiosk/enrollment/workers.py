"""Writing a worker: enrolling, editing, replacing the photo, deleting (each audited)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..i18n import _l
from sqlalchemy import delete as sql_delete, exists, select
from sqlalchemy.exc import IntegrityError

from .. import photos
from ..audit import changes, record, snapshot
from ..database import utcnow, write_transaction
from ..extensions import db
from ..models import Card, ClaimRequest, Collection, Coverage, DistinctPair, DistributionListEntry, Staff, Worker
from .periods import _lock_worker, insert_coverage
from .results import Refused
from .validation import COVERAGE_FIELDS, WORKER_FIELDS


def _integrity_refusal(exc: IntegrityError) -> Refused:
    text = str(exc.orig).lower()
    if "kpj" in text:
        message = _l("Nomor KPJ ini baru saja dipakai pekerja lain.")
        return Refused(message, {"kpj": [message]})
    if "nik" in text:
        message = _l("NIK ini baru saja didaftarkan petugas lain.")
        return Refused(message, {"nik": [message]})
    return Refused(_l("Data tidak bisa disimpan karena bentrok dengan data lain. Muat ulang lalu coba lagi."))


def _keep_photo(clean: Mapping[str, Any], current: str | None = None) -> None:
    """Inside the write transaction: the form's new photo is still stored and safe from the
    sweep until the transaction ends (``photos.keep``). Raises ``Refused`` when it is gone."""
    name = clean.get("photo")
    if name and name != current and not photos.keep(name):
        raise Refused(photos.GONE, {"photo": [photos.GONE]})


def new_worker(clean: Mapping[str, Any], *, staff: Staff | None) -> Worker:
    """A ``Worker`` row from ``Validation.clean`` (not yet added to the session)."""
    return Worker(**{k: clean[k] for k in WORKER_FIELDS if k in clean}, created_by_id=staff.id if staff else None)


def insert_worker(
    clean: Mapping[str, Any], *, staff: Staff | None, coverage: Mapping[str, Any] | None = None
) -> Worker:
    """Add a worker (and optionally their first period) with its audit events, inside the
    caller's ``write_transaction()`` — for writing many rows in one transaction (the import).
    A NIK/KPJ taken meanwhile raises ``IntegrityError`` at flush; a period ``Refused``."""
    worker = new_worker(clean, staff=staff)
    db.session.add(worker)
    db.session.flush()
    record("worker.create", worker, after=snapshot(worker, WORKER_FIELDS), staff=staff)
    if coverage:
        insert_coverage(worker, staff=staff, **coverage)
    return worker


def apply_update(worker: Worker, clean: Mapping[str, Any], *, staff: Staff | None) -> bool:
    """Apply clean values to ``worker`` and audit what changed, inside the caller's
    ``write_transaction()``; returns False when nothing changed (and records nothing)."""
    before = snapshot(worker, WORKER_FIELDS)
    for key in WORKER_FIELDS:
        if key in clean:
            setattr(worker, key, clean[key])
    old, new = changes(before, snapshot(worker, WORKER_FIELDS))
    if not new:
        return False
    worker.updated_at = utcnow()
    worker.updated_by_id = staff.id if staff else None
    db.session.flush()
    record("worker.update", worker, before=old, after=new, staff=staff)
    return True


def enroll(
    clean: Mapping[str, Any],
    *,
    staff: Staff | None,
    coverage: Mapping[str, Any] | None = None,
    different_from: Sequence[int] = (),
    reason: str = "",
) -> Worker:
    """Create a worker from ``Validation.clean`` (and, optionally, their first coverage from
    ``validate_coverage(...).clean``) in one transaction, audited. ``different_from``: the
    probable duplicates staff confirmed are other people, recorded with ``reason`` (clean, see
    ``duplicates.clean_reason``) in the same transaction. Raises ``Refused`` (also when the
    form's photo is no longer stored)."""
    from .. import duplicates

    try:
        with write_transaction():
            _keep_photo(clean)
            worker = insert_worker(clean, staff=staff, coverage=coverage)
            for other_id in different_from:
                duplicates.record_different(worker.id, other_id, reason, staff=staff)
    except IntegrityError as exc:
        raise _integrity_refusal(exc) from None
    return worker


def update(worker: Worker, clean: Mapping[str, Any], *, staff: Staff | None) -> Worker:
    """Apply ``Validation.clean`` to ``worker``, auditing what changed (nothing changed: no
    event). Raises ``Refused`` on a NIK/KPJ taken meanwhile, or when the new photo is no longer
    stored. A photo replaced goes at once unless something else still refers to it."""
    old_photo = worker.photo
    try:
        with write_transaction():
            _keep_photo(clean, old_photo)
            apply_update(worker, clean, staff=staff)
            if old_photo and old_photo != worker.photo:
                db.session.flush()  # the worker no longer refers to the old photo
                photos.discard(old_photo)
    except IntegrityError as exc:
        db.session.expire(worker)
        raise _integrity_refusal(exc) from None
    return worker


def set_photo(worker: Worker, name: str, *, staff: Staff | None) -> Worker:
    """Replace the worker's photo with the stored photo ``name`` (audited); the old one goes."""
    return update(worker, {"photo": name}, staff=staff)


def blockers(worker: Worker) -> list:
    """Why ``worker`` may not be deleted (cards, collections, kiosk history); empty if they may."""
    reasons = []
    if db.session.scalar(select(exists().where(Card.worker_id == worker.id))):
        reasons.append(_l("Pekerja ini sudah pernah diberi kartu."))
    if db.session.scalar(select(exists().where(Collection.worker_id == worker.id))):
        reasons.append(_l("Pekerja ini sudah pernah mengambil sembako."))
    elif db.session.scalar(select(exists().where(ClaimRequest.worker_id == worker.id))):
        reasons.append(_l("Kartu pekerja ini sudah pernah dipindai di kiosk."))
    return reasons


def delete(worker: Worker, *, staff: Staff | None) -> None:
    """Delete a worker who has no card and no collection, with their coverage periods; the
    whole record is kept in the audit trail. Raises ``Refused`` otherwise."""
    photo = worker.photo
    with write_transaction():
        _lock_worker(worker)
        reasons = blockers(worker)
        if reasons:
            raise Refused(
                _l("Pekerja tidak bisa dihapus: %(why)s Perbaiki datanya saja.", why=" ".join(str(r) for r in reasons))
            )
        periods = db.session.scalars(select(Coverage).where(Coverage.worker_id == worker.id)).all()
        before = snapshot(worker, WORKER_FIELDS)
        before["coverages"] = [snapshot(c, COVERAGE_FIELDS) for c in periods]
        record("worker.delete", worker, before=before, staff=staff)
        db.session.execute(sql_delete(Coverage).where(Coverage.worker_id == worker.id))
        db.session.execute(
            sql_delete(DistributionListEntry).where(DistributionListEntry.worker_id == worker.id)
        )
        db.session.execute(sql_delete(DistinctPair).where(
            (DistinctPair.worker_id == worker.id) | (DistinctPair.other_id == worker.id)))
        db.session.expire(worker, ["coverages", "cards"])
        db.session.delete(worker)
        if photo:
            db.session.flush()
            photos.discard(photo)
