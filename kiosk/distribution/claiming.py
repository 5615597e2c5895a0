"""Claiming a package (``claim``, the one place that creates a ``Collection``) and what a claim
would answer now (``status_for``)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, and_, bindparam, cast, func, insert, literal, select, text, true, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from .. import audit, clock
from ..database import WRITING, driver_write, end_read_transaction, read_alone, utcnow
from ..extensions import db
from ..models import (
    AuditEvent,
    Card,
    ClaimRequest,
    Collection,
    Coverage,
    Device,
    Distribution,
    DistributionListEntry,
    Staff,
    Worker,
)
from .eligibility import judge_rule, rule_refusal
from .outcomes import ClaimResult, Outcome, PickupStatus


REQUEST_ID_MAX = 64
# A claim that lost a race on PostgreSQL (IntegrityError) is run again: the second run sees the
# winner's row and answers from it. Two runs are the normal worst case.
CLAIM_ATTEMPTS = 5


def active_collection(distribution_id: int, worker_id: int) -> Collection | None:
    """The worker's non-voided collection in this distribution, if any."""
    return db.session.scalar(
        select(Collection)
        .where(
            Collection.distribution_id == distribution_id,
            Collection.worker_id == worker_id,
            Collection.voided_at.is_(None),
        )
        .execution_options(populate_existing=True)
    )


def status_for(distribution: Distribution, worker: Worker, *, card_id: int | None = None,
               day: date | None = None) -> PickupStatus:
    """What a claim would answer now, without writing anything: already collected (with when
    and where), card revoked, not open, not eligible, sold out — or eligible (outcome None)."""
    card_ok = True
    if card_id is not None:
        card = db.session.get(Card, card_id)
        card_ok = card is not None and card.worker_id == worker.id and card.revoked_at is None
    existing = active_collection(distribution.id, worker.id) if card_ok else None
    return judge_pickup(distribution, worker.id, card_ok=card_ok, existing=existing,
                        refusal=lambda: rule_refusal(distribution, worker, day))


def judge_pickup(distribution, worker_id: int, *, card_ok: bool, existing, refusal) -> PickupStatus:
    """``status_for`` on what was read already: ``distribution`` (a row or a Distribution),
    whether the card is the worker's valid card, the worker's non-voided collection
    (``existing``, or None) and the rule's answer (``refusal()``, asked only when needed)."""
    base = dict(
        distribution_id=distribution.id,
        worker_id=worker_id,
        packages_total=distribution.packages_total,
        packages_given=distribution.packages_given,
    )
    if not card_ok:
        return PickupStatus(outcome=Outcome.CARD_REVOKED, **base)
    if existing is not None:
        return PickupStatus(outcome=Outcome.ALREADY_COLLECTED, **_collection_fields(existing), **base)
    if distribution.status != "open":
        return PickupStatus(outcome=Outcome.NOT_OPEN, **base)
    rule = refusal()
    if rule is not None:
        return PickupStatus(outcome=rule, **base)
    if distribution.packages_given >= distribution.packages_total:
        return PickupStatus(outcome=Outcome.SOLD_OUT, **base)
    if not clock.trusted():
        return PickupStatus(outcome=Outcome.CLOCK_WRONG, **base)
    return PickupStatus(outcome=None, **base)


def pickup_refusal(distribution: Distribution, worker: Worker, day: date | None = None) -> Outcome | None:
    """Read-only: None when ``worker`` may collect from ``distribution`` now, else the reason
    a claim would be refused (already collected, not open, not eligible, sold out)."""
    return status_for(distribution, worker, day=day).outcome


def _collection_fields(collection: Collection) -> dict:
    return dict(
        collection_id=collection.id,
        seq=collection.seq,
        collected_at=collection.collected_at,
        station=collection.station or None,
        proxy_name=collection.proxy_name,
        proxy_relation=collection.proxy_relation,
        handed_over_at=collection.handed_over_at,
    )


