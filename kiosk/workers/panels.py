"""What the worker templates show: the list rows with today's status, the worker page's panels
(coverage with contributions, cards, collections, audit trail). Read-only queries."""

from __future__ import annotations

from datetime import date
from typing import Mapping

from sqlalchemy import and_, or_, select

from .. import coverage as coverage_rules
from .. import days, enrollment, wilayah
from ..extensions import db
from ..models import AuditEvent, Card, Collection, Coverage, Distribution, Worker
from . import forms, listing


def kecamatan_names() -> dict[str, str]:
    """Six-digit kecamatan code -> name."""
    return {k.code: k.name for k in wilayah.kecamatan_list()}


def period_contribution(period: Coverage) -> int:
    """The contribution for the whole period (monthly contribution × months covered)."""
    months = coverage_rules.months_between(period.start_date, period.end_date)
    return coverage_rules.period_total(period.monthly_contribution, months)


def list_context(page: listing.Page) -> dict:
    """Template context of the worker list (page and results fragment)."""
    ids = [w.id for w in page.workers]
    periods: dict[int, list[Coverage]] = {}
    carded: set[int] = set()
    if ids:
        for period in db.session.scalars(select(Coverage).where(Coverage.worker_id.in_(ids))):
            periods.setdefault(period.worker_id, []).append(period)
        carded = set(
            db.session.scalars(select(Card.worker_id).where(Card.worker_id.in_(ids), Card.revoked_at.is_(None)))
        )
    today = coverage_rules.today_jakarta()
    statuses = {wid: coverage_rules.status_today(ps, today)[1] for wid, ps in periods.items()}
    distributions = db.session.scalars(select(Distribution).order_by(Distribution.day.desc()).limit(50)).all()
    args = _filter_args(page.filters)
    return {
        "page": page,
        "filters": page.filters,
        "statuses": statuses,
        "carded": carded,
        "kecamatan_names": kecamatan_names(),
        "kecamatan_choices": forms.kecamatan_choices(),
        "distributions": distributions,
        "first_args": args,
        "next_args": args | {"setelah": page.next_after} if page.next_after else None,
        "today": today,
    }


def _filter_args(filters: listing.Filters) -> dict:
    args = {
        "q": filters.q, "kecamatan": filters.kecamatan, "status": filters.status,
        "kartu": filters.card, "penyaluran": filters.distribution or "",
    }
    return {k: v for k, v in args.items() if v}


def coverage_rows(worker: Worker, today: date) -> list[dict]:
    """The worker's periods, newest first, each with its status on ``today`` and totals."""
    rows = []
    for period in sorted(worker.coverages, key=lambda p: p.start_date, reverse=True):
        rows.append({
            "period": period,
            "status": coverage_rules.status_on(period.start_date, period.end_date, today),
            "total": period_contribution(period),
        })
    return rows


def coverage_context(worker: Worker, *, form_values: Mapping | None = None, form_errors: Mapping | None = None,
                     error=None) -> dict:
    """Context of the coverage panel (``templates/workers/_coverage.html``)."""
    today = coverage_rules.today_jakarta()
    current, status = coverage_rules.status_today(worker.coverages, today)
    latest = max(worker.coverages, key=lambda p: p.end_date) if worker.coverages else None
    if form_values is None:
        start = enrollment.renewal_start(latest.end_date, today) if latest else today
        form_values = {"start": days.field_text(start), "end": days.field_text(coverage_rules.default_end(start)),
                       "funder": enrollment.DEFAULT_FUNDER, "jht": ""}
    renew_start = enrollment.renewal_start(latest.end_date, today) if latest else None
    return {
        "worker": worker,
        "today": today,
        "current": current,
        "status": status,
        "rows": coverage_rows(worker, today),
        "renew_start": renew_start,
        "renew_end": coverage_rules.default_end(renew_start) if renew_start else None,
        "cov_values": form_values,
        "cov_errors": form_errors or {},
        "cov_error": error,
    }


def worker_context(worker: Worker, **coverage_args) -> dict:
    """Context of the worker page."""
    cards = db.session.scalars(select(Card).where(Card.worker_id == worker.id).order_by(Card.issued_at.desc())).all()
    collections = db.session.scalars(
        select(Collection).where(Collection.worker_id == worker.id).order_by(Collection.collected_at.desc())
    ).all()
    period_ids = [p.id for p in worker.coverages]
    audit = db.session.scalars(
        select(AuditEvent)
        .where(
            or_(
                and_(AuditEvent.entity_type == "worker", AuditEvent.entity_id == worker.id),
                and_(AuditEvent.entity_type == "coverage", AuditEvent.entity_id.in_(period_ids or [-1])),
                and_(AuditEvent.entity_type == "card", AuditEvent.entity_id.in_([c.id for c in cards] or [-1])),
            )
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(100)
    ).all()
    from .. import duplicates

    probable, different = duplicates.of_worker(worker)
    return coverage_context(worker, **coverage_args) | {
        "probable": probable,
        "different": different,
        "kecamatan_name": kecamatan_names().get(worker.kecamatan_code, worker.kecamatan_code),
        "cards": cards,
        "collections": collections,
        "audit": audit,
        "blockers": enrollment.blockers(worker),
    }


def contribution_preview(values: Mapping, coverage_values: Mapping | None) -> dict | None:
    """Monthly contribution and period total for the form's income and coverage, or ``None``
    when the income or the dates cannot be read yet."""
    from ..rupiah import RupiahError, parse_rupiah

    if not coverage_values:
        return None
    try:
        income = parse_rupiah(str(values.get("income") or "0") or "0")
    except (RupiahError, ValueError):
        return None
    check = enrollment.validate_coverage(coverage_values)
    if "start" not in check.clean:
        return None
    programmes = check.clean["programmes"]
    contribution = coverage_rules.monthly_contribution(income, programmes)
    return {
        "programmes": programmes,
        "contribution": contribution,
        "start": check.clean["start"],
        "end": check.clean["end"],
        "total": coverage_rules.period_total(
            contribution.total, coverage_rules.months_between(check.clean["start"], check.clean["end"])),
    }
