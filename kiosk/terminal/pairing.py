"""Kiosk devices and their credential: add a device, give it a one-time pairing code, pair a
browser with it, revoke it.

A paired kiosk browser holds a long random credential in an HttpOnly cookie; only its SHA-256
hash is stored (``Device.credential_hash``), so a copy of the database cannot be replayed as a
kiosk. The pairing code is short (8 digits, typed on the kiosk keypad) and lives
``PAIRING_MINUTES``; it is stored as an HMAC keyed with the app secret and works once. A device
is not a staff member: it can read coverage and, in mode "collect", claim packages — nothing else.

Finding the device behind a cookie is on every kiosk request, so each server process keeps what
it read for ``DEVICE_CACHE_SECONDS`` (a ``PairedDevice``: the row's columns, read-only). A
revocation, unpairing or edit made in this process is seen at once; one made in another process
(another gunicorn worker, another server) within ``DEVICE_CACHE_SECONDS``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from flask import current_app, has_app_context
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.exc import IntegrityError

from ..audit import record
from ..database import read_alone, utcnow, write_transaction
from ..extensions import db
from ..models import Device, Distribution, Staff

COOKIE = "kiosk_device"
COOKIE_MAX_AGE = 5 * 365 * 24 * 3600  # until revoked: a kiosk is set up once
PAIRING_MINUTES = 15
PAIRING_DIGITS = 8
MODES = ("check", "collect")
SLIP_PAPERS = (None, "58", "80")  # thermal paper width in mm of a collect kiosk that prints slips
SEEN_EVERY = timedelta(minutes=1)
DEVICE_CACHE_SECONDS = 2.0
_DEVICE_CACHE = "kiosk.paired_devices"
_DEVICE_CACHE_MAX = 1000  # credentials, known or not, remembered per process
_PAIRING_PARAM = "kode"


def _pairing_hash(code: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"kiosk-pairing:" + code.encode(), hashlib.sha256).hexdigest()


def _credential_hash(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


def form_token(credential: str) -> str:
    """The CSRF token of a paired kiosk's forms: an HMAC of its credential keyed with the app
    secret. It is checked without a session (the kiosk has none, so a scan reads no session
    cookie), it cannot be made without both the HttpOnly credential and the secret, and it
    changes when the browser is paired again. Every server process sharing the secret agrees.
    Made once per request (``views.request_form_token``)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"kiosk-form:" + credential.encode(), hashlib.sha256).hexdigest()


def new_pairing_code() -> str:
    """A random pairing code: ``PAIRING_DIGITS`` digits."""
    return f"{secrets.randbelow(10**PAIRING_DIGITS):0{PAIRING_DIGITS}d}"


def format_pairing_code(code: str) -> str:
    """The pairing code as shown to people: ``1234 5678``."""
    return f"{code[:4]} {code[4:]}"


def pairing_code_from(raw: str) -> str | None:
    """The pairing code in what was typed or scanned: digits (spaces allowed), or the pairing
    URL of the QR (``…/kiosk/pasang?kode=12345678``). ``None`` when there is none."""
    if not isinstance(raw, str) or len(raw) > 300:
        return None
    raw = raw.strip()
    if "?" in raw:
        raw = (parse_qs(urlsplit(raw).query).get(_PAIRING_PARAM) or [""])[0]
    digits = re.sub(r"[\s-]", "", raw)
    if len(digits) != PAIRING_DIGITS or not digits.isdigit():
        return None
    return digits


def _set_pairing_code(device: Device, now: datetime) -> str:
    code = new_pairing_code()
    device.pairing_code_hash = _pairing_hash(code)
    device.pairing_expires_at = now + timedelta(minutes=PAIRING_MINUTES)
    return code


