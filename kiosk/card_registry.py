"""The cards the office has issued: issue, reissue, revoke, find the card behind a scanned token
or a typed fallback code, what a card shows when printed, and the card-signing keys' life cycle.

``kiosk.tokens`` decides whether a token is genuine; this module adds what only the database
knows (does the card exist, is it still valid, which key was it printed with). Every write lands
whole with its audit event.

A card is printed with the key recorded in ``Card.key_id`` when it was issued, and its token is
always signed with that key, so a reprint is the same card. Retiring a key therefore refuses
exactly the cards whose ``key_id`` is that key (by QR and by fallback code alike): those workers
need a reissued card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import logging
import threading

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from . import photos, settings, tokens
from .audit import record
from .database import in_write_transaction, utcnow, write_transaction
from .extensions import db
from .i18n import _l
from .models import Card, CardKey, Staff, Worker
from .nik import mask_nik
from .tokens import Refusal

log = logging.getLogger(__name__)
_RING_LOCK = threading.Lock()

_ISSUE_ATTEMPTS = 5
# Card.id is a 32-bit INTEGER on PostgreSQL; a genuine token can name any 40-bit id, and asking
# PostgreSQL for a larger one is an error, not a miss.
_MAX_CARD_ROW_ID = 2**31 - 1


class CardError(Exception):
    """A card action that cannot be done; ``message`` says why, for staff (lazy, translatable)."""

    message = _l("Kartu tidak bisa diproses.")

    def __init__(self, card: Card | None = None):
        super().__init__(self.__class__.__name__)
        self.card = card


class CardExists(CardError):
    """The worker already has a valid card: reissue it instead of issuing another."""

    message = _l("Pekerja ini sudah punya kartu yang berlaku.")


class CardNotValid(CardError):
    """The card was revoked already (a second tap, or another staff member was quicker)."""

    message = _l("Kartu ini sudah dicabut sebelumnya.")


class _CardKeyEntity:
    """Stands in for a model row in the audit trail of key rotation and retirement."""

    __tablename__ = "card_key"
    id = None


class DatabaseRegistry:
    """The installation's card keys as the database holds them (table ``card_key``). Written in
    the caller's write transaction when there is one, so a rotation lands with its audit event or
    not at all. Read there too (it sees its own writes, and holds the write lock on SQLite);
    otherwise on a connection of its own, so the state a process keeps for a few seconds is the
    latest and never an older snapshot that a long request's read transaction still looks at."""

    def load(self) -> tokens.RingState:
        query = select(CardKey.id, CardKey.fingerprint, CardKey.retired_at)
        if in_write_transaction():
            rows = db.session.execute(query).all()
        else:
            with db.engine.connect() as conn:
                rows = conn.execute(query).all()
        return tokens.RingState(
            {row.id: row.fingerprint for row in rows},
            frozenset(row.id for row in rows if row.retired_at is not None),
        )

    def add(self, key_id: str, fingerprint: str) -> None:
        db.session.add(CardKey(id=key_id, fingerprint=fingerprint))
        db.session.flush()

    def retire(self, key_id: str) -> None:
        db.session.execute(
            update(CardKey).where(CardKey.id == key_id, CardKey.retired_at.is_(None)).values(retired_at=utcnow())
        )

    def writing(self):
        return write_transaction()  # joins the caller's, if one is open


def keyring() -> tokens.KeyRing:
    """The app's card-signing key ring, opened once per app: the keys this server holds
    (``<secrets>/card-keys/``, ``KIOSK_CARD_KEYS``) checked against the database's registry.

    Opening it registers this server's keys on an installation that has none yet. A server
    lacking keys the installation uses is refused at start (``kiosk.installation``); here its
    problem is logged, and those keys' cards are refused and not printed. Call it outside a
    write transaction (it may open one)."""
    ring = current_app.extensions.get("card_keyring")
    if ring is not None:
        return ring
    with _RING_LOCK:
        ring = current_app.extensions.get("card_keyring")
        if ring is None:
            store = tokens.KeyStore(f"{current_app.config['SECRETS_DIR']}/card-keys", current_app.config.get("CARD_KEYS"))
            ring = tokens.KeyRing(store, DatabaseRegistry())
            for _attempt in range(2):
                try:
                    ring.ensure()
                except IntegrityError:
                    continue  # another process registered the first key at the same moment: check it
                except tokens.KeyRingError as exc:
                    log.error("card keys: %s", exc)
                break
            current_app.extensions["card_keyring"] = ring
    return ring


def token_for(card: Card) -> str:
    """The QR token printed on ``card``, signed with the key the card was issued with."""
    return tokens.sign(card.id, keyring(), key_id=card.key_id)



def needs_reissue(card: Card) -> bool:
    """True when ``card`` is valid but printed with a retired key (the kiosk refuses it)."""
    return card.revoked_at is None and card.key_id in keyring().retired_ids


