"""Which cards to print on A4 sheets: a selection of workers, and their valid cards.

A selection names workers (enrolled on a day, cards issued on a day, a kecamatan, a
distribution's list or its eligible workers, everyone); the batch is their valid cards, the
workers among them who have no valid card yet, and the valid cards that cannot be printed because
their key was retired (those need a reissue).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from math import ceil

from sqlalchemy import Select, and_, exists, false, select
from sqlalchemy.orm import selectinload

from ..card_registry import keyring
from ..cards import SHEET_COLUMNS, SHEET_ROWS
from ..coverage import JAKARTA
from ..extensions import db
from ..distribution import eligible_query
from ..models import Card, Distribution, Worker

ENROLLED = "terdaftar"
ISSUED = "diterbitkan"
KECAMATAN = "kecamatan"
DISTRIBUTION = "penyaluran"
ALL = "semua"
KINDS = (ENROLLED, ISSUED, KECAMATAN, DISTRIBUTION, ALL)
CARDS_PER_PAGE = SHEET_COLUMNS * SHEET_ROWS


@dataclass(frozen=True)
class Selection:
    """Whose cards to print. ``day`` for ENROLLED / ISSUED, ``kecamatan`` (6-digit code) for
    KECAMATAN, ``distribution_id`` for DISTRIBUTION."""

    kind: str
    day: date | None = None
    kecamatan: str | None = None
    distribution_id: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown selection {self.kind!r}")
        needed = {ENROLLED: self.day, ISSUED: self.day, KECAMATAN: self.kecamatan,
                  DISTRIBUTION: self.distribution_id}
        if self.kind in needed and needed[self.kind] is None:
            raise ValueError(f"selection {self.kind!r} needs its parameter")


@dataclass
class PrintBatch:
    """The printable valid cards of a selection, by worker name, and what stands in the way."""

    cards: list[Card] = field(default_factory=list)
    without_card: list[Worker] = field(default_factory=list)
    stale: list[Card] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """A4 sheets needed (ten cards a sheet)."""
        return ceil(len(self.cards) / CARDS_PER_PAGE)


def _day_range(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=JAKARTA)
    return start, start + timedelta(days=1)


def worker_ids(selection: Selection) -> Select:
    """A SELECT of the ids of the workers in ``selection``."""
    kind = selection.kind
    if kind == ENROLLED:
        start, end = _day_range(selection.day)
        return select(Worker.id).where(Worker.created_at >= start, Worker.created_at < end)
    if kind == ISSUED:
        start, end = _day_range(selection.day)
        return select(Card.worker_id).where(
            Card.issued_at >= start, Card.issued_at < end, Card.revoked_at.is_(None)
        )
    if kind == KECAMATAN:
        return select(Worker.id).where(Worker.kecamatan_code == selection.kecamatan)
    if kind == DISTRIBUTION:
        distribution = db.session.get(Distribution, selection.distribution_id)
        if distribution is None:
            return select(Worker.id).where(false())
        # The distribution's own rule (its list, or coverage on its day): one source of truth.
        return eligible_query(distribution).with_only_columns(Worker.id)
    return select(Worker.id)


def workers_without_card(selection: Selection) -> list[Worker]:
    """The workers in ``selection`` who have no valid card, by name."""
    has_card = exists().where(and_(Card.worker_id == Worker.id, Card.revoked_at.is_(None)))
    return list(
        db.session.scalars(
            select(Worker)
            .where(Worker.id.in_(worker_ids(selection)), ~has_card)
            .order_by(Worker.name, Worker.id)
        )
    )


def batch(selection: Selection) -> PrintBatch:
    """The valid cards of ``selection``, split into printable and stale (retired key)."""
    cards = db.session.scalars(
        select(Card)
        .join(Worker, Card.worker_id == Worker.id)
        .where(Card.revoked_at.is_(None), Card.worker_id.in_(worker_ids(selection)))
        .options(selectinload(Card.worker).selectinload(Worker.coverages))
        .order_by(Worker.name, Worker.id)
    )
    retired = keyring().retired_ids
    result = PrintBatch(without_card=workers_without_card(selection))
    for card in cards:
        (result.stale if card.key_id in retired else result.cards).append(card)
    return result
