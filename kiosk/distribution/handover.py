"""Handing a claimed package over at the desk, the handover queue, and voiding a collection."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from ..i18n import _l
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import joinedload

from ..audit import record
from ..database import utcnow, write_transaction
from ..extensions import db
from ..models import Collection, Distribution, Staff, Worker
from .claiming import REQUEST_ID_MAX, _clean
from .outcomes import DistributionError, MESSAGES, Outcome, _when
from .report import build_report


class Handover(enum.Enum):
    """The answer to a handover. Values are stable strings (pages and tests read them)."""

    HANDED_OVER = "handed_over"
    ALREADY_HANDED_OVER = "already_handed_over"
    VOIDED = "voided"
    NOT_OPEN = "not_open"


@dataclass(frozen=True)
class HandoverResult:
    """What ``hand_over`` did: the collection, and who handed it over when (this request, or
    for ALREADY_HANDED_OVER the one that was first). ``replayed``: this request id handed it
    over before (a double tap)."""

    outcome: Handover
    collection_id: int
    distribution_id: int
    worker_id: int
    seq: int
    handed_over_at: datetime | None = None
    handed_over_by: str | None = None
    replayed: bool = False

    @property
    def ok(self) -> bool:
        """True when the package is handed over by this request (first time or replayed)."""
        return self.outcome is Handover.HANDED_OVER

    @property
    def message(self):
        """What to tell the desk, in words (lazy, Indonesian msgid)."""
        if self.outcome is Handover.HANDED_OVER:
            return _l("Paket nomor %(seq)s sudah diserahkan.", seq=self.seq)
        if self.outcome is Handover.ALREADY_HANDED_OVER:
            return _l("Paket nomor %(seq)s sudah diserahkan pada %(when)s oleh %(who)s.",
                      seq=self.seq, when=_when(self.handed_over_at), who=self.handed_over_by or "–")
        if self.outcome is Handover.VOIDED:
            return _l("Pengambilan nomor %(seq)s sudah dibatalkan.", seq=self.seq)
        return MESSAGES[Outcome.NOT_OPEN]


def _staff_name(staff_id: int | None) -> str | None:
    staff = db.session.get(Staff, staff_id) if staff_id else None
    return (staff.full_name or staff.username) if staff is not None else None


def hand_over(collection_id: int, *, staff: Staff, request_id: str, proxy_name: str | None = None,
              proxy_relation: str | None = None, handover_photo: str | None = None) -> HandoverResult:
    """Hand the claimed package of ``collection_id`` to the person at the desk — exactly once,
    whatever the number of desks — or say why not (already handed over: by whom and when;
    voided; distribution not open). The same ``request_id`` again returns the first answer with
    ``replayed=True``. Audited. Raises LookupError for an unknown collection."""
    request_id = (request_id or "").strip()
    if not request_id or len(request_id) > REQUEST_ID_MAX:
        raise ValueError("request_id must be 1 to 64 characters")
    proxy_name = _clean(proxy_name, 120)
    with write_transaction():
        session = db.session
        collection = session.get(Collection, collection_id, populate_existing=True)
        if collection is None:
            raise LookupError(f"no collection {collection_id}")

        def answer(outcome: Handover, replayed: bool = False) -> HandoverResult:
            return HandoverResult(
                outcome=outcome, collection_id=collection.id, distribution_id=collection.distribution_id,
                worker_id=collection.worker_id, seq=collection.seq, replayed=replayed,
                handed_over_at=collection.handed_over_at,
                handed_over_by=_staff_name(collection.handed_over_by_id),
            )

        if collection.handover_request_id == request_id:
            return answer(Handover.HANDED_OVER, replayed=True)
        # These reads only choose the message; the conditional UPDATE below is the guard.
        if collection.voided_at is not None:
            return answer(Handover.VOIDED)
        if collection.handed_over_at is not None:
            return answer(Handover.ALREADY_HANDED_OVER)
        # FOR SHARE (PostgreSQL): a close-out waits for this handover, or this sees it closed.
        status = session.scalar(
            select(Distribution.status).where(Distribution.id == collection.distribution_id)
            .with_for_update(read=True)
        )
        if status != "open":
            return answer(Handover.NOT_OPEN)
        now = utcnow()
        changed = session.execute(
            update(Collection)
            .where(Collection.id == collection_id, Collection.handed_over_at.is_(None),
                   Collection.voided_at.is_(None))
            .values(handed_over_at=now, handed_over_by_id=staff.id, handover_request_id=request_id,
                    proxy_name=proxy_name, proxy_relation=_clean(proxy_relation, 60) if proxy_name else None,
                    handover_photo=handover_photo)
            .execution_options(synchronize_session=False)
        ).rowcount
        session.refresh(collection)
        if changed != 1:
            if collection.voided_at is not None:
                return answer(Handover.VOIDED)
            return answer(Handover.ALREADY_HANDED_OVER)
        record(
            "collection.hand_over", collection, before={"handed_over_at": None},
            after={"handed_over_at": now, "seq": collection.seq, "worker_id": collection.worker_id,
                   "proxy_name": proxy_name, "request_id": request_id},
            staff=staff,
        )
        return answer(Handover.HANDED_OVER)


def waiting(distribution_id: int, *, q: str = "", limit: int | None = None) -> list[Collection]:
    """The handover queue: claimed, not yet handed over (nor voided), in claim order, with their
    workers; ``q`` narrows it to a package number or part of a name."""
    query = (
        select(Collection).options(joinedload(Collection.worker))
        .where(Collection.distribution_id == distribution_id, Collection.handed_over_at.is_(None),
               Collection.voided_at.is_(None))
        .order_by(Collection.seq)
    )
    q = " ".join((q or "").split())
    if q.isascii() and q.isdigit():
        seq = int(q)
        query = query.where(Collection.seq == (seq if seq < 2**31 else -1))
    elif q:
        query = query.join(Worker, Worker.id == Collection.worker_id).where(
            func.lower(Worker.name).contains(q.lower(), autoescape=True))
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def by_number(distribution_id: int, seq: int) -> Collection | None:
    """The non-voided collection with package number ``seq`` in this distribution."""
    if not 0 < seq < 2**31:
        return None
    return db.session.scalar(
        select(Collection).options(joinedload(Collection.worker))
        .where(Collection.distribution_id == distribution_id, Collection.seq == seq,
               Collection.voided_at.is_(None))
        .execution_options(populate_existing=True)
    )


def void(collection_id: int, *, staff: Staff | None, reason: str) -> Collection:
    """Void a collection (wrong person, package returned): the row is kept with who/when/why,
    the package count goes back, the worker may collect again. Audited. A closed
    distribution's frozen report is rebuilt. Raises DistributionError."""
    reason = " ".join((reason or "").split())[:200]
    if not reason:
        raise DistributionError(_l("Tuliskan alasan pembatalan."))
    with write_transaction():
        now = utcnow()
        voided = db.session.execute(
            update(Collection)
            .where(Collection.id == collection_id, Collection.voided_at.is_(None))
            .values(voided_at=now, voided_by_id=staff.id if staff else None, void_reason=reason)
            .execution_options(synchronize_session=False)
        ).rowcount
        collection = db.session.get(Collection, collection_id, populate_existing=True)
        if collection is None:
            raise LookupError(f"no collection {collection_id}")
        if voided != 1:
            raise DistributionError(_l("Pengambilan ini sudah dibatalkan."))
        db.session.execute(
            text("UPDATE distribution SET packages_given = packages_given - 1 "
                 "WHERE id = :id AND packages_given > 0"),
            {"id": collection.distribution_id},
        )
        record(
            "collection.void", collection,
            before={"voided_at": None},
            after={"voided_at": now, "void_reason": reason, "seq": collection.seq,
                   "worker_id": collection.worker_id},
            staff=staff,
        )
        distribution = db.session.get(Distribution, collection.distribution_id, populate_existing=True)
        if distribution.status == "closed":
            distribution.frozen_report = build_report(distribution)
    return collection
