"""Sembako distributions (penyaluran): claiming a package, handing it over, voiding a
collection, opening and closing a distribution, its recipient list and the close-out report for
the BAST.

A package has two moments. **Claimed**: AMBIL at a kiosk (or the desk) reserves a package and
gives it its number. **Handed over**: desk staff give it to the person standing there
(``hand_over``). A desk claim for someone at the desk does both at once (``claim(...,
hand_over=True)``). The BAST counts what was handed over.

``claim`` is the one place that creates a ``Collection``. What makes it exactly-once is the
database, not Python:

- the partial unique index ``uq_collection_once_per_worker`` (one non-voided collection per
  worker per distribution) and ``UNIQUE(distribution_id, seq)``;
- a conditional ``UPDATE distribution SET packages_given = packages_given + 1 ... WHERE
  status = 'open' AND packages_given < packages_total RETURNING ...``: zero rows means closed or
  sold out, and the CHECK ``packages_given <= packages_total`` backs it up;
- everything in one ``write_transaction()`` (SQLite: ``BEGIN IMMEDIATE``, writers queue instead
  of failing with "database is locked"; PostgreSQL: the UPDATE takes the distribution's row lock,
  and a concurrent duplicate fails on the unique index with IntegrityError, answered as
  ALREADY_COLLECTED).

Each claim carries a request id; its first answer is stored in ``claim_request`` in the same
transaction, so a retry (double tap, slow network) gets that answer again (``replayed``).

``hand_over`` is exactly-once the same way: ``UPDATE collection SET handed_over_at = ... WHERE
id = ... AND handed_over_at IS NULL AND voided_at IS NULL``; zero rows means another desk (or
this one, a moment ago) was first. The handing desk's request id is kept on the row, so its own
retry is answered as the first time. The handover reads the distribution's status ``FOR SHARE``
(PostgreSQL), so it either lands before a close-out (and is in its frozen report) or sees the
distribution closed.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime

from flask import has_app_context
from .i18n import _l
from sqlalchemy import and_, bindparam, delete, exists, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from . import clock
from .audit import changes, record, snapshot
from .database import utcnow, write_transaction
from .extensions import db
from .i18n import waktu, waktu_id
from .models import (
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
from .nik import mask_nik

REQUEST_ID_MAX = 64
# A claim that lost a race on PostgreSQL (IntegrityError) is run again: the second run sees the
# winner's row and answers from it. Two runs are the normal worst case.
CLAIM_ATTEMPTS = 5
EDITABLE_FIELDS = (
    "name", "day", "place", "packages_total", "contents", "eligibility",
    "bast_number", "official_name", "official_nip", "official_title",
    "receiver_name", "receiver_title", "witness1_name", "witness2_name",
)


class Outcome(enum.Enum):
    """The answer to a claim. The values are stable strings (stored in ``claim_request``)."""

    COLLECTED = "collected"
    NOT_OPEN = "not_open"
    NO_COVERAGE = "no_coverage"
    COVERAGE_ENDED = "coverage_ended"
    COVERAGE_NOT_STARTED = "coverage_not_started"
    NOT_ON_LIST = "not_on_list"
    ALREADY_COLLECTED = "already_collected"
    SOLD_OUT = "sold_out"
    CARD_REVOKED = "card_revoked"
    CLOCK_WRONG = "clock_wrong"  # never stored: the claim was not tried (see kiosk.clock)


MESSAGES = {
    Outcome.NOT_OPEN: _l("Penyaluran sembako ini sedang tidak dibuka."),
    Outcome.NO_COVERAGE: _l("Tidak ada kepesertaan BPJS Ketenagakerjaan pada hari penyaluran."),
    Outcome.COVERAGE_ENDED: _l("Kepesertaan BPJS Ketenagakerjaan sudah berakhir sebelum hari penyaluran."),
    Outcome.COVERAGE_NOT_STARTED: _l("Kepesertaan BPJS Ketenagakerjaan belum mulai pada hari penyaluran."),
    Outcome.NOT_ON_LIST: _l("Nama tidak ada dalam daftar penerima penyaluran ini."),
    Outcome.SOLD_OUT: _l("Paket sembako sudah habis."),
    Outcome.CARD_REVOKED: _l("Kartu ini sudah tidak berlaku. Silakan ke meja petugas."),
    Outcome.CLOCK_WRONG: _l("Jam server belum benar, jadi paket belum bisa diserahkan. Hubungi petugas."),
}


class DistributionError(ValueError):
    """A distribution action refused; ``message`` says why, in the person's language."""

    def __init__(self, message):
        super().__init__(message)  # kept lazy: rendered in the person's language later
        self.message = message