def _task(name: str, mode: str, distribution: Distribution | None, slip_paper: str | None) -> dict:
    """A device's name and task as columns: a check kiosk serves no distribution, prints nothing."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    if slip_paper not in SLIP_PAPERS:
        raise ValueError(f"unknown slip paper {slip_paper!r}")
    collect = mode == "collect"
    return {
        "name": name.strip()[:80], "mode": mode,
        "distribution_id": distribution.id if (distribution is not None and collect) else None,
        "slip_paper": slip_paper if collect else None,
    }


def add_device(name: str, mode: str, distribution: Distribution | None, *, staff: Staff | None,
               slip_paper: str | None = None) -> tuple[Device, str]:
    """Add a kiosk device and return it with its first pairing code (shown once). Audited."""
    task = _task(name, mode, distribution, slip_paper)
    for _attempt in range(5):
        try:
            with write_transaction():
                device = Device(created_by_id=staff.id if staff else None, **task)
                code = _set_pairing_code(device, utcnow())
                db.session.add(device)
                db.session.flush()
                record("device.add", device, after={k: v for k, v in task.items() if v is not None}, staff=staff)
            return device, code
        except IntegrityError:
            continue  # two live pairing codes collided (1 in 10^8): draw again
    raise RuntimeError("could not add the device")


def update_device(device: Device, name: str, mode: str, distribution: Distribution | None, *,
                  staff: Staff | None, slip_paper: str | None = None) -> Device:
    """Rename a device or change its task (check / collect, the distribution it serves, the slip
    it prints) without pairing it again: its kiosk takes the change within seconds (the ping
    carries ``config_version``). Audited with the values before and after."""
    task = _task(name, mode, distribution, slip_paper)
    with write_transaction():
        row = db.session.get(Device, device.id, populate_existing=True)
        if row.revoked_at is not None:
            raise ValueError("device is revoked")
        before = {k: getattr(row, k) for k in task}
        changed = {k: v for k, v in task.items() if before[k] != v}
        for column, value in changed.items():
            setattr(row, column, value)
        if changed:
            record("device.update", row, before={k: before[k] for k in changed}, after=changed, staff=staff)
    forget_devices()
    return row


def config_version(device: Device | PairedDevice) -> str:
    """A short fingerprint of what a kiosk screen is built from (name, task, distribution,
    slip): the screen and each ping carry it, and the kiosk reloads when they differ."""
    raw = f"{device.name}|{device.mode}|{device.distribution_id}|{device.slip_paper}"
    return hashlib.blake2s(raw.encode(), digest_size=6).hexdigest()


def renew_pairing_code(device: Device, *, staff: Staff | None) -> str:
    """A new pairing code for ``device`` (the old one stops working). Pairing with it replaces
    the credential of whichever browser held this device before. Audited."""
    if device.revoked_at is not None:
        raise ValueError("device is revoked")
    for _attempt in range(5):
        try:
            with write_transaction():
                code = _set_pairing_code(device, utcnow())
                record("device.pairing_code", device, staff=staff)
            return code
        except IntegrityError:
            continue
    raise RuntimeError("could not make a pairing code")


def pair(raw_code: str) -> tuple[Device, str] | None:
    """Pair this browser with the device whose live pairing code is ``raw_code``: returns the
    device and the new credential to put in the cookie, or ``None`` (wrong or expired code).
    The code works once. Audited."""
    code = pairing_code_from(raw_code)
    if code is None:
        return None
    with write_transaction():
        now = utcnow()
        device = db.session.scalar(select(Device).where(Device.pairing_code_hash == _pairing_hash(code)))
        if device is None or device.revoked_at is not None or device.pairing_expires_at is None:
            return None
        if device.pairing_expires_at < now:
            return None
        credential = secrets.token_urlsafe(32)
        device.credential_hash = _credential_hash(credential)
        device.pairing_code_hash = None
        device.pairing_expires_at = None
        device.paired_at = now
        device.last_seen_at = now
        record("device.pair", device, after={"paired_at": now}, device=device)
    return device, credential


class PairedDevice:
    """A paired device as its row was read: every column of ``Device`` as an attribute, nothing
    else (no relationships), read-only — it is shared by the requests of one process. Change the
    ``Device`` row to change a device."""

    __slots__ = ("_values",)
    __tablename__ = Device.__tablename__  # the audit trail names it like the row

    def __init__(self, values: dict):
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"a PairedDevice is read-only: change the Device row ({name})")

    def __repr__(self) -> str:
        return f"<PairedDevice {self.id}>"


_DEVICE_COLUMNS = tuple(Device.__table__.columns)
_DEVICE_NAMES = tuple(column.key for column in _DEVICE_COLUMNS)
# On the driver (``read_alone``): a kiosk request then holds no session connection, so a thread
# never waits for a second connection from the pool while it holds one (AMBIL's, a scan's).
_DEVICE_BY_CREDENTIAL = select(*_DEVICE_COLUMNS).where(Device.__table__.c.credential_hash == bindparam("key"))


def device_for(credential: str | None) -> PairedDevice | None:
    """The device holding ``credential`` (from the cookie), or ``None`` if unknown or revoked.
    Read at most every ``DEVICE_CACHE_SECONDS`` per credential and process."""
    if not credential or len(credential) > 200:
        return None
    key = _credential_hash(credential)
    cache = current_app.extensions.setdefault(_DEVICE_CACHE, {})
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and now - hit[0] < DEVICE_CACHE_SECONDS:
        return hit[1]
    rows = read_alone(_DEVICE_BY_CREDENTIAL, {"key": key})
    row = dict(zip(_DEVICE_NAMES, rows[0])) if rows else None
    device = PairedDevice(row) if row is not None and row["revoked_at"] is None else None
    if len(cache) >= _DEVICE_CACHE_MAX:  # unknown credentials must not grow it without end
        cache.clear()
    cache[key] = (now, device)
    return device


def forget_devices() -> None:
    """Drop this process's cached devices (a device changed: read the rows again)."""
    if has_app_context():
        current_app.extensions.pop(_DEVICE_CACHE, None)


