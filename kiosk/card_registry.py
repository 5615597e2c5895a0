"""The cards the office has issued: issue, reissue, revoke, and find the card behind a scanned
token or a typed fallback code.

``kiosk.tokens`` decides whether a token is genuine; this module adds what only the database
knows (does the card exist, is it still valid). Every write lands whole with its audit event.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import tokens
from .audit import record
from .database import utcnow, write_transaction
from .extensions import db
from .models import Card, Staff, Worker
from .tokens import Refusal


def keyring() -> tokens.KeyRing:
    """The app's card-signing key ring (``instance/card-keys``), opened once per app."""
    ring = current_app.extensions.get("card_keyring")
    if ring is None:
        ring = tokens.KeyRing.load_or_create(current_app.config.get("CARD_KEYS_PATH") or f"{current_app.instance_path}/card-keys")
        current_app.extensions["card_keyring"] = ring
    return ring


def token_for(card: Card) -> str:
    """The QR token printed on ``card``."""
    return tokens.sign(card.id, keyring())


@dataclass(frozen=True)
class CardLookup:
    """A scanned or typed code, resolved: the card and its worker, or why it is refused."""

    card: Card | None = None
    refusal: Refusal | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None

    @property
    def worker(self) -> Worker | None:
        return self.card.worker if self.card is not None else None


def resolve(raw: str) -> CardLookup:
    """Find the valid card behind a QR token or a fallback code. Never raises on bad input."""
    raw = raw if isinstance(raw, str) else ""
    check = tokens.read(raw, keyring())
    if check.ok:
        card = db.session.get(Card, check.card_id)
    elif check.reason is Refusal.MALFORMED:
        code = tokens.normalize_fallback_code(raw)
        if code is None:
            return CardLookup(refusal=Refusal.MALFORMED)
        card = db.session.scalar(select(Card).where(Card.fallback_code == code))
    else:
        return CardLookup(refusal=check.reason)
    if card is None:
        return CardLookup(refusal=Refusal.UNKNOWN_CARD)
    if card.revoked_at is not None:
        return CardLookup(card=card, refusal=Refusal.REVOKED)
    return CardLookup(card=card)


def issue(worker: Worker, *, staff: Staff | None, reason: str | None = None) -> Card:
    """Issue a new card for ``worker``; a card still valid is revoked with ``reason`` first
    (reissue for a lost or damaged card). One transaction, audited."""
    for _attempt in range(5):
        try:
            with write_transaction():
                current = db.session.scalar(
                    select(Card).where(Card.worker_id == worker.id, Card.revoked_at.is_(None))
                )
                if current is not None:
                    _revoke(current, staff=staff, reason=reason or "diganti kartu baru")
                    db.session.flush()  # the partial unique index sees the old card revoked
                card = Card(
                    worker_id=worker.id,
                    fallback_code=tokens.new_fallback_code(),
                    key_id=keyring().current_id,
                    issued_by_id=staff.id if staff else None,
                )
                db.session.add(card)
                db.session.flush()
                record(
                    "card.issue",
                    card,
                    after={"worker_id": worker.id, "replaces": current.id if current else None},
                    staff=staff,
                )
            return card
        except IntegrityError:
            continue  # a fallback code collided (1 in 10^10), or a concurrent issue: try again
    raise RuntimeError("could not issue a card")


def revoke(card: Card, *, staff: Staff | None, reason: str) -> Card:
    """Revoke ``card`` (lost, stolen, wrong person) with a reason. Audited."""
    with write_transaction():
        _revoke(card, staff=staff, reason=reason)
    return card


def _revoke(card: Card, *, staff: Staff | None, reason: str) -> None:
    if card.revoked_at is not None:
        return
    card.revoked_at = utcnow()
    card.revoked_by_id = staff.id if staff else None
    card.revoke_reason = reason[:200]
    record("card.revoke", card, before={"revoked_at": None}, after={"revoke_reason": card.revoke_reason}, staff=staff)