def claim_seen(
    distribution_id: int,
    worker_id: int,
    *,
    request_id: str,
    card_id: int | None = None,
    device: Device | None = None,
    staff: Staff | None = None,
    station: str = "",
    hand_over: bool = False,
    proxy_name: str | None = None,
    proxy_relation: str | None = None,
    handover_photo: str | None = None,
    no_card_reason: str | None = None,
) -> tuple[ClaimResult, Claimant | None]:
    """Claim one sembako package for ``worker_id`` — exactly once per distribution, never
    beyond the number of packages — or say why not. ``card_id`` is the card scanned (None: the
    staff member at the desk is the proof, ``no_card_reason`` says why). With ``hand_over``
    (the desk, the person standing there) the package is handed over by ``staff`` in the same
    step, to ``proxy_name`` if given, with the handover photo. The same ``request_id`` again
    returns the first answer with ``replayed=True``. Raises LookupError for an unknown
    distribution or worker.

    Also returns who the claim was for as its one read found them (``Claimant``; None when the
    clock stopped the claim before reading), so that a screen answering it reads nothing more."""
    request_id = (request_id or "").strip()
    if not request_id or len(request_id) > REQUEST_ID_MAX:
        raise ValueError("request_id must be 1 to 64 characters")
    if hand_over and staff is None:
        raise ValueError("only a staff member hands a package over")
    if not clock.trusted():  # a claim's time must be believable (kiosk.clock); nothing is stored
        return ClaimResult(outcome=Outcome.CLOCK_WRONG, distribution_id=distribution_id, worker_id=worker_id), None
    args = dict(  # the actors by id, read before anything expires them: nothing loads inside the lock
        distribution_id=distribution_id, worker_id=worker_id, request_id=request_id, card_id=card_id,
        device_id=device.id if device is not None else None, staff_id=staff.id if staff is not None else None,
        station=(station or "")[:80],
        hand_over=hand_over, proxy_name=_clean(proxy_name, 120),
        proxy_relation=_clean(proxy_relation, 60), handover_photo=handover_photo,
        no_card_reason=_clean(no_card_reason, 200) if card_id is None else None,
    )
    session = db.session()
    if not session.info.get(WRITING):
        end_read_transaction(session)  # so the facts are read fresh, on the driver
    for _attempt in range(CLAIM_ATTEMPTS):
        facts = _claim_facts(distribution_id, worker_id, request_id, card_id)
        if facts.stored is not None:
            return facts.stored, facts.claimant  # a retry: the first answer again, nothing to write
        try:
            with _writer() as writer:
                return _claim_once(facts, writer, **args), facts.claimant
        except IntegrityError:
            # A concurrent claim of the same worker or the same request id won (PostgreSQL:
            # at once; SQLite: after it committed). Everything of this attempt is rolled back;
            # the next one reads the winner's rows and answers from them.
            if session.info.get(WRITING):
                raise  # the caller's write transaction decides (and rolls back the whole)
            continue
    raise RuntimeError("claim did not settle")  # pragma: no cover - needs 5 lost races in a row


def claim(distribution_id: int, worker_id: int, **kwargs) -> ClaimResult:
    """``claim_seen``'s answer alone: claim one sembako package for ``worker_id`` exactly once,
    or say why not (see ``claim_seen`` for the arguments)."""
    return claim_seen(distribution_id, worker_id, **kwargs)[0]


@contextmanager
def _writer():
    """Where a claim's statements run: inside the caller's ``write_transaction`` if one is
    open (they commit or roll back with it), else in a transaction of their own straight on the
    driver (``database.driver_write``: the lock is held for the statements and the commit alone).
    On PostgreSQL each statement there stands alone (``alone``): a package taken is one statement
    (``_TAKE_AND_RECORD``), a refusal one INSERT, and the read before the refusal of a package
    not taken only chooses its message."""
    session = db.session()
    if session.info.get(WRITING):
        yield session.connection()
        return
    with driver_write(alone=True) as writer:
        yield writer


def _clean(value: str | None, limit: int) -> str | None:
    value = " ".join((value or "").split())
    return value[:limit] or None


@dataclass(frozen=True)
class Claimant:
    """The worker a claim was for, as the claim's one read found them: name, NIK and photo, and
    every coverage period as ``(start, end, jkk, jkm, jht)``."""

    worker_id: int
    name: str
    nik: str
    photo: str | None
    periods: tuple


@dataclass(frozen=True)
class _ClaimFacts:
    """What a claim reads before it takes the write lock, in one statement: the answer stored
    for its request id (a retry), the distribution, the card, the worker's non-voided
    collection, coverage periods and list entry. They only choose the message; the guards are
    the conditional UPDATE and the unique indexes inside the write transaction."""

    stored: ClaimResult | None
    distribution: object
    card_ok: bool
    existing: object
    listed: bool
    claimant: Claimant | None

    @property
    def periods(self) -> tuple:
        """The coverage periods as ``(start, end)``, what the eligibility rule reads."""
        return tuple(period[:2] for period in self.claimant.periods) if self.claimant else ()