@event.listens_for(Device, "after_update")
@event.listens_for(Device, "after_delete")
def _device_row_changed(_mapper, _connection, _target) -> None:
    forget_devices()  # an edit through the ORM (admin pages, pairing, revoking) counts at once


def seen(device: Device | PairedDevice, clock_offset_s: int | None = None) -> None:
    """Note that ``device`` is alive, and how far its clock is from the server's when it said
    (at most one write a minute)."""
    now = utcnow()
    if device.last_seen_at is not None and now - device.last_seen_at < SEEN_EVERY:
        return
    with write_transaction():
        values = {"last_seen_at": now}
        if clock_offset_s is not None:
            values.update(clock_offset_s=clock_offset_s, clock_checked_at=now)
        db.session.execute(
            update(Device).where(Device.id == device.id).values(**values)
            .execution_options(synchronize_session=False)
        )
    forget_devices()


def unpair(device: Device | PairedDevice) -> None:
    """Forget this browser's credential (the staff exit on the kiosk); the device stays and can
    be paired again with a new code. Audited."""
    with write_transaction():
        row = db.session.get(Device, device.id, populate_existing=True)
        row.credential_hash = None
        record("device.unpair", row, before={"paired_at": row.paired_at}, device=row)
    forget_devices()


def revoke(device: Device, *, staff: Staff | None) -> None:
    """Revoke ``device``: its credential and pairing code stop working at once. Audited."""
    with write_transaction():
        if device.revoked_at is not None:
            return
        device.revoked_at = utcnow()
        device.credential_hash = None
        device.pairing_code_hash = None
        device.pairing_expires_at = None
        record("device.revoke", device, before={"revoked_at": None}, after={"revoked_at": device.revoked_at}, staff=staff)
    forget_devices()


def devices() -> list[Device]:
    """Every device, live ones first, newest first."""
    return list(
        db.session.scalars(select(Device).order_by(Device.revoked_at.is_not(None), Device.created_at.desc(), Device.id.desc()))
    )


def check_exit_pin(pin: str) -> bool:
    """True when ``pin`` is the staff exit PIN (admin page *Pengaturan*, or ``KIOSK_EXIT_PIN``);
    never when none is set."""
    from .. import settings

    expected = str(settings.get("exit_pin") or "")
    if not expected or not isinstance(pin, str):
        return False
    return hmac.compare_digest(pin.strip().encode(), expected.encode())