def _when(moment: datetime) -> str:
    """A moment in Asia/Jakarta time, in the request's language when there is one."""
    if has_app_context():
        try:
            return waktu(moment)
        except (RuntimeError, KeyError):
            pass
    return waktu_id(moment)


@dataclass(frozen=True)
class ClaimResult:
    """The answer to a claim (or, from ``status_for``, to "what would a claim answer now").

    ``collection_id``/``seq``/``collected_at``/``station`` describe the new collection, or for
    ALREADY_COLLECTED the existing one. ``replayed`` is True when the answer was stored for a
    request id seen before.
    """

    outcome: Outcome
    distribution_id: int
    worker_id: int | None
    collection_id: int | None = None
    seq: int | None = None
    packages_total: int = 0
    packages_given: int = 0
    collected_at: datetime | None = None
    station: str | None = None
    replayed: bool = False
    proxy_name: str | None = None
    proxy_relation: str | None = None
    handed_over_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when a package was claimed by this claim."""
        return self.outcome is Outcome.COLLECTED

    @property
    def packages_left(self) -> int:
        return max(0, self.packages_total - self.packages_given)

    @property
    def message(self):
        """What to tell the person, in words (lazy, Indonesian msgid)."""
        if self.outcome is Outcome.COLLECTED:
            return _l("Paket ke-%(seq)s dari %(total)s", seq=self.seq, total=self.packages_total)
        if self.outcome is Outcome.ALREADY_COLLECTED:
            if self.collected_at is None:
                return _l("Paket sudah diambil.")
            if self.handed_over_at is None:
                return _l("Sudah diambil pada %(when)s, nomor %(seq)s, belum diserahkan.",
                          when=_when(self.collected_at), seq=self.seq)
            if self.station:
                return _l("Sudah diambil pada %(when)s di %(station)s",
                          when=_when(self.collected_at), station=self.station)
            return _l("Sudah diambil pada %(when)s", when=_when(self.collected_at))
        return MESSAGES[self.outcome]


@dataclass(frozen=True)
class PickupStatus(ClaimResult):
    """Read-only view for a screen: ``outcome`` is None when the worker may collect now."""

    @property
    def eligible(self) -> bool:
        """True when a claim now would hand out a package (barring a race)."""
        return self.outcome is None

    @property
    def ok(self) -> bool:
        return self.outcome is None

    @property
    def message(self):
        if self.outcome is None:
            return _l("Paket Anda tersedia.")
        return super().message


# ---- reading --------------------------------------------------------------------------------


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


def rule_refusal(distribution: Distribution, worker: Worker, day: date | None = None) -> Outcome | None:
    """Whether the distribution's eligibility rule admits ``worker`` (on ``day``, default the
    distribution's day): None, or NOT_ON_LIST / NO_COVERAGE / COVERAGE_ENDED /
    COVERAGE_NOT_STARTED. Ignores open/closed, stock and earlier collections."""
    if distribution.eligibility == "list":
        listed = db.session.scalar(
            select(exists().where(
                DistributionListEntry.distribution_id == distribution.id,
                DistributionListEntry.worker_id == worker.id,
            ))
        )
        return judge_rule("list", distribution.day, listed=listed)
    periods = db.session.execute(
        select(Coverage.start_date, Coverage.end_date).where(Coverage.worker_id == worker.id)
    ).all()
    return judge_rule(distribution.eligibility, day or distribution.day, periods=periods)


def judge_rule(eligibility: str, day: date, *, periods=(), listed: bool = False) -> Outcome | None:
    """``rule_refusal`` on what was read already: the worker's coverage ``periods`` (each with
    ``start_date``/``end_date``, or ``(start, end)`` pairs) or whether they are ``listed``."""
    if eligibility == "list":
        return None if listed else Outcome.NOT_ON_LIST
    spans = [(p.start_date, p.end_date) if hasattr(p, "start_date") else tuple(p) for p in periods]
    if not spans:
        return Outcome.NO_COVERAGE
    if any(start <= day <= end for start, end in spans):
        return None
    if any(start > day for start, _end in spans):
        return Outcome.COVERAGE_NOT_STARTED
    return Outcome.COVERAGE_ENDED


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


def eligibility(distribution: Distribution, worker: Worker, day: date | None = None) -> Outcome | None:
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


# ---- claiming -------------------------------------------------------------------------------


def claim(
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
) -> ClaimResult:
    """Claim one sembako package for ``worker_id`` — exactly once per distribution, never
    beyond the number of packages — or say why not. ``card_id`` is the card scanned (None: the
    staff member at the desk is the proof, ``no_card_reason`` says why). With ``hand_over``
    (the desk, the person standing there) the package is handed over by ``staff`` in the same
    step, to ``proxy_name`` if given, with the handover photo. The same ``request_id`` again
    returns the first answer with ``replayed=True``. Raises LookupError for an unknown
    distribution or worker."""
    request_id = (request_id or "").strip()
    if not request_id or len(request_id) > REQUEST_ID_MAX:
        raise ValueError("request_id must be 1 to 64 characters")
    if hand_over and staff is None:
        raise ValueError("only a staff member hands a package over")
    if not clock.trusted():  # a claim's time must be believable (kiosk.clock); nothing is stored
        return ClaimResult(outcome=Outcome.CLOCK_WRONG, distribution_id=distribution_id, worker_id=worker_id)
    args = dict(
        distribution_id=distribution_id, worker_id=worker_id, request_id=request_id,
        card_id=card_id, device=device, staff=staff, station=(station or "")[:80],
        hand_over=hand_over, proxy_name=_clean(proxy_name, 120),
        proxy_relation=_clean(proxy_relation, 60), handover_photo=handover_photo,
        no_card_reason=_clean(no_card_reason, 200) if card_id is None else None,
    )
    for _attempt in range(CLAIM_ATTEMPTS):
        facts = _claim_facts(distribution_id, worker_id, request_id, card_id)
        if facts.stored is not None:
            return facts.stored  # a retry: the first answer again, nothing to write
        try:
            with write_transaction():
                return _claim_once(facts, **args)
        except IntegrityError:
            # A concurrent claim of the same worker or the same request id won (PostgreSQL:
            # at once; SQLite: after it committed). Everything of this attempt is rolled back;
            # the next one reads the winner's rows and answers from them.
            db.session.rollback()
            continue
    raise RuntimeError("claim did not settle")  # pragma: no cover - needs 5 lost races in a row


def _clean(value: str | None, limit: int) -> str | None:
    value = " ".join((value or "").split())
    return value[:limit] or None


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
    periods: tuple
    listed: bool


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
    rows = db.session.connection().execute(_CLAIM_STATEMENT, {
        "distribution_id": distribution_id, "worker_id": worker_id, "card_id": card_id, "request_id": request_id,
    }).all()
    if not rows:
        raise LookupError(f"no distribution {distribution_id}")
    first = rows[0]
    names = ("id", "status", "day", "eligibility", "packages_total", "packages_given")
    distribution = _Row(first[0], dict(zip(names, first[:6])))
    if first[20] is not None:  # this request id was answered before
        stored_collection = _collection_row(first[24:31])
        stored = ClaimResult(
            outcome=Outcome(first[23]), distribution_id=first[21], worker_id=first[22],
            packages_total=distribution.packages_total, packages_given=distribution.packages_given,
            replayed=True, **(_collection_fields(stored_collection) if stored_collection else {}),
        )
        return _ClaimFacts(stored, distribution, True, None, (), False)
    if first[6] is None:
        raise LookupError(f"no worker {worker_id}")
    card_ok = card_id is None or (first[7] is not None and first[8] == worker_id and first[9] is None)
    periods = tuple((r[17], r[18]) for r in rows if r[17] is not None)
    return _ClaimFacts(None, distribution, card_ok, _collection_row(first[10:17]), periods, first[19] is not None)


def _claim_once(facts: _ClaimFacts, *, distribution_id, worker_id, request_id, card_id, device, staff,
                station, hand_over, proxy_name, proxy_relation, handover_photo, no_card_reason) -> ClaimResult:
    """The write of one claim (inside ``write_transaction``): its answer stored for its request
    id, and for a package the conditional UPDATE and the collection with its audit event."""
    session = db.session
    distribution = facts.distribution
    status = judge_pickup(
        distribution, worker_id, card_ok=facts.card_ok, existing=facts.existing,
        refusal=lambda: judge_rule(distribution.eligibility, distribution.day, periods=facts.periods,
                                   listed=facts.listed),
    )

    def refuse(outcome: Outcome, existing=None, given: int | None = None) -> ClaimResult:
        session.add(ClaimRequest(
            request_id=request_id, distribution_id=distribution_id, worker_id=worker_id,
            outcome=outcome.value, collection_id=existing.id if existing else None,
        ))
        session.flush()  # a concurrent same request id fails here, before the commit
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
    row = session.execute(
        text(
            "UPDATE distribution SET packages_given = packages_given + 1, next_seq = next_seq + 1 "
            "WHERE id = :id AND status = 'open' AND packages_given < packages_total "
            "RETURNING next_seq - 1, packages_given, packages_total"
        ),
        {"id": distribution_id},
    ).first()
    if row is None:
        now_status, now_given = session.execute(
            select(Distribution.status, Distribution.packages_given).where(Distribution.id == distribution_id)
        ).one()
        return refuse(Outcome.NOT_OPEN if now_status != "open" else Outcome.SOLD_OUT, given=now_given)
    seq, given, total = row
    now = utcnow()
    collection = Collection(
        distribution_id=distribution_id, worker_id=worker_id, card_id=card_id,
        device_id=device.id if device is not None else None,
        staff_id=staff.id if staff is not None else None,
        station=station, seq=seq, collected_at=now, no_card_reason=no_card_reason,
    )
    if hand_over:
        collection.handed_over_at = now
        collection.handed_over_by_id = staff.id
        collection.handover_request_id = request_id
        collection.proxy_name = proxy_name
        collection.proxy_relation = proxy_relation if proxy_name else None
        collection.handover_photo = handover_photo
    session.add(collection)
    session.flush()  # a concurrent duplicate of this worker fails here (the unique index)
    session.add(ClaimRequest(
        request_id=request_id, distribution_id=distribution_id, worker_id=worker_id,
        outcome=Outcome.COLLECTED.value, collection_id=collection.id,
    ))
    record(
        "collection.create", collection,
        after={
            "distribution_id": distribution_id, "worker_id": worker_id, "seq": seq,
            "card_id": card_id, "station": station, "proxy_name": collection.proxy_name,
            "request_id": request_id, "handed_over": hand_over,
            "no_card_reason": no_card_reason,
        },
        staff=staff, device=device,
    )
    session.flush()  # a concurrent same request id fails here, before the commit
    return ClaimResult(
        outcome=Outcome.COLLECTED, distribution_id=distribution_id, worker_id=worker_id,
        packages_total=total, packages_given=given, **_collection_fields(collection),
    )


# ---- handing over ---------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Progress:
    """A distribution's figures: packages claimed, handed over, claimed but not handed over,
    and left to claim."""

    total: int
    claimed: int
    handed_over: int

    @property
    def waiting(self) -> int:
        return self.claimed - self.handed_over

    @property
    def left(self) -> int:
        return max(0, self.total - self.claimed)


def progress(distribution: Distribution) -> Progress:
    """Claimed / handed over / left for ``distribution`` (one query)."""
    claimed, handed = db.session.execute(
        select(func.count(), func.count(Collection.handed_over_at))
        .where(Collection.distribution_id == distribution.id, Collection.voided_at.is_(None))
    ).one()
    return Progress(total=distribution.packages_total, claimed=claimed, handed_over=handed)


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


# ---- managing a distribution ----------------------------------------------------------------


def save(distribution: Distribution | None, fields: dict, *, staff: Staff | None) -> Distribution:
    """Create a distribution (``distribution`` None) or change its details; audited. The
    number of packages cannot go below what was already handed out (DistributionError)."""
    fields = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
    with write_transaction():
        if distribution is None:
            distribution = Distribution(status="draft", packages_given=0, next_seq=1,
                                        created_by_id=staff.id if staff else None, **fields)
            db.session.add(distribution)
            db.session.flush()
            record("distribution.create", distribution, after=snapshot(distribution, fields), staff=staff)
            return distribution
        distribution = db.session.get(Distribution, distribution.id, populate_existing=True)
        if "packages_total" in fields and fields["packages_total"] < distribution.packages_given:
            raise DistributionError(_l(
                "Jumlah paket tidak boleh kurang dari yang sudah diserahkan (%(given)s).",
                given=distribution.packages_given,
            ))
        before = snapshot(distribution, fields)
        for name, value in fields.items():
            setattr(distribution, name, value)
        old, new = changes(before, snapshot(distribution, fields))
        if new:
            record("distribution.update", distribution, before=old, after=new, staff=staff)
    return distribution


def open_distribution(distribution_id: int, *, staff: Staff | None) -> Distribution:
    """Open a draft or closed distribution for pickup. Audited."""
    with write_transaction():
        now = utcnow()
        changed = db.session.execute(
            update(Distribution)
            .where(Distribution.id == distribution_id, Distribution.status != "open")
            .values(status="open", opened_at=now, closed_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        distribution = db.session.get(Distribution, distribution_id, populate_existing=True)
        if distribution is None:
            raise LookupError(f"no distribution {distribution_id}")
        if changed:
            record("distribution.open", distribution, after={"status": "open"}, staff=staff)
    return distribution


class UnhandedPackages(DistributionError):
    """Closing was refused: ``count`` packages are claimed but not handed over; the person
    closing must say what happens to them (``close_distribution(unhanded=...)``)."""

    def __init__(self, count: int):
        super().__init__(_l("%(n)s paket sudah diambil tetapi belum diserahkan.", n=count))
        self.count = count


UNHANDED_CHOICES = ("keep", "void")
UNHANDED_VOID_REASON = "Belum diserahkan saat penyaluran ditutup"


def close_distribution(distribution_id: int, *, staff: Staff | None, unhanded: str | None = None) -> Distribution:
    """Close a distribution and freeze its recipient and non-recipient lists into
    ``frozen_report`` for the BAST. Audited.

    Packages claimed but not handed over need a decision: ``unhanded="keep"`` leaves them
    claimed (the BAST lists them apart; re-opening lets the desk hand them over), ``"void"``
    voids them (back in stock, the workers may claim again when re-opened). Without one, a
    close with such packages raises ``UnhandedPackages`` and nothing changes."""
    if unhanded is not None and unhanded not in UNHANDED_CHOICES:
        raise ValueError(f"unknown choice {unhanded!r}")
    with write_transaction():
        # The UPDATE comes first: on PostgreSQL it waits for claims holding the row, so the
        # report below sees every collection that made it in.
        changed = db.session.execute(
            update(Distribution)
            .where(Distribution.id == distribution_id, Distribution.status == "open")
            .values(status="closed", closed_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        distribution = db.session.get(Distribution, distribution_id, populate_existing=True)
        if distribution is None:
            raise LookupError(f"no distribution {distribution_id}")
        if not changed:
            raise DistributionError(_l("Penyaluran ini tidak sedang dibuka."))
        unhanded_rows = waiting(distribution_id)
        if unhanded_rows and unhanded is None:
            raise UnhandedPackages(len(unhanded_rows))
        if unhanded_rows and unhanded == "void":
            _void_unhanded(distribution, unhanded_rows, staff)
        distribution.frozen_report = build_report(distribution)
        record("distribution.close", distribution,
               after={"status": "closed", "packages_given": distribution.packages_given}, staff=staff)
    return distribution


def _void_unhanded(distribution: Distribution, rows: list[Collection], staff: Staff | None) -> None:
    """Void the claimed-not-handed-over ``rows`` at close-out (inside its transaction)."""
    now = utcnow()
    ids = [c.id for c in rows]
    voided = db.session.execute(
        update(Collection)
        .where(Collection.id.in_(ids), Collection.handed_over_at.is_(None), Collection.voided_at.is_(None))
        .values(voided_at=now, voided_by_id=staff.id if staff else None, void_reason=UNHANDED_VOID_REASON)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(
        text("UPDATE distribution SET packages_given = packages_given - :n WHERE id = :id"),
        {"n": voided, "id": distribution.id},
    )
    for c in rows:
        record("collection.void", c, before={"voided_at": None},
               after={"voided_at": now, "void_reason": UNHANDED_VOID_REASON, "seq": c.seq,
                      "worker_id": c.worker_id}, staff=staff)
    db.session.refresh(distribution)


def collections(distribution_id: int, *, include_voided: bool = False, newest_first: bool = False,
                limit: int | None = None) -> list[Collection]:
    """The distribution's collections (with their workers), by sequence number or newest first."""
    query = select(Collection).options(joinedload(Collection.worker)).where(
        Collection.distribution_id == distribution_id
    )
    if not include_voided:
        query = query.where(Collection.voided_at.is_(None))
    query = query.order_by(Collection.seq.desc() if newest_first else Collection.seq)
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def eligible_query(distribution: Distribution):
    """A select of the workers the distribution's rule admits (on its day)."""
    if distribution.eligibility == "list":
        return select(Worker).join(
            DistributionListEntry,
            and_(DistributionListEntry.worker_id == Worker.id,
                 DistributionListEntry.distribution_id == distribution.id),
        )
    covered = exists().where(
        Coverage.worker_id == Worker.id,
        Coverage.start_date <= distribution.day,
        Coverage.end_date >= distribution.day,
    )
    return select(Worker).where(covered)


