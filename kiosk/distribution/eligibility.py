"""Who a distribution admits: its eligibility rule for one worker (Python) and for a list (SQL)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, exists, select

from ..extensions import db
from ..models import Collection, Coverage, Distribution, DistributionListEntry, Worker
from .outcomes import Outcome


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
