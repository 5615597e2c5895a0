"""The answers of a claim and a pickup check: ``Outcome``, its messages, ``ClaimResult`` and
``PickupStatus``."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from flask import has_app_context
from ..i18n import _l

from ..i18n import waktu, waktu_indonesian


class Outcome(enum.Enum):
    """The answer to a claim. The values are stable strings (stored in ``claim_request``)."""

    COLLECTED = "collected"
    NOT_OPEN = "not_open"
    NO_COVERAGE = "no_coverage"
    COVERAGE_ENDED = "coverage_ended"
    COVERAGE_NOT_STARTED = "coverage_not_started"
    NOT_ON_LIST = "not_on_list"
    ALREADY_COLLECTED = "already_collected"
    SOLD_OUT = "sold_out"
    CARD_REVOKED = "card_revoked"
    CLOCK_WRONG = "clock_wrong"  # never stored: the claim was not tried (see kiosk.clock)


MESSAGES = {
    Outcome.NOT_OPEN: _l("Penyaluran sembako ini sedang tidak dibuka."),
    Outcome.NO_COVERAGE: _l("Tidak ada kepesertaan BPJS Ketenagakerjaan pada hari penyaluran."),
    Outcome.COVERAGE_ENDED: _l("Kepesertaan BPJS Ketenagakerjaan sudah berakhir sebelum hari penyaluran."),
    Outcome.COVERAGE_NOT_STARTED: _l("Kepesertaan BPJS Ketenagakerjaan belum mulai pada hari penyaluran."),
    Outcome.NOT_ON_LIST: _l("Nama tidak ada dalam daftar penerima penyaluran ini."),
    Outcome.SOLD_OUT: _l("Paket sembako sudah habis."),
    Outcome.CARD_REVOKED: _l("Kartu ini sudah tidak berlaku. Silakan ke meja petugas."),
    Outcome.CLOCK_WRONG: _l("Jam server belum benar, jadi paket belum bisa diserahkan. Hubungi petugas."),
}


class DistributionError(ValueError):
    """A distribution action refused; ``message`` says why, in the person's language."""

    def __init__(self, message):
        super().__init__(message)  # kept lazy: rendered in the person's language later
        self.message = message


def _when(moment: datetime) -> str:
    """A moment in Asia/Jakarta time, in the request's language when there is one."""
    if has_app_context():
        try:
            return waktu(moment)
        except (RuntimeError, KeyError):
            pass
    return waktu_indonesian(moment)


@dataclass(frozen=True)
class ClaimResult:
    """The answer to a claim (or, from ``status_for``, to "what would a claim answer now").

    ``collection_id``/``seq``/``collected_at``/``station`` describe the new collection, or for
    ALREADY_COLLECTED the existing one. ``replayed`` is True when the answer was stored for a
    request id seen before.
    """

    outcome: Outcome
    distribution_id: int
    worker_id: int | None
    collection_id: int | None = None
    seq: int | None = None
    packages_total: int = 0
    packages_given: int = 0
    collected_at: datetime | None = None
    station: str | None = None
    replayed: bool = False
    proxy_name: str | None = None
    proxy_relation: str | None = None
    handed_over_at: datetime | None = None

    @property
    def collected(self) -> bool:
        """True when a package was claimed by this claim."""
        return self.outcome is Outcome.COLLECTED

    @property
    def packages_left(self) -> int:
        return max(0, self.packages_total - self.packages_given)

    @property
    def message(self):
        """What to tell the person, in words (lazy, Indonesian msgid)."""
        if self.outcome is Outcome.COLLECTED:
            return _l("Paket ke-%(seq)s dari %(total)s", seq=self.seq, total=self.packages_total)
        if self.outcome is Outcome.ALREADY_COLLECTED:
            if self.collected_at is None:
                return _l("Paket sudah diambil.")
            if self.handed_over_at is None:
                return _l("Sudah diambil pada %(when)s, nomor %(seq)s, belum diserahkan.",
                          when=_when(self.collected_at), seq=self.seq)
            if self.station:
                return _l("Sudah diambil pada %(when)s di %(station)s",
                          when=_when(self.collected_at), station=self.station)
            return _l("Sudah diambil pada %(when)s", when=_when(self.collected_at))
        return MESSAGES[self.outcome]


@dataclass(frozen=True)
class PickupStatus(ClaimResult):
    """Read-only view for a screen: ``outcome`` is None when the worker may collect now."""

    @property
    def may_collect(self) -> bool:
        """True when a claim now would hand out a package (barring a race)."""
        return self.outcome is None

    @property
    def message(self):
        if self.outcome is None:
            return _l("Paket Anda tersedia.")
        return super().message
