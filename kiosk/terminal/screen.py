"""What the kiosk's result screen says about a scanned card: a small view model built from the
domain modules (card registry, coverage, distribution), so the template only lays it out.

``tone`` is the screen's one decision: "ok" (green, tick), "warn" (amber, hourglass/stop) or
"bad" (red, cross); the template always pairs it with an icon and words, never colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable

from ..i18n import _l

from sqlalchemy import and_, bindparam, select

from .. import throttle
from ..database import read_alone
from ..extensions import db
from ..models import Card, Collection, Coverage, Distribution, DistributionListEntry, Worker
from ..tokens import Refusal

REFUSAL_TITLES = {
    Refusal.MALFORMED: _l("Kartu tidak terbaca"),
    Refusal.WRONG_VERSION: _l("Bukan kartu peserta"),
    Refusal.UNKNOWN_KEY: _l("Kartu tidak sah"),
    Refusal.RETIRED_KEY: _l("Kartu sudah tidak berlaku"),
    Refusal.BAD_SIGNATURE: _l("Kartu tidak sah"),
    Refusal.UNKNOWN_CARD: _l("Kartu tidak terdaftar"),
    Refusal.REVOKED: _l("Kartu sudah tidak berlaku"),
}

# What happened, in words for the person holding the card (the "what to do" line follows).
REFUSAL_DETAILS = {
    Refusal.MALFORMED: _l("Tempelkan kartu sekali lagi, tegak dan tidak bergerak."),
    Refusal.WRONG_VERSION: _l("Kartu ini bukan kartu peserta BPU dari Dinas Ketenagakerjaan."),
    Refusal.UNKNOWN_KEY: _l("Kartu ini tidak dikenali."),
    Refusal.RETIRED_KEY: _l("Minta kartu baru kepada petugas."),
    Refusal.BAD_SIGNATURE: _l("Kartu ini tidak dikenali."),
    Refusal.UNKNOWN_CARD: _l("Kartu atau kode ini tidak ada dalam data kami."),
    Refusal.REVOKED: _l("Kartu ini sudah diganti atau dibatalkan. Minta kartu baru kepada petugas."),
}

# A code typed on the keypad (digits, not a QR token) that is refused: words about the code,
# never about holding a card still.
TYPED_TITLES = {
    Refusal.MALFORMED: _l("Kode salah"),
    Refusal.UNKNOWN_CARD: _l("Kode tidak terdaftar"),
}
TYPED_DETAILS = {
    Refusal.MALFORMED: _l("Kode salah, periksa lagi angkanya. Kodenya 11 angka di bawah QR pada kartu."),
    Refusal.UNKNOWN_CARD: _l("Kode ini tidak ada dalam data kami. Periksa lagi angkanya."),
}


def looks_typed(raw: str) -> bool:
    """True when ``raw`` is a code a person typed (digits and separators), not a scanned token."""
    raw = (raw or "").strip()
    return bool(raw) and len(raw) <= 40 and all(ch.isdigit() or ch in " -." for ch in raw)


@dataclass
class CoverageView:
    """The coverage line: status code ("aktif" / "belum_aktif" / "berakhir" / "none")."""

    code: str
    start: date | None = None
    end: date | None = None
    days_left: int | None = None
    programmes: list[tuple[str, object, object]] = field(default_factory=list)

    @property
    def tone(self) -> str:
        return {"aktif": "ok", "belum_aktif": "warn"}.get(self.code, "bad")


@dataclass
class SembakoView:
    """The sembako part on a collect kiosk. ``state``: available (AMBIL) / collected (just now) /
    waiting (claimed earlier, not handed over yet: go to the handover desk) / already (handed
    over) / refused."""

    state: str
    message: object
    ticket: str | None = None
    seq: int | None = None
    total: int | None = None
    collected_at: datetime | None = None
    station: str | None = None
    replayed: bool = False

    @property
    def tone(self) -> str:
        return {"available": "ok", "collected": "ok"}.get(self.state, "warn" if self.state in ("waiting", "already") else "bad")


@dataclass
class Result:
    """Everything the result screen shows about one scan."""

    refusal: Refusal | None = None
    too_many: bool = False
    wait: int | None = None  # seconds until typed codes are taken again (too_many)
    typed: bool = False
    worker: Worker | None = None
    masked_nik: str = ""
    photo_url: str | None = None
    coverage: CoverageView | None = None
    sembako: SembakoView | None = None

    @property
    def refused(self) -> bool:
        return self.refusal is not None or self.too_many

    @property
    def title(self):
        if self.too_many:
            return _l("Terlalu banyak percobaan")
        if self.typed and self.refusal in TYPED_TITLES:
            return TYPED_TITLES[self.refusal]
        return REFUSAL_TITLES[self.refusal] if self.refusal else None

    @property
    def message(self):
        if self.too_many:
            if self.wait:
                return _l("Terlalu banyak kode salah di kios ini. Coba lagi dalam %(wait)s, atau minta bantuan petugas.",
                          wait=throttle.wait_text(self.wait))
            return _l("Tunggu beberapa menit, lalu coba lagi.")
        if self.typed and self.refusal in TYPED_DETAILS:
            return TYPED_DETAILS[self.refusal]
        return REFUSAL_DETAILS[self.refusal] if self.refusal else None

    @property
    def state(self) -> str:
        """The screen's kind, for the page script and the tests: refused / collected / result."""
        if self.refused:
            return "refused"
        if self.sembako is not None and self.sembako.state == "collected":
            return "collected"
        return "result"

    @property
    def tone(self) -> str:
        """The one decision of this screen (see module docstring)."""
        if self.refused:
            return "bad"
        if self.sembako is not None:
            return self.sembako.tone
        return self.coverage.tone if self.coverage else "bad"

    @property
    def sound(self) -> str:
        return "success" if self.tone == "ok" else "refusal"