def not_collected(distribution: Distribution) -> list[Worker]:
    """Eligible workers without a (non-voided) collection yet, by kecamatan, desa and name."""
    collected = exists().where(
        Collection.distribution_id == distribution.id,
        Collection.worker_id == Worker.id,
        Collection.voided_at.is_(None),
    )
    query = eligible_query(distribution).where(~collected).order_by(
        Worker.kecamatan_code, Worker.desa_name, Worker.name
    )
    return list(db.session.scalars(query))


def build_report(distribution: Distribution) -> dict:
    """The lists for the BAST as JSON-ready data (frozen at close-out): recipients (handed
    over), claimed but not handed over, voided, and eligible workers who did not claim."""
    def person(worker: Worker) -> dict:
        return {
            "worker_id": worker.id, "name": worker.name, "nik_masked": mask_nik(worker.nik),
            "desa": worker.desa_name, "kecamatan_code": worker.kecamatan_code,
        }

    recipients, unhanded = [], []
    for c in collections(distribution.id):
        row = {
            "seq": c.seq, **person(c.worker),
            "time": c.collected_at.isoformat(), "time_text": waktu_id(c.collected_at),
            "station": c.station, "proxy_name": c.proxy_name, "proxy_relation": c.proxy_relation,
            "by_card": c.card_id is not None,
        }
        if c.handed_over_at is None:
            unhanded.append(row)
        else:
            recipients.append({**row, "handed_over_at": c.handed_over_at.isoformat(),
                               "handed_over_text": waktu_id(c.handed_over_at)})
    voided = [
        {"seq": c.seq, **person(c.worker), "voided_at": c.voided_at.isoformat(), "reason": c.void_reason}
        for c in collections(distribution.id, include_voided=True) if c.voided_at is not None
    ]
    return {
        "frozen_at": utcnow().isoformat(),
        "distribution_id": distribution.id,
        "name": distribution.name,
        "day": distribution.day.isoformat(),
        "place": distribution.place,
        "packages_total": distribution.packages_total,
        "packages_given": distribution.packages_given,
        "packages_handed_over": len(recipients),
        "recipients": recipients,
        "claimed_not_handed_over": unhanded,
        "non_recipients": [person(w) for w in not_collected(distribution)],
        "voided": voided,
    }


