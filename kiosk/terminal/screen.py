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

from ..extensions import db
from ..models import Card, Device, Distribution, Worker
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
        return REFUSAL_TITLES[self.refusal] if self.refusal else None

    @property
    def message(self):
        if self.too_many:
            return _l("Tunggu beberapa menit, lalu coba lagi.")
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


def coverage_view(worker: Worker, day: date | None = None) -> CoverageView:
    """The worker's coverage on ``day`` (default today in Jakarta): the period covering it,
    else the next to start, else the last to end; with its programmes in plain words."""
    from ..coverage import PROGRAMMES
    from ..enrollment import status_today

    period, status = status_today(worker.coverages, day)
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


def build_result(lookup, device: Device, *, photo_url: Callable, ticket: Callable, too_many: bool = False) -> Result:
    """The result screen for a card lookup (``card_registry.resolve``) on ``device``."""
    if too_many or lookup is None:
        return Result(too_many=True)
    if not lookup.ok:
        return Result(refusal=lookup.refusal)
    worker, card = lookup.worker, lookup.card
    result = Result(
        worker=worker, masked_nik=_mask(worker.nik), photo_url=photo_url(worker),
        coverage=coverage_view(worker),
    )
    distribution = _distribution_of(device)
    if distribution is not None:
        from .. import distribution as pickup

        status = pickup.status_for(distribution, worker, card_id=card.id)
        result.sembako = _sembako_from(status, lambda: ticket(worker, card, distribution))
    return result


def build_claim_result(worker: Worker, card: Card, device: Device, *, request_id: str, photo_url: Callable) -> Result:
    """Claim the package for ``worker`` (AMBIL) and return the screen that answers it."""
    from .. import distribution as pickup

    distribution = _distribution_of(device)
    answer = pickup.claim(
        distribution.id, worker.id, request_id=request_id, card_id=card.id,
        device=device, station=device.name,
    )
    if answer.outcome is pickup.Outcome.CARD_REVOKED:
        return Result(refusal=Refusal.REVOKED)
    return Result(
        worker=worker, masked_nik=_mask(worker.nik), photo_url=photo_url(worker),
        coverage=coverage_view(worker), sembako=_sembako_from(answer, None),
    )


def _distribution_of(device: Device) -> Distribution | None:
    if device.mode != "collect" or device.distribution_id is None:
        return None
    return db.session.get(Distribution, device.distribution_id)