def _claim_statement():
    dist, worker, card = Distribution.__table__, Worker.__table__, Card.__table__
    coll, cov, listed = Collection.__table__, Coverage.__table__, DistributionListEntry.__table__
    stored, stored_coll = ClaimRequest.__table__, Collection.__table__.alias("stored_collection")
    worker_id, card_id = bindparam("worker_id"), bindparam("card_id")
    joined = (
        dist.outerjoin(worker, worker.c.id == worker_id)
        .outerjoin(card, card.c.id == card_id)
        .outerjoin(coll, and_(coll.c.distribution_id == dist.c.id, coll.c.worker_id == worker.c.id,
                              coll.c.voided_at.is_(None)))
        .outerjoin(cov, cov.c.worker_id == worker.c.id)
        .outerjoin(listed, and_(listed.c.distribution_id == dist.c.id, listed.c.worker_id == worker.c.id))
        .outerjoin(stored, stored.c.request_id == bindparam("request_id"))
        .outerjoin(stored_coll, stored_coll.c.id == stored.c.collection_id)
    )
    fields = lambda t: (t.c.id, t.c.seq, t.c.collected_at, t.c.station, t.c.proxy_name,  # noqa: E731
                        t.c.proxy_relation, t.c.handed_over_at)
    return select(
        dist.c.id, dist.c.status, dist.c.day, dist.c.eligibility, dist.c.packages_total, dist.c.packages_given,
        worker.c.id, card.c.id, card.c.worker_id, card.c.revoked_at,
        *fields(coll), cov.c.start_date, cov.c.end_date, listed.c.worker_id,
        stored.c.request_id, stored.c.distribution_id, stored.c.worker_id, stored.c.outcome, *fields(stored_coll),
        worker.c.name, worker.c.nik, worker.c.photo, cov.c.jkk, cov.c.jkm, cov.c.jht,  # for the screen (Claimant)
    ).select_from(joined).where(dist.c.id == bindparam("distribution_id"))


_CLAIM_STATEMENT = _claim_statement()


@dataclass(frozen=True)
class _Row:
    """A distribution or collection as read by ``_claim_facts`` (the attributes they are read by)."""

    id: int
    values: dict

    def __getattr__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def _collection_row(values) -> _Row | None:
    if values[0] is None:
        return None
    names = ("id", "seq", "collected_at", "station", "proxy_name", "proxy_relation", "handed_over_at")
    return _Row(values[0], dict(zip(names, values)))


def _claim_facts(distribution_id: int, worker_id: int, request_id: str, card_id: int | None) -> _ClaimFacts:
    # One read statement, on the driver (``read_alone``: on SQLite a statement is its own
    # transaction), unless the caller's write transaction is open (then it reads in that).
    params = {"distribution_id": distribution_id, "worker_id": worker_id, "card_id": card_id, "request_id": request_id}
    session = db.session()
    if session.info.get(WRITING):  # inside the caller's write transaction: read in it
        rows = session.connection().execute(_CLAIM_STATEMENT, params).all()
    else:
        rows = read_alone(_CLAIM_STATEMENT, params)
    if not rows:
        raise LookupError(f"no distribution {distribution_id}")
    first = rows[0]
    names = ("id", "status", "day", "eligibility", "packages_total", "packages_given")
    distribution = _Row(first[0], dict(zip(names, first[:6])))
    claimant = None if first[6] is None else Claimant(
        first[6], first[31], first[32], first[33],
        tuple((r[17], r[18], r[34], r[35], r[36]) for r in rows if r[17] is not None),
    )
    if first[20] is not None:  # this request id was answered before
        stored_collection = _collection_row(first[24:31])
        stored = ClaimResult(
            outcome=Outcome(first[23]), distribution_id=first[21], worker_id=first[22],
            packages_total=distribution.packages_total, packages_given=distribution.packages_given,
            replayed=True, **(_collection_fields(stored_collection) if stored_collection else {}),
        )
        return _ClaimFacts(stored, distribution, True, None, False, claimant)
    if first[6] is None:
        raise LookupError(f"no worker {worker_id}")
    card_ok = card_id is None or (first[7] is not None and first[8] == worker_id and first[9] is None)
    return _ClaimFacts(None, distribution, card_ok, _collection_row(first[10:17]), first[19] is not None, claimant)