# ---- the list (eligibility "list") ----------------------------------------------------------


@dataclass(frozen=True)
class ListChange:
    """What adding NIKs to a list did: added, already listed, and lines that were not found."""

    added: int
    already: int
    unknown: tuple[str, ...] = ()


NIK_RE = re.compile(r"\d{16}")


def add_to_list(distribution_id: int, worker_ids: list[int], *, staff: Staff | None) -> ListChange:
    """Put workers on the distribution's list (already listed ones are skipped). Audited."""
    with write_transaction():
        distribution = db.session.get(Distribution, distribution_id)
        if distribution is None:
            raise LookupError(f"no distribution {distribution_id}")
        wanted = set(db.session.scalars(select(Worker.id).where(Worker.id.in_(set(worker_ids)))))
        present = set(db.session.scalars(select(DistributionListEntry.worker_id).where(
            DistributionListEntry.distribution_id == distribution_id,
            DistributionListEntry.worker_id.in_(wanted),
        )))
        new = sorted(wanted - present)
        for worker_id in new:
            db.session.add(DistributionListEntry(distribution_id=distribution_id, worker_id=worker_id))
        if new:
            record("distribution.list_add", distribution, after={"worker_ids": new}, staff=staff)
    return ListChange(added=len(new), already=len(present))


