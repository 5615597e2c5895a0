"""The numbers on the staff home page: workers enrolled and covered today, coverage ending
soon, valid cards, the monthly contribution being paid, and the packages of the distribution
the dashboard follows (with packages handed out per hour for its chart)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select

from ..coverage import JAKARTA, today_jakarta
from ..extensions import db
from ..models import Card, Collection, Distribution, Worker
from ..coverage import coverage_per_worker
from .coverage import ending_soon


@dataclass
class DistributionFigures:
    """The state of one distribution for the dashboard."""

    id: int
    name: str
    day: date
    status: str
    total: int
    given: int

    @property
    def left(self) -> int:
        return self.total - self.given


@dataclass
class DashboardFigures:
    """The numbers on the staff home page."""

    day: date
    workers: int
    active: int
    ending_soon: int
    cards: int
    monthly_contribution: int
    distribution: DistributionFigures | None


def current_distribution() -> Distribution | None:
    """The distribution the dashboard follows: the open one (latest day first), else the latest closed."""
    order = (
        case((Distribution.status == "open", 0), (Distribution.status == "closed", 1), else_=2),
        Distribution.day.desc(),
        Distribution.id.desc(),
    )
    return db.session.scalars(
        select(Distribution).where(Distribution.status.in_(("open", "closed"))).order_by(*order).limit(1)
    ).first()


def coverage_figures(day: date | None = None, ending_within: int = 14) -> tuple[int, int, int, int]:
    """(enrolled workers, workers covered on ``day``, of them ending within ``ending_within``
    days without a renewal, the monthly contribution of the active periods) — aggregate SQL."""
    day = day or today_jakarta()
    per = coverage_per_worker(day)
    workers = db.session.scalar(select(func.count(Worker.id))) or 0
    active, ending, contribution = db.session.execute(
        select(
            func.coalesce(func.sum(per.c.active), 0),
            func.coalesce(func.sum(case((ending_soon(per, day, ending_within), 1), else_=0)), 0),
            func.coalesce(func.sum(per.c.contribution), 0),
        ).select_from(per)
    ).one()
    return int(workers), int(active), int(ending), int(contribution)


def distribution_figures() -> DistributionFigures | None:
    """The packages of the distribution the dashboard follows: handed over (a claim at a kiosk
    is not a package given until the desk hands it over) and left in the hall."""
    from ..distribution import progress

    dist = current_distribution()
    if dist is None:
        return None
    return DistributionFigures(dist.id, dist.name, dist.day, dist.status, dist.packages_total,
                               progress(dist).handed_over)


def valid_cards() -> int:
    """How many cards are valid (not revoked)."""
    return db.session.scalar(select(func.count(Card.id)).where(Card.revoked_at.is_(None))) or 0


def dashboard_figures(day: date | None = None, ending_within: int = 14) -> DashboardFigures:
    """Enrolled workers, active coverage on ``day`` (Jakarta), coverage ending soon, valid cards,
    the monthly contribution being paid, and the followed distribution's packages."""
    day = day or today_jakarta()
    workers, active, ending, contribution = coverage_figures(day, ending_within)
    return DashboardFigures(day, workers, active, ending, valid_cards(), contribution, distribution_figures())


def collections_per_hour(distribution: Distribution) -> list[tuple[int, int]]:
    """(hour in Asia/Jakarta, packages handed over in that hour) for the distribution's day,
    every hour from the first to the last (at least 08–16), zero-filled."""
    moments = db.session.scalars(
        select(Collection.handed_over_at).where(
            Collection.distribution_id == distribution.id, Collection.voided_at.is_(None),
            Collection.handed_over_at.is_not(None),
        )
    )
    counts: dict[int, int] = {}
    for moment in moments:  # at most packages_total rows: one distribution, not every worker
        hour = moment.astimezone(JAKARTA).hour
        counts[hour] = counts.get(hour, 0) + 1
    first = min([8, *counts])
    last = max([16, *counts])
    return [(h, counts.get(h, 0)) for h in range(first, last + 1)]
