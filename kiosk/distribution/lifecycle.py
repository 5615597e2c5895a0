"""Creating, editing, opening and closing a distribution."""

from __future__ import annotations


from ..i18n import _l
from sqlalchemy import text, update

from ..audit import changes, record, snapshot
from ..database import utcnow, write_transaction
from ..extensions import db
from ..models import Collection, Distribution, Staff
from .handover import waiting
from .outcomes import DistributionError
from .report import build_report


EDITABLE_FIELDS = (
    "name", "day", "place", "packages_total", "contents", "eligibility",
    "bast_number", "official_name", "official_nip", "official_title",
    "receiver_name", "receiver_title", "witness1_name", "witness2_name",
)


def save(distribution: Distribution | None, fields: dict, *, staff: Staff | None) -> Distribution:
    """Create a distribution (``distribution`` None) or change its details; audited. The
    number of packages cannot go below what was already handed out (DistributionError)."""
    fields = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
    with write_transaction():
        if distribution is None:
            distribution = Distribution(status="draft", packages_given=0, next_seq=1,
                                        created_by_id=staff.id if staff else None, **fields)
            db.session.add(distribution)
            db.session.flush()
            record("distribution.create", distribution, after=snapshot(distribution, fields), staff=staff)
            return distribution
        distribution = db.session.get(Distribution, distribution.id, populate_existing=True)
        if "packages_total" in fields and fields["packages_total"] < distribution.packages_given:
            raise DistributionError(_l(
                "Jumlah paket tidak boleh kurang dari yang sudah diserahkan (%(given)s).",
                given=distribution.packages_given,
            ))
        before = snapshot(distribution, fields)
        for name, value in fields.items():
            setattr(distribution, name, value)
        old, new = changes(before, snapshot(distribution, fields))
        if new:
            record("distribution.update", distribution, before=old, after=new, staff=staff)
    return distribution


def open_distribution(distribution_id: int, *, staff: Staff | None) -> Distribution:
    """Open a draft or closed distribution for pickup. Audited."""
    with write_transaction():
        now = utcnow()
        changed = db.session.execute(
            update(Distribution)
            .where(Distribution.id == distribution_id, Distribution.status != "open")
            .values(status="open", opened_at=now, closed_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        distribution = db.session.get(Distribution, distribution_id, populate_existing=True)
        if distribution is None:
            raise LookupError(f"no distribution {distribution_id}")
        if changed:
            record("distribution.open", distribution, after={"status": "open"}, staff=staff)
    return distribution


class UnhandedPackages(DistributionError):
    """Closing was refused: ``count`` packages are claimed but not handed over; the person
    closing must say what happens to them (``close_distribution(unhanded=...)``)."""

    def __init__(self, count: int):
        super().__init__(_l("%(n)s paket sudah diambil tetapi belum diserahkan.", n=count))
        self.count = count


UNHANDED_CHOICES = ("keep", "void")
UNHANDED_VOID_REASON = "Belum diserahkan saat penyaluran ditutup"


def close_distribution(distribution_id: int, *, staff: Staff | None, unhanded: str | None = None) -> Distribution:
    """Close a distribution and freeze its recipient and non-recipient lists into
    ``frozen_report`` for the BAST. Audited.

    Packages claimed but not handed over need a decision: ``unhanded="keep"`` leaves them
    claimed (the BAST lists them apart; re-opening lets the desk hand them over), ``"void"``
    voids them (back in stock, the workers may claim again when re-opened). Without one, a
    close with such packages raises ``UnhandedPackages`` and nothing changes."""
    if unhanded is not None and unhanded not in UNHANDED_CHOICES:
        raise ValueError(f"unknown choice {unhanded!r}")
    with write_transaction():
        # The UPDATE comes first: on PostgreSQL it waits for claims holding the row, so the
        # report below sees every collection that made it in.
        changed = db.session.execute(
            update(Distribution)
            .where(Distribution.id == distribution_id, Distribution.status == "open")
            .values(status="closed", closed_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        distribution = db.session.get(Distribution, distribution_id, populate_existing=True)
        if distribution is None:
            raise LookupError(f"no distribution {distribution_id}")
        if not changed:
            raise DistributionError(_l("Penyaluran ini tidak sedang dibuka."))
        unhanded_rows = waiting(distribution_id)
        if unhanded_rows and unhanded is None:
            raise UnhandedPackages(len(unhanded_rows))
        if unhanded_rows and unhanded == "void":
            _void_unhanded(distribution, unhanded_rows, staff)
        distribution.frozen_report = build_report(distribution)
        record("distribution.close", distribution,
               after={"status": "closed", "packages_given": distribution.packages_given}, staff=staff)
    return distribution


def _void_unhanded(distribution: Distribution, rows: list[Collection], staff: Staff | None) -> None:
    """Void the claimed-not-handed-over ``rows`` at close-out (inside its transaction)."""
    now = utcnow()
    ids = [c.id for c in rows]
    voided = db.session.execute(
        update(Collection)
        .where(Collection.id.in_(ids), Collection.handed_over_at.is_(None), Collection.voided_at.is_(None))
        .values(voided_at=now, voided_by_id=staff.id if staff else None, void_reason=UNHANDED_VOID_REASON)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(
        text("UPDATE distribution SET packages_given = packages_given - :n WHERE id = :id"),
        {"n": voided, "id": distribution.id},
    )
    for c in rows:
        record("collection.void", c, before={"voided_at": None},
               after={"voided_at": now, "void_reason": UNHANDED_VOID_REASON, "seq": c.seq,
                      "worker_id": c.worker_id}, staff=staff)
    db.session.refresh(distribution)