@dataclass(frozen=True)
class CardLookup:
    """A scanned or typed code, resolved: the card and its worker, or why it is refused.

    ``card`` is also set for a revoked card and for a card printed with a retired key, so the
    desk can see whose card it was; only ``ok`` means a usable card.
    """

    card: Card | None = None
    refusal: Refusal | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None

    @property
    def worker(self) -> Worker | None:
        return self.card.worker if self.card is not None else None


@dataclass(frozen=True)
class CardQuery:
    """What a scanned or typed code asks the database for: the card whose ``column`` ("id" or
    "fallback_code") is ``value``, refused with ``missing`` when there is none; or, when
    ``column`` is None, no card at all: ``refusal`` says why."""

    column: str | None = None
    value: object = None
    missing: Refusal = Refusal.UNKNOWN_CARD
    refusal: Refusal | None = None


def locate(raw: str) -> CardQuery:
    """Check a QR token's signature (or read a fallback code) without touching the database."""
    raw = raw if isinstance(raw, str) else ""
    check = tokens.read(raw, keyring())
    if check.ok or check.reason is Refusal.RETIRED_KEY:
        # A genuine token of a retired key still names its card: refused by ``judge``, with the card.
        missing = Refusal.RETIRED_KEY if check.reason is Refusal.RETIRED_KEY else Refusal.UNKNOWN_CARD
        if check.card_id > _MAX_CARD_ROW_ID:
            return CardQuery(refusal=missing)
        return CardQuery("id", check.card_id, missing=missing)
    if check.reason is Refusal.MALFORMED:
        code = tokens.normalize_fallback_code(raw)
        if code is None:
            return CardQuery(refusal=Refusal.MALFORMED)
        return CardQuery("fallback_code", code)
    return CardQuery(refusal=check.reason)


def judge(card, query: CardQuery) -> CardLookup:
    """The answer for the card found for ``query`` (a Card, or any row with ``revoked_at`` and
    ``key_id``; None when none was found): valid, revoked, or printed with a retired key."""
    if card is None:
        return CardLookup(refusal=query.missing)
    if card.revoked_at is not None:
        return CardLookup(card=card, refusal=Refusal.REVOKED)
    if card.key_id in keyring().retired_ids:
        return CardLookup(card=card, refusal=Refusal.RETIRED_KEY)
    return CardLookup(card=card)


def resolve(raw: str) -> CardLookup:
    """Find the valid card behind a QR token or a fallback code. Never raises on bad input."""
    query = locate(raw)
    if query.column is None:
        return CardLookup(refusal=query.refusal)
    card = db.session.scalar(select(Card).where(getattr(Card, query.column) == query.value))
    return judge(card, query)


def valid_card(worker: Worker) -> Card | None:
    """The worker's valid card, if any."""
    return db.session.scalar(
        select(Card).where(Card.worker_id == worker.id, Card.revoked_at.is_(None))
    )


def issue(worker: Worker, *, staff: Staff | None) -> Card:
    """Issue the first card for a worker who has no valid card. Raises ``CardExists`` when the
    worker has one (a second tap lands here, not on a second card). Audited."""
    worker_id = worker.id
    key_id = keyring().signing_id()
    for _attempt in range(_ISSUE_ATTEMPTS):
        try:
            with write_transaction():
                current = db.session.scalar(
                    select(Card).where(Card.worker_id == worker_id, Card.revoked_at.is_(None))
                )
                if current is not None:
                    raise CardExists(current)
                card = _new_card(worker_id, key_id, staff=staff, replaces=None)
            return card
        except IntegrityError:
            continue  # a fallback code clash, or a concurrent issue: look again
    raise RuntimeError("could not issue a card")


def reissue(card: Card, *, staff: Staff | None, reason: str) -> Card:
    """Replace ``card`` (lost, damaged, ...): revoke it with ``reason`` and issue a new card for
    the same worker, in one transaction. Raises ``CardNotValid`` if ``card`` is already revoked.
    Audited."""
    card_id, worker_id = card.id, card.worker_id
    key_id = keyring().signing_id()
    for _attempt in range(_ISSUE_ATTEMPTS):
        try:
            with write_transaction():
                old = _locked_card(card_id)
                if old.revoked_at is not None:
                    raise CardNotValid(old)
                _revoke(old, staff=staff, reason=reason)
                db.session.flush()  # the partial unique index must see the old card revoked
                new = _new_card(worker_id, key_id, staff=staff, replaces=old.id)
            return new
        except IntegrityError:
            continue
    raise RuntimeError("could not reissue a card")


def revoke(card: Card, *, staff: Staff | None, reason: str) -> Card:
    """Revoke ``card`` (stolen, wrong person, worker left) with a reason. Raises
    ``CardNotValid`` if it is already revoked. Audited."""
    card_id = card.id
    with write_transaction():
        card = _locked_card(card_id)
        if card.revoked_at is not None:
            raise CardNotValid(card)
        _revoke(card, staff=staff, reason=reason)
    return card


