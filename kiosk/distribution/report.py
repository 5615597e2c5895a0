"""A distribution's collections, its progress figures and the close-out report for the BAST."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..database import utcnow
from ..extensions import db
from ..i18n import waktu_indonesian
from ..models import Collection, Distribution, Worker
from ..nik import mask_nik
from .eligibility import not_collected


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
            "time": c.collected_at.isoformat(), "time_text": waktu_indonesian(c.collected_at),
            "station": c.station, "proxy_name": c.proxy_name, "proxy_relation": c.proxy_relation,
            "by_card": c.card_id is not None,
        }
        if c.handed_over_at is None:
            unhanded.append(row)
        else:
            recipients.append({**row, "handed_over_at": c.handed_over_at.isoformat(),
                               "handed_over_text": waktu_indonesian(c.handed_over_at)})
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
