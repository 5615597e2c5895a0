"""The recipient list of a distribution whose eligibility is "list"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, select

from ..audit import record
from ..database import write_transaction
from ..extensions import db
from ..models import Distribution, DistributionListEntry, Staff, Worker


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