def add_niks_to_list(distribution_id: int, pasted: str, *, staff: Staff | None) -> ListChange:
    """Put the workers whose NIKs were pasted (one per line, spaces and dots allowed) on the
    list; NIKs of nobody enrolled are returned in ``unknown``."""
    niks, unknown = [], []
    for line in (pasted or "").splitlines():
        digits = re.sub(r"[\s.\-]", "", line)
        if not digits:
            continue
        if NIK_RE.fullmatch(digits):
            niks.append(digits)
        else:
            unknown.append(line.strip()[:40])
    found = dict(db.session.execute(select(Worker.nik, Worker.id).where(Worker.nik.in_(set(niks)))).all())
    unknown += [nik for nik in dict.fromkeys(niks) if nik not in found]
    change = add_to_list(distribution_id, list(found.values()), staff=staff)
    return ListChange(added=change.added, already=change.already, unknown=tuple(unknown))


def remove_from_list(distribution_id: int, worker_id: int, *, staff: Staff | None) -> bool:
    """Take a worker off the list (an earlier collection stays). Audited."""
    with write_transaction():
        removed = db.session.execute(
            delete(DistributionListEntry).where(
                DistributionListEntry.distribution_id == distribution_id,
                DistributionListEntry.worker_id == worker_id,
            )
        ).rowcount
        if removed:
            distribution = db.session.get(Distribution, distribution_id)
            record("distribution.list_remove", distribution, after={"worker_id": worker_id}, staff=staff)
    return bool(removed)


def listed_workers(distribution_id: int) -> list[Worker]:
    """The workers on the distribution's list, by name."""
    return list(db.session.scalars(
        select(Worker).join(DistributionListEntry, DistributionListEntry.worker_id == Worker.id)
        .where(DistributionListEntry.distribution_id == distribution_id)
        .order_by(Worker.name)
    ))
