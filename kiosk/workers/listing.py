"""The worker list: search and filters as one SQL query, paged by keyset so it stays fast at
100,000 workers (no OFFSET, no COUNT over everything on each keystroke).

Search: digits look up NIK/KPJ by prefix (an index range); anything else looks in the name and
the desa. ``filtered_query`` is the filtered list without paging (the export reuses it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Mapping

from sqlalchemy import Select, and_, exists, or_, select

from .. import coverage as coverage_rules
from ..extensions import db
from ..models import Card, Collection, Worker
from ..nik import search_digits
from ..web import row_id

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to. ``status`` is the coverage status on ``day`` (Jakarta)."""

    q: str = ""
    kecamatan: str = ""
    status: str = ""
    card: str = ""  # "ya" / "tidak"
    distribution: int | None = None  # collected in this distribution
    day: date | None = None

    @property
    def active(self) -> bool:
        """True when anything narrows the list."""
        return bool(self.q or self.kecamatan or self.status or self.card or self.distribution)


def filters_from_args(args: Mapping[str, str]) -> Filters:
    """Read the list's query-string parameters, ignoring values that mean nothing."""
    q = " ".join((args.get("q") or "").split())[:80]
    kecamatan = re.sub(r"\D", "", args.get("kecamatan") or "")[:6]
    status = args.get("status") or ""
    card = args.get("kartu") or ""
    dist = args.get("penyaluran") or ""
    return Filters(
        q=q,
        kecamatan=kecamatan,
        status=status if status in coverage_rules.WORKER_STATUSES else "",
        card=card if card in ("ya", "tidak") else "",
        distribution=row_id(dist),
    )


def _digits_upper(prefix: str) -> str:
    # Every string that starts with ``prefix`` sorts below prefix + ":" (":" follows "9").
    return prefix + ":"


def filtered_query(filters: Filters) -> Select:
    """``SELECT worker`` with the filters applied, ordered by name then id (by NIK for a
    NIK/KPJ search)."""
    query = select(Worker)
    q = filters.q
    digits = search_digits(q)
    if digits:
        query = query.where(
            or_(
                and_(Worker.nik >= digits, Worker.nik < _digits_upper(digits)),
                and_(Worker.kpj >= digits, Worker.kpj < _digits_upper(digits)),
            )
        )
    elif q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # SQLite's LIKE already ignores ASCII case (and lower() on every row would be slower).
        like = "like" if db.session.get_bind().dialect.name == "sqlite" else "ilike"
        query = query.where(
            or_(getattr(Worker.name, like)(pattern, escape="\\"), getattr(Worker.desa_name, like)(pattern, escape="\\"))
        )
    if filters.kecamatan:
        query = query.where(Worker.kecamatan_code == filters.kecamatan)
    if filters.status:
        day = filters.day or coverage_rules.today_jakarta()
        query = query.where(coverage_rules.status_condition(filters.status, day))
    if filters.card:
        valid = exists().where(Card.worker_id == Worker.id, Card.revoked_at.is_(None))
        query = query.where(valid if filters.card == "ya" else ~valid)
    if filters.distribution:
        query = query.where(
            exists().where(
                Collection.worker_id == Worker.id,
                Collection.distribution_id == filters.distribution,
                Collection.voided_at.is_(None),
            )
        )
    # A NIK/KPJ search lists by NIK: the unique index then yields the rows in order, so a short
    # prefix matching most workers ("1603") stops after one page instead of sorting them all.
    if digits:
        return query.order_by(Worker.nik)
    return query.order_by(_name_key(filters), Worker.id)


def _name_key(filters: Filters):
    # A text search sorts its matches instead of walking the name index: walking it costs a
    # table look-up per worker until 50 match, which for a rare name (the usual search: one
    # person's full name) means all 100,000. Scan + sort has a bounded cost. ``name || ''``
    # sorts the same but keeps the planner off the index.
    return Worker.name.op("||")("") if filters.q else Worker.name


@dataclass
class Page:
    """One page of the list and the cursor of the next one (``None`` on the last page)."""

    workers: list[Worker]
    next_after: int | None
    filters: Filters


def page(filters: Filters, after: int | None = None, size: int = PAGE_SIZE) -> Page:
    """The ``size`` workers that follow worker ``after`` in the filtered list's order."""
    query = filtered_query(filters)
    if after:
        anchor = db.session.get(Worker, after)
        if anchor is not None and search_digits(filters.q):
            query = query.where(Worker.nik > anchor.nik)
        elif anchor is not None:
            name = _name_key(filters)
            query = query.where(or_(name > anchor.name, and_(name == anchor.name, Worker.id > anchor.id)))
    workers = list(db.session.scalars(query.limit(size + 1)))
    next_after = workers[size - 1].id if len(workers) > size else None
    return Page(workers[:size], next_after, filters)


def without(filters: Filters, **changes) -> Filters:
    """A copy of ``filters`` with some fields changed."""
    return replace(filters, **changes)