def _claim_once(facts: _ClaimFacts, conn, *, distribution_id, worker_id, request_id, card_id, device_id, staff_id,
                station, hand_over, proxy_name, proxy_relation, handover_photo, no_card_reason) -> ClaimResult:
    """The write of one claim, on ``conn`` (``_writer``: the write lock is held): its answer
    stored for its request id, and for a package the conditional UPDATE and the collection with
    its audit event. Core statements only, no ORM unit of work: only the statements themselves
    belong inside the lock."""
    distribution = facts.distribution
    status = judge_pickup(
        distribution, worker_id, card_ok=facts.card_ok, existing=facts.existing,
        refusal=lambda: judge_rule(distribution.eligibility, distribution.day, periods=facts.periods,
                                   listed=facts.listed),
    )

    def refuse(outcome: Outcome, existing=None, given: int | None = None) -> ClaimResult:
        conn.execute(_INSERT_CLAIM_REQUEST, dict(  # a concurrent same request id fails here
            request_id=request_id, distribution_id=distribution_id, worker_id=worker_id,
            outcome=outcome.value, collection_id=existing.id if existing else None,
        ))
        return ClaimResult(
            outcome=outcome, distribution_id=distribution_id, worker_id=worker_id,
            packages_total=distribution.packages_total,
            packages_given=distribution.packages_given if given is None else given,
            **(_collection_fields(existing) if existing else {}),
        )

    if status.outcome is Outcome.CLOCK_WRONG:  # the clock went wrong since claim() asked
        return ClaimResult(outcome=Outcome.CLOCK_WRONG, distribution_id=distribution_id, worker_id=worker_id)
    if status.outcome is Outcome.CARD_REVOKED:
        return refuse(Outcome.CARD_REVOKED)
    if status.outcome is Outcome.ALREADY_COLLECTED:
        return refuse(Outcome.ALREADY_COLLECTED, facts.existing)
    if status.outcome is not None and status.outcome is not Outcome.SOLD_OUT:
        return refuse(status.outcome)
    # Sold out as read, or a package to take: the conditional UPDATE decides.
    now = utcnow()
    collection = dict(
        distribution_id=distribution_id, worker_id=worker_id, card_id=card_id, device_id=device_id,
        staff_id=staff_id, station=station, collected_at=now, no_card_reason=no_card_reason,
        proxy_name=None, proxy_relation=None, handed_over_at=None, handed_over_by_id=None,
        handover_request_id=None, handover_photo=None,
    )
    if hand_over:
        collection.update(
            handed_over_at=now, handed_over_by_id=staff_id, handover_request_id=request_id,
            proxy_name=proxy_name, proxy_relation=proxy_relation if proxy_name else None,
            handover_photo=handover_photo,
        )
    event = {  # the audit event's ``after``, but for the package's number (known once taken)
        "distribution_id": distribution_id, "worker_id": worker_id, "card_id": card_id, "station": station,
        "proxy_name": collection["proxy_name"], "request_id": request_id, "handed_over": hand_over,
        "no_card_reason": no_card_reason,
    }
    if conn.dialect.name == "postgresql":
        taken = _take_and_record(conn, collection, request_id, event)
    else:
        taken = _take_then_record(conn, collection, request_id, event)
    if taken is None:
        now_status, now_given = conn.execute(_DISTRIBUTION_NOW, {"id": distribution_id}).one()
        return refuse(Outcome.NOT_OPEN if now_status != "open" else Outcome.SOLD_OUT, given=now_given)
    collection["id"], collection["seq"], given, total = taken
    return ClaimResult(
        outcome=Outcome.COLLECTED, distribution_id=distribution_id, worker_id=worker_id,
        packages_total=total, packages_given=given, **_collection_fields(_Row(collection["id"], collection)),
    )