def _mask(nik: str) -> str:
    from ..nik import mask_nik

    return mask_nik(nik)


def coverage_view_of(periods, day: date | None = None) -> CoverageView:
    """A worker's coverage on ``day`` (default today in Jakarta) from their periods (Coverage
    rows, or ``Period``): the period covering it, else the next to start, else the last to
    end; with its programmes in plain words."""
    from ..coverage import PROGRAMMES, status_today

    period, status = status_today(periods, day)
    if period is None:
        return CoverageView(code="none")
    programmes = [(code, PROGRAMMES[code].name, PROGRAMMES[code].benefit) for code in period.programmes if code in PROGRAMMES]
    return CoverageView(
        code=status.code, start=period.start_date, end=period.end_date,
        days_left=status.days_left, programmes=programmes,
    )


def _sembako_from(answer, ticket: Callable[[], str] | None) -> SembakoView:
    """Turn a distribution answer (PickupStatus or ClaimResult) into the screen's words."""
    from ..distribution import Outcome

    outcome = answer.outcome
    if outcome is None:
        return SembakoView(state="available", message=_l("Paket Anda tersedia — tekan AMBIL"), ticket=ticket() if ticket else None)
    if outcome is Outcome.COLLECTED:
        return SembakoView(
            state="collected", message=answer.message, seq=answer.seq, total=answer.packages_total,
            collected_at=answer.collected_at, station=answer.station, replayed=answer.replayed,
        )
    if outcome is Outcome.ALREADY_COLLECTED:
        return SembakoView(
            state="already" if answer.handed_over_at else "waiting", message=answer.message,
            seq=answer.seq, total=answer.packages_total, collected_at=answer.collected_at,
            station=answer.station,
        )
    return SembakoView(state="refused", message=answer.message)


@dataclass(frozen=True)
class ScannedCard:
    """The card's columns a scan needs (``card_registry.judge`` reads ``revoked_at``/``key_id``)."""

    id: int
    worker_id: int
    key_id: str
    revoked_at: datetime | None


