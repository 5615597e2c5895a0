"""Each rule that is written twice — in Python for one worker, in SQL for a list — gives the same
answer on an exhaustive small grid of cases, on both engines: a distribution's eligibility (and
"eligible but not collected"), and a worker's coverage status on a day."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import product

from sqlalchemy import select

from factories import make_coverage, make_distribution, make_worker
from kiosk import coverage
from kiosk import distribution as dist
from kiosk.database import utcnow
from kiosk.extensions import db
from kiosk.models import Collection, DistributionListEntry, Worker
from kiosk.reports.coverage import coverage_per_worker, status_of

DAY = date(2026, 6, 15)
# Coverage periods as (first, last) day offsets from DAY: ended long ago, ended the day before,
# ending on the day, starting on the day, starting later, covering the day.
SPANS = {"old": (-60, -31), "ended": (-30, -1), "ends": (-10, 0), "starts": (0, 10), "later": (1, 30),
         "covers": (-5, 5)}
# Sets of periods that do not overlap (a worker's periods never do), the empty set first.
PERIOD_SETS = [(), ("old",), ("ended",), ("ends",), ("starts",), ("later",), ("covers",),
               ("old", "later"), ("ended", "later"), ("old", "ended"), ("ends", "later"), ("ended", "starts")]
COLLECTIONS = ("none", "collected", "voided")


def _workers(distribution=None):
    """One worker per case: each set of periods × on the list or not × no, a live or a voided
    collection in ``distribution``. Returns {worker id: case}."""
    cases = {}
    seq = 0
    for n, (spans, listed, collected) in enumerate(product(PERIOD_SETS, (False, True), COLLECTIONS)):
        if distribution is None and (listed or collected != "none"):
            continue
        worker = make_worker(name=f"Pekerja {n:03d}")
        for name in spans:
            first, last = SPANS[name]
            make_coverage(worker, start=DAY + timedelta(days=first), end=DAY + timedelta(days=last))
        if listed:
            db.session.add(DistributionListEntry(distribution_id=distribution.id, worker_id=worker.id))
        if collected != "none":
            seq += 1
            db.session.add(Collection(
                distribution_id=distribution.id, worker_id=worker.id, seq=seq, collected_at=utcnow(),
                voided_at=utcnow() if collected == "voided" else None,
                void_reason="salah orang" if collected == "voided" else None,
            ))
        db.session.commit()
        cases[worker.id] = (spans, listed, collected)
    return cases


def test_eligibility_in_python_and_sql_agree(engine_app):
    for eligibility in ("coverage", "list"):
        distribution = make_distribution(eligibility=eligibility, day=DAY, name=f"Tahap {eligibility}")
        cases = _workers(distribution)
        workers = {w.id: w for w in db.session.scalars(select(Worker).where(Worker.id.in_(cases)))}
        in_python = {wid for wid, w in workers.items() if dist.rule_refusal(distribution, w) is None}
        in_sql = set(db.session.scalars(dist.eligible_query(distribution).with_only_columns(Worker.id)))
        assert in_sql == in_python, eligibility
        assert in_python and in_python != set(cases), "the grid has workers on both sides"

        not_collected_python = {
            wid for wid in in_python if dist.active_collection(distribution.id, wid) is None
        }
        assert {w.id for w in dist.not_collected(distribution)} == not_collected_python
        assert {cases[wid][2] for wid in not_collected_python} == {"none", "voided"}


def test_worker_status_in_python_and_both_sql_twins_agree(engine_app):
    cases = _workers()
    workers = list(db.session.scalars(select(Worker).where(Worker.id.in_(cases))))
    for offset in range(-62, 33):
        day = DAY + timedelta(days=offset)
        in_python = {w.id: coverage.worker_status(w.coverages, day) for w in workers}
        per = coverage_per_worker(day)
        rows = db.session.execute(
            select(Worker.id, status_of(per)).outerjoin(per, per.c.worker_id == Worker.id)
        ).all()
        assert dict(rows) == in_python, day
        for code in coverage.WORKER_STATUSES:
            chosen = set(db.session.scalars(select(Worker.id).where(coverage.status_condition(code, day))))
            assert chosen == {wid for wid, status in in_python.items() if status == code}, (day, code)
    assert set(coverage.worker_status(w.coverages, DAY) for w in workers) == set(coverage.WORKER_STATUSES)
