"""Knowing when the server's clock is wrong.

A PC whose CMOS battery is flat boots in the past after a power cut; coverage status, claim times
and BAST dates would then be wrong. The server does not believe a clock that is earlier than
``RELEASE_DATE`` (this code did not exist before it) or than the newest recorded event (the audit
trail, less ``TOLERANCE`` for servers whose clocks differ a little). While it does not, the
dashboard and the kiosk say so and claims are refused (``kiosk.distribution``), until the clock is
set right — or an admin confirms on *Admin → Jam server* that the time shown is right (the events
"from the future" were written under a clock that ran ahead). The confirmation is an audit event;
from it on, only the events written after it count.

Cheap on the kiosk's hot paths: each process keeps the floor it read for ``CHECK_SECONDS`` and
compares the clock with it in memory; the two small queries run only when that has run out, or
on every call while the clock is not believed (so a correction is seen at once).

Kiosks report their own clock with every ping; ``offset_of`` turns that into the difference the
device list shows when it is large.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from .audit import record
from .database import read_alone, utcnow, write_transaction
from .extensions import db
from .models import AuditEvent, Staff

# Raise with each release: no clock before this day can be right. (A test keeps it at or after the
# first migration and not in the future.)
RELEASE_DATE = date(2026, 11, 28)
TOLERANCE = timedelta(minutes=5)
CHECK_SECONDS = 30
KIOSK_SKEW = timedelta(minutes=2)  # the device list flags a kiosk whose clock is further off
ENTITY = "clock"
_CACHE_KEY = "kiosk.clock"


@dataclass(frozen=True)
class ClockState:
    """What the server thinks of its clock: ``trusted``, ``now`` (UTC), ``floor`` (the earliest
    time it would believe) and why (``reason``: "release" or "event")."""

    trusted: bool
    now: datetime
    floor: datetime
    reason: str

    @property
    def before_release(self) -> bool:
        return self.reason == "release" and not self.trusted


class _Clock:
    """The audit trail's entry for the clock (``record`` needs an entity)."""

    __tablename__ = ENTITY
    id = None


def release_floor() -> datetime:
    """Midnight (UTC) of the release date."""
    return datetime.combine(RELEASE_DATE, datetime.min.time(), tzinfo=timezone.utc)


_events = AuditEvent.__table__
_LAST_CONFIRMATION = (
    select(_events.c.after).where(_events.c.entity_type == ENTITY, _events.c.action == "clock.confirm")
    .order_by(_events.c.id.desc()).limit(1)
)
_NEWEST_EVENT = select(_events.c.at).where(_events.c.id > bindparam("after_id")).order_by(_events.c.at.desc()).limit(1)


def _first(statement, params: dict | None = None):
    rows = read_alone(statement, params or {})
    return rows[0][0] if rows else None


def _floor() -> tuple[datetime, str]:
    """The earliest believable time now: the release date, or the newest event written after the
    last confirmation (two small indexed queries, on the driver: inside ``one_connection`` a claim
    reads them on its own connection, never a second one from the pool)."""
    confirmed = _first(_LAST_CONFIRMATION)
    after_id = int((confirmed or {}).get("ignore_up_to_id") or 0)
    newest = _first(_NEWEST_EVENT, {"after_id": after_id})
    release = release_floor()
    if newest is not None and newest - TOLERANCE > release:
        return newest - TOLERANCE, "event"
    return release, "release"


def state(*, fresh: bool = False) -> ClockState:
    """The clock's state now (see the module docstring for what is cached)."""
    now = utcnow()
    cached = current_app.extensions.get(_CACHE_KEY)
    if (not fresh and cached is not None and time.monotonic() - cached[0] < CHECK_SECONDS
            and now >= cached[1]):
        return ClockState(True, now, cached[1], cached[2])
    floor, reason = _floor()
    trusted = now >= floor
    if trusted:
        current_app.extensions[_CACHE_KEY] = (time.monotonic(), floor, reason)
    else:
        current_app.extensions.pop(_CACHE_KEY, None)
    return ClockState(trusted, now, floor, reason)


def trusted() -> bool:
    """True when the server believes its clock (claims may be answered)."""
    return state().trusted


class ClockError(ValueError):
    """The clock cannot be confirmed; ``message`` says why."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def confirm(*, staff: Staff) -> None:
    """An admin confirms that the server's time now is right: the events written before (under a
    clock that ran ahead) stop counting. Never before the release date."""
    from .i18n import _l

    current = state(fresh=True)
    if current.now < release_floor():
        raise ClockError(_l("Jam server lebih awal dari tanggal rilis aplikasi ini, jadi pasti salah. Betulkan jam PC."))
    with write_transaction():
        newest_id = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0
        record("clock.confirm", _Clock(), before={"floor": current.floor},
               after={"server_time": current.now, "ignore_up_to_id": newest_id}, staff=staff)
    current_app.extensions.pop(_CACHE_KEY, None)


def offset_of(kiosk_ms: str | None, now: datetime | None = None) -> int | None:
    """Seconds the kiosk's clock is ahead (+) or behind (−) the server's, from the milliseconds
    since 1970 it sent; None for anything that is not such a number."""
    if not kiosk_ms or not kiosk_ms.isascii() or not kiosk_ms.isdigit() or len(kiosk_ms) > 15:
        return None
    now = now or utcnow()
    return round(int(kiosk_ms) / 1000 - now.timestamp())


def skew_note(offset_s: int | None):
    """For the device list: how far a kiosk's clock is off, when that is more than
    ``KIOSK_SKEW`` (else None)."""
    from .i18n import _l

    if offset_s is None or abs(offset_s) <= KIOSK_SKEW.total_seconds():
        return None
    size = abs(offset_s)
    if size >= 86400:
        amount = _l("%(n)s hari", n=size // 86400)
    elif size >= 3600:
        amount = _l("%(h)s jam %(m)s menit", h=size // 3600, m=size % 3600 // 60)
    else:
        amount = _l("%(m)s menit", m=size // 60)
    if offset_s > 0:
        return _l("Jam kios %(amount)s lebih cepat dari server", amount=amount)
    return _l("Jam kios %(amount)s lebih lambat dari server", amount=amount)


def _for_template() -> bool:
    try:
        return trusted()
    except SQLAlchemyError:  # an error page while the database is away says nothing about the clock
        return True


def init_app(app) -> None:
    """``clock_trusted()`` in templates (the kiosk's and the dashboard's warning)."""
    app.add_template_global(_for_template, "clock_trusted")
    app.add_template_global(skew_note, "clock_skew_note")