@dataclass(frozen=True)
class ScannedWorker:
    """What the kiosk shows of a worker: the name, the NIK (shown masked), the photo."""

    id: int
    name: str
    nik: str
    photo: str | None


@dataclass(frozen=True)
class Period:
    """A coverage period as the screen and the eligibility rule read it."""

    start_date: date
    end_date: date
    programmes: tuple[str, ...]


@dataclass(frozen=True)
class ScannedDistribution:
    """The device's distribution, as a claim would judge it now."""

    id: int
    status: str
    day: date
    eligibility: str
    packages_total: int
    packages_given: int


@dataclass(frozen=True)
class ScannedCollection:
    """The worker's non-voided collection in that distribution (``distribution._collection_fields``)."""

    id: int
    seq: int
    collected_at: datetime
    station: str
    proxy_name: str | None
    proxy_relation: str | None
    handed_over_at: datetime | None


@dataclass(frozen=True)
class ScanLookup:
    """A scanned or typed code, with everything its screen needs: the card's answer
    (``card_registry.CardLookup``), and for a usable card the worker, their coverage periods,
    the device's distribution, the worker's collection in it and whether they are on its list."""

    refusal: Refusal | None = None
    card: ScannedCard | None = None
    worker: ScannedWorker | None = None
    periods: tuple[Period, ...] = ()
    distribution: ScannedDistribution | None = None
    collection: ScannedCollection | None = None
    listed: bool = False

    @property
    def ok(self) -> bool:
        return self.refusal is None


def _scan_statement(column: str):
    card, worker, cov = Card.__table__, Worker.__table__, Coverage.__table__
    dist, coll, listed = Distribution.__table__, Collection.__table__, DistributionListEntry.__table__
    joined = (
        card.join(worker, worker.c.id == card.c.worker_id)
        .outerjoin(cov, cov.c.worker_id == worker.c.id)
        .outerjoin(dist, dist.c.id == bindparam("distribution_id"))
        .outerjoin(coll, and_(coll.c.distribution_id == dist.c.id, coll.c.worker_id == worker.c.id,
                              coll.c.voided_at.is_(None)))
        .outerjoin(listed, and_(listed.c.distribution_id == dist.c.id, listed.c.worker_id == worker.c.id))
    )
    return select(
        card.c.id, card.c.worker_id, card.c.key_id, card.c.revoked_at,
        worker.c.name, worker.c.nik, worker.c.photo,
        cov.c.start_date, cov.c.end_date, cov.c.jkk, cov.c.jkm, cov.c.jht,
        dist.c.id, dist.c.status, dist.c.day, dist.c.eligibility, dist.c.packages_total, dist.c.packages_given,
        coll.c.id, coll.c.seq, coll.c.collected_at, coll.c.station, coll.c.proxy_name, coll.c.proxy_relation,
        coll.c.handed_over_at, listed.c.worker_id,
    ).select_from(joined).where(card.c[column] == bindparam("key"))


_SCAN_STATEMENTS = {column: _scan_statement(column) for column in ("id", "fallback_code")}


def _rows(statement, params: dict) -> list:
    """The rows of one read: the scan needs no ORM session (nothing to track, nothing to flush)
    and no Connection, only the driver (``database.read_alone``)."""
    return read_alone(statement, params)


def _periods(rows) -> tuple[Period, ...]:
    """The coverage periods of ``_scan_statement``'s rows (one row per period, or one without)."""
    return tuple(_period(r[7], r[8], r[9], r[10], r[11]) for r in rows if r[7] is not None)


def _period(start, end, jkk, jkm, jht) -> Period:
    return Period(start, end, tuple(code for code, on in (("JKK", jkk), ("JKM", jkm), ("JHT", jht)) if on))


