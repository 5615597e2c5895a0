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


# What the distribution is (the event the BAST reports and the kiosks answer by), then the
# BAST's own number and names, which are filled in before it is printed, often after closing.
TERMS = ("name", "day", "place", "packages_total", "contents", "eligibility")
EDITABLE_FIELDS = TERMS + (
    "bast_number", "official_name", "official_nip", "official_title",
    "receiver_name", "receiver_title", "witness1_name", "witness2_name",
)


class TermsLocked(DistributionError):
    """A change of a distribution's ``TERMS`` refused (``terms_locked`` says why)."""


def terms_locked(distribution: Distribution | None, staff: Staff | None):
    """Why ``staff`` cannot change the ``TERMS`` of ``distribution`` now, or None.

    - A draft: any staff member changes everything.
    - Open: only an admin (the kiosks answer by them: who may collect, how many are left), as
      only an admin opens and closes.
    - Closed: nobody. The recipient lists are frozen and the BAST reports the day, the place and
      the packages as they were; an admin who must correct them opens the distribution again
      first (audited, like every change).

    The BAST's number and names stay open to every staff member in every state."""
    if distribution is None or distribution.status == "draft":
        return None
    if distribution.status == "closed":
        return _l("Penyaluran sudah ditutup: nama, tanggal, tempat, jumlah dan isi paket, serta siapa yang "
                  "berhak tidak bisa diubah lagi (BAST melaporkannya). Nomor BAST dan nama pejabat tetap bisa diisi.")
    if staff is None or not staff.is_admin:
        return _l("Penyaluran sedang dibuka: nama, tanggal, tempat, jumlah dan isi paket, serta siapa yang "
                  "berhak hanya bisa diubah admin. Nomor BAST dan nama pejabat tetap bisa diisi.")
    return None


def _same(stored, given) -> bool:
    return (stored if stored is not None else "") == (given if given is not None else "")


def save(distribution: Distribution | None, fields: dict, *, staff: Staff | None) -> Distribution:
    """Create a distribution (``distribution`` None) or change its details; audited. The
    number of packages cannot go below what was already handed out (DistributionError), and
    the ``TERMS`` change only as ``terms_locked`` allows (``TermsLocked``), judged on the row
    as it is inside the write transaction (an edit racing a close loses)."""
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
        locked = terms_locked(distribution, staff)
        if locked is not None and any(not _same(getattr(distribution, name), fields[name])
                                      for name in TERMS if name in fields):
            raise TermsLocked(locked)
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