def issue_many(workers: Iterable[Worker], *, staff: Staff | None) -> list[Card]:
    """Issue a first card to each of ``workers`` that has no valid card, all in one transaction
    (all or none). Workers who have one are skipped. Audited per card."""
    worker_ids = sorted({w.id for w in workers})
    key_id = keyring().signing_id()
    for _attempt in range(_ISSUE_ATTEMPTS):
        try:
            with write_transaction():
                having = set(
                    db.session.scalars(
                        select(Card.worker_id).where(
                            Card.worker_id.in_(worker_ids), Card.revoked_at.is_(None)
                        )
                    )
                ) if worker_ids else set()
                cards = [
                    _new_card(worker_id, key_id, staff=staff, replaces=None)
                    for worker_id in worker_ids
                    if worker_id not in having
                ]
            return cards
        except IntegrityError:
            continue
    raise RuntimeError("could not issue the cards")


def _locked_card(card_id: int) -> Card:
    # FOR UPDATE on PostgreSQL (SQLite's write transaction already holds the database lock), so
    # two staff revoking the same card queue instead of both revoking it.
    card = db.session.scalar(
        select(Card).where(Card.id == card_id).with_for_update().execution_options(
            populate_existing=True
        )
    )
    if card is None:
        raise CardNotValid(None)
    return card


def _new_card(worker_id: int, key_id: str, *, staff: Staff | None, replaces: int | None) -> Card:
    card = Card(
        worker_id=worker_id,
        fallback_code=tokens.new_fallback_code(),
        key_id=key_id,
        issued_by_id=staff.id if staff else None,
    )
    db.session.add(card)
    db.session.flush()
    record(
        "card.issue",
        card,
        after={"worker_id": worker_id, "key_id": card.key_id, "replaces": replaces},
        staff=staff,
    )
    return card


def _revoke(card: Card, *, staff: Staff | None, reason: str) -> None:
    card.revoked_at = utcnow()
    card.revoked_by_id = staff.id if staff else None
    card.revoke_reason = (reason or "").strip()[:200]
    record(
        "card.revoke",
        card,
        before={"revoked_at": None},
        after={"revoked_at": card.revoked_at, "revoke_reason": card.revoke_reason},
        staff=staff,
    )


def rotate_key(*, staff: Staff | None = None) -> str:
    """Make a new signing key current (registered for every server; its key file is made in
    this server's secrets folder); cards already printed keep working. Audited."""
    ring = keyring()
    for _attempt in range(2):
        try:
            with write_transaction():
                ring.forget_cached_state()
                before = ring.current_id
                key_id = ring.rotate()
                record("card_key.rotate", _CardKeyEntity(), before={"current": before},
                       after={"current": key_id}, staff=staff)
            return key_id
        except IntegrityError:
            ring.forget_cached_state()  # another server rotated at the same moment: next slot
    raise tokens.KeyRingError("the card key could not be rotated; try again")


def cards_signed_with(key_id: str) -> list[Card]:
    """The valid cards printed with ``key_id``, with their workers, by worker name."""
    return list(
        db.session.scalars(
            select(Card)
            .join(Worker, Card.worker_id == Worker.id)
            .where(Card.key_id == key_id, Card.revoked_at.is_(None))
            .options(selectinload(Card.worker))
            .order_by(Worker.name, Worker.id)
        )
    )


def retire_key(key_id: str, *, staff: Staff | None = None) -> list[Card]:
    """Refuse every card printed with ``key_id`` from now on; returns the valid cards that this
    stops (their workers need a reissued card). The current key cannot be retired
    (``tokens.KeyRingError``). Audited."""
    ring = keyring()
    stopped = cards_signed_with(key_id)
    with write_transaction():
        ring.forget_cached_state()
        ring.retire(key_id)
        record("card_key.retire", _CardKeyEntity(), after={
            "key_id": key_id, "valid_cards_stopped": len(stopped)}, staff=staff)
    return stopped


def card_face(card: Card):
    """What ``card`` shows when printed (``kiosk.cards.CardFace``): photo, name, masked NIK,
    KPJ, the latest coverage period, the token and the fallback code."""
    from .cards import CardFace

    worker = card.worker
    coverage = worker.coverages[0] if worker.coverages else None
    return CardFace(
        token=token_for(card),
        fallback_code=card.fallback_code,
        name=worker.name,
        masked_nik=mask_nik(worker.nik),
        kpj=worker.kpj or None,
        coverage_start=coverage.start_date if coverage else None,
        coverage_end=coverage.end_date if coverage else None,
        photo=photos.load(worker.photo),
        office_name=settings.get("office_name"),
        regency_name=settings.get("regency_name"),
    )

