"""The lists of a distribution: who received a package (recipients: handed over at the desk),
who claimed one but was not handed it (listed apart, never counted as received), and who was
eligible but did not come (non-recipients); frozen at close-out or read live, and as sheets for
XLSX/CSV."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..coverage import JAKARTA
from ..distribution import not_collected
from ..extensions import db
from ..i18n import indonesian
from ..models import Collection, Device, Distribution, Worker
from ..nik import mask_nik
from ..spreadsheets import Sheet
from ..wilayah import kecamatan_name

DESK = "Meja petugas"


@dataclass
class Recipient:
    """One package handed over (or, in ``claimed_not_handed_over``, only claimed): who, when
    claimed and handed over, where, through whom."""

    seq: int
    name: str
    nik_masked: str
    desa: str
    collected_at: datetime | None
    station: str
    proxy: str
    handed_over_at: datetime | None = None

    @property
    def when(self) -> datetime | None:
        """The moment of the handover (of the claim for a package not handed over)."""
        return self.handed_over_at or self.collected_at


@dataclass
class NonRecipient:
    """An eligible worker who did not collect."""

    name: str
    nik_masked: str
    desa: str
    kecamatan: str


def _proxy_text(name: str | None, relation: str | None) -> str:
    if not name:
        return ""
    return f"{name} ({relation})" if relation else name


def clock(moment: datetime | None) -> str:
    """The Asia/Jakarta clock time of a UTC moment: "10.32"."""
    if moment is None:
        return ""
    return moment.astimezone(JAKARTA).strftime("%H.%M")


def recipients(distribution: Distribution) -> list[Recipient]:
    """The packages handed over, in sequence order: frozen at close-out when available (as
    ``distribution.build_report`` wrote them), else live."""
    return _collections(distribution, "recipients", handed_over=True)


def claimed_not_handed_over(distribution: Distribution) -> list[Recipient]:
    """The packages claimed (AMBIL at a kiosk) but not handed over, in sequence order: shown
    apart from the recipients, never counted as received."""
    return _collections(distribution, "claimed_not_handed_over", handed_over=False)


def _collections(distribution: Distribution, key: str, *, handed_over: bool) -> list[Recipient]:
    frozen = distribution.frozen_report or {}
    if frozen:
        # A report frozen before claims and handovers were told apart has no key for the
        # second list: everything in it was counted as received then.
        rows = [
            Recipient(
                seq=r["seq"], name=r["name"], nik_masked=r["nik_masked"], desa=r["desa"] or "",
                collected_at=datetime.fromisoformat(r["time"]),
                station=r["station"] or ("" if r["by_card"] else indonesian(DESK)),
                proxy=_proxy_text(r["proxy_name"], r["proxy_relation"]),
                handed_over_at=datetime.fromisoformat(r["handed_over_at"]) if r.get("handed_over_at") else None,
            )
            for r in frozen.get(key) or []
        ]
        return sorted(rows, key=lambda r: r.seq)
    query = (
        select(
            Collection.seq,
            Worker.name,
            Worker.nik,
            Worker.desa_name,
            Collection.collected_at,
            Collection.station,
            Device.name,
            Collection.staff_id,
            Collection.proxy_name,
            Collection.proxy_relation,
            Collection.handed_over_at,
        )
        .join(Worker, Worker.id == Collection.worker_id)
        .outerjoin(Device, Device.id == Collection.device_id)
        .where(Collection.distribution_id == distribution.id, Collection.voided_at.is_(None),
               Collection.handed_over_at.is_not(None) if handed_over else Collection.handed_over_at.is_(None))
        .order_by(Collection.seq)
    )
    out = []
    for seq, name, nik, desa, at, station, device, staff_id, proxy_name, proxy_relation, handed in db.session.execute(query):
        where = station or device or (indonesian(DESK) if staff_id else "")
        out.append(Recipient(seq, name, mask_nik(nik), desa or "", at, where,
                             _proxy_text(proxy_name, proxy_relation), handed))
    return out


def non_recipients(distribution: Distribution) -> list[NonRecipient]:
    """Eligible workers who did not collect (frozen at close-out when available, else live)."""
    frozen = distribution.frozen_report or {}
    if frozen.get("non_recipients") is not None:
        return [
            NonRecipient(r["name"], r["nik_masked"], r["desa"] or "", kecamatan_name(r["kecamatan_code"]))
            for r in frozen["non_recipients"]
        ]
    return [
        NonRecipient(w.name, mask_nik(w.nik), w.desa_name or "", kecamatan_name(w.kecamatan_code))
        for w in not_collected(distribution)
    ]


def recipients_sheet(distribution: Distribution) -> Sheet:
    """The recipient list as a table (for XLSX/CSV)."""
    columns = [indonesian(c) for c in ("No.", "No. paket", "Nama", "NIK", "Desa", "Tanggal", "Waktu",
                                       "Tempat/Stasiun", "Diwakilkan")]
    rows = [
        [i, r.seq, r.name, r.nik_masked, r.desa,
         r.when.astimezone(JAKARTA).date().isoformat() if r.when else "",
         clock(r.when), r.station, r.proxy]
        for i, r in enumerate(recipients(distribution), 1)
    ]
    return Sheet(indonesian("Penerima"), columns, rows)


def non_recipients_sheet(distribution: Distribution) -> Sheet:
    """The non-recipient list as a table (for XLSX/CSV)."""
    columns = [indonesian(c) for c in ("No.", "Nama", "NIK", "Desa", "Kecamatan")]
    rows = [[i, r.name, r.nik_masked, r.desa, r.kecamatan] for i, r in enumerate(non_recipients(distribution), 1)]
    return Sheet(indonesian("Belum menerima"), columns, rows)


def distributions_with_reports() -> list[Distribution]:
    """Distributions that have something to report (open or closed), latest first."""
    return list(db.session.scalars(
        select(Distribution).where(Distribution.status.in_(("open", "closed")))
        .order_by(Distribution.day.desc(), Distribution.id.desc())
    ))