def read_scan(raw: str, device) -> ScanLookup:
    """The card behind ``raw`` (a QR token or a fallback code) with its worker, the worker's
    coverage periods, the device's distribution, the worker's collection in it and its list
    entry: one SQL statement (one row per coverage period), nothing loaded lazily afterwards.
    The card's answer is ``card_registry``'s (``locate``, then ``judge``)."""
    from .. import card_registry

    query = card_registry.locate(raw)
    if query.column is None:
        return ScanLookup(refusal=query.refusal)
    distribution_id = device.distribution_id if device.mode == "collect" else None
    rows = _rows(_SCAN_STATEMENTS[query.column], {"key": query.value, "distribution_id": distribution_id})
    card = ScannedCard(*rows[0][:4]) if rows else None
    verdict = card_registry.judge(card, query)
    if not verdict.ok:
        return ScanLookup(refusal=verdict.refusal, card=verdict.card)
    return _lookup(rows)


def _lookup(rows) -> ScanLookup:
    """What ``_scan_statement``'s rows say about a usable card (one row per coverage period)."""
    first = rows[0]
    return ScanLookup(
        card=ScannedCard(*first[:4]), worker=ScannedWorker(first[1], first[4], first[5], first[6]),
        periods=_periods(rows),
        distribution=ScannedDistribution(*first[12:18]) if first[12] is not None else None,
        collection=ScannedCollection(*first[18:25]) if first[18] is not None else None,
        listed=first[25] is not None,
    )


def build_result(lookup: ScanLookup | None, device, *, photo_url: Callable, ticket: Callable,
                 too_many: bool = False, wait: int | None = None, typed: bool = False) -> Result:
    """The result screen for a scan (``read_scan``) on ``device``; ``typed`` when the code was
    typed (a refusal then speaks of the code)."""
    if too_many or lookup is None:
        return Result(too_many=True, wait=wait)
    if not lookup.ok:
        return Result(refusal=lookup.refusal, typed=typed)
    worker, card, distribution = lookup.worker, lookup.card, lookup.distribution
    result = Result(
        worker=worker, masked_nik=_mask(worker.nik), photo_url=photo_url(worker),
        coverage=coverage_view_of(lookup.periods),
    )
    if distribution is not None:
        from .. import distribution as pickup

        status = pickup.judge_pickup(
            distribution, worker.id, card_ok=True, existing=lookup.collection,
            refusal=lambda: pickup.judge_rule(distribution.eligibility, distribution.day,
                                              periods=lookup.periods, listed=lookup.listed),
        )
        result.sembako = _sembako_from(status, lambda: ticket(worker, card, distribution))
    return result


def read_card(card_id: int) -> ScanLookup | None:
    """The card ``card_id`` with its worker and their coverage periods (``read_scan``'s
    statement, by id; the card is not judged again), or None when there is no such card."""
    rows = _rows(_SCAN_STATEMENTS["id"], {"key": card_id, "distribution_id": None})
    return _lookup(rows) if rows else None


def build_claim_result(worker_id: int, card_id: int, device, *, request_id: str, photo_url: Callable) -> Result | None:
    """Claim the package for the worker of a claim ticket (AMBIL) and return the screen that
    answers it; None when the ticket names a worker that is not there (any more). The screen is
    drawn from what the claim itself read (``claim_seen``): one read per AMBIL."""
    from .. import distribution as pickup

    try:
        answer, claimant = pickup.claim_seen(
            device.distribution_id, worker_id, request_id=request_id, card_id=card_id,
            device=device, station=device.name,
        )
    except LookupError:
        return None
    if answer.outcome is pickup.Outcome.CARD_REVOKED:
        return Result(refusal=Refusal.REVOKED)
    if claimant is None:  # the clock stopped the claim before it read anything
        scanned = read_card(card_id)
        if scanned is None or scanned.worker.id != worker_id:
            return None
        worker, periods = scanned.worker, scanned.periods
    else:
        worker = ScannedWorker(claimant.worker_id, claimant.name, claimant.nik, claimant.photo)
        periods = tuple(_period(*period) for period in claimant.periods)
    return Result(
        worker=worker, masked_nik=_mask(worker.nik), photo_url=photo_url(worker),
        coverage=coverage_view_of(periods), sembako=_sembako_from(answer, None),
    )