def _take_then_record(conn, collection: dict, request_id: str, event: dict) -> tuple | None:
    """SQLite: the package taken (the conditional UPDATE), then the collection, its answer and
    its audit event, one statement each: the write lock (``BEGIN IMMEDIATE``) is held from the
    first to the commit, every other writer waits. ``(collection id, seq, given, total)``, or
    None when no package was taken (nothing is written)."""
    row = conn.execute(_TAKE_PACKAGE, {"id": collection["distribution_id"]}).first()
    if row is None:
        return None
    seq, given, total = row
    # A concurrent duplicate of this worker fails here (the unique index).
    collection_id = conn.execute(_INSERT_COLLECTION, {**collection, "seq": seq}).scalar_one()
    conn.execute(_INSERT_CLAIM_REQUEST, dict(  # a concurrent same request id fails here
        request_id=request_id, distribution_id=collection["distribution_id"], worker_id=collection["worker_id"],
        outcome=Outcome.COLLECTED.value, collection_id=collection_id,
    ))
    audit.insert(
        "collection.create", "collection", collection_id, after={**event, "seq": seq},
        staff_id=collection["staff_id"], device_id=collection["device_id"], conn=conn,
    )
    return collection_id, seq, given, total


def _take_and_record(conn, collection: dict, request_id: str, event: dict) -> tuple | None:
    """PostgreSQL: the same four writes as ``_take_then_record`` in one statement
    (``_TAKE_AND_RECORD``), one round trip instead of four while the distribution's row is
    locked. A statement is atomic: a unique index that refuses its collection or its answer
    undoes its UPDATE too, as the rollback of the transaction does."""
    row = conn.execute(_TAKE_AND_RECORD, {
        **collection, "request_id": request_id, "outcome": Outcome.COLLECTED.value,
        "event": json.dumps(event, separators=(",", ":")),
    }).first()
    return tuple(row) if row is not None else None


_TAKE_PACKAGE = text(
    "UPDATE distribution SET packages_given = packages_given + 1, next_seq = next_seq + 1 "
    "WHERE id = :id AND status = 'open' AND packages_given < packages_total "
    "RETURNING next_seq - 1, packages_given, packages_total"
)
_DISTRIBUTION_NOW = select(Distribution.__table__.c.status, Distribution.__table__.c.packages_given).where(
    Distribution.__table__.c.id == bindparam("id"))
_INSERT_COLLECTION = insert(Collection.__table__).returning(Collection.__table__.c.id)
_INSERT_CLAIM_REQUEST = insert(ClaimRequest.__table__)


def _take_and_record_statement():
    """``_take_then_record``'s four writes as one PostgreSQL statement: the conditional UPDATE,
    then (from its row, so nothing when it took no package) the collection, the claim's answer
    and the audit event, each a data-modifying WITH query; it returns the collection's id and
    number and the distribution's counts, or no row."""
    dist, coll = Distribution.__table__, Collection.__table__
    req, events = ClaimRequest.__table__, AuditEvent.__table__
    at = bindparam("collected_at", type_=coll.c.collected_at.type)
    take = (
        update(dist)
        .where(dist.c.id == bindparam("distribution_id"), dist.c.status == "open",
               dist.c.packages_given < dist.c.packages_total)
        .values(packages_given=dist.c.packages_given + 1, next_seq=dist.c.next_seq + 1)
        .returning((dist.c.next_seq - 1).label("seq"), dist.c.packages_given, dist.c.packages_total)
        .cte("take")
    )
    typed = lambda table, *names: (bindparam(name, type_=table.c[name].type) for name in names)  # noqa: E731
    given = ("distribution_id", "worker_id", "card_id", "device_id", "staff_id", "station", "no_card_reason",
             "proxy_name", "proxy_relation", "handed_over_at", "handed_over_by_id", "handover_request_id",
             "handover_photo")
    made = (
        insert(coll)
        .from_select([*given, "collected_at", "seq"],
                     select(*typed(coll, *given), at, take.c.seq))
        .returning(coll.c.id, coll.c.seq)
        .cte("made")
    )
    answered = insert(req).from_select(
        ["request_id", "distribution_id", "worker_id", "outcome", "collection_id", "created_at"],
        select(*typed(req, "request_id", "distribution_id", "worker_id", "outcome"), made.c.id, at),
    ).cte("answered")
    after = cast(cast(bindparam("event", type_=String()), JSONB).op("||")(func.jsonb_build_object("seq", made.c.seq)),
                 events.c.after.type)
    audited = insert(events).from_select(
        ["at", "staff_id", "device_id", "action", "entity_type", "entity_id", "after"],
        select(at, *typed(events, "staff_id", "device_id"), literal("collection.create"), literal("collection"),
               made.c.id, after),
    ).cte("audited")
    return (
        select(made.c.id, made.c.seq, take.c.packages_given, take.c.packages_total)
        .select_from(made.join(take, true()))
        .add_cte(answered, audited)
    )


_TAKE_AND_RECORD = _take_and_record_statement()
