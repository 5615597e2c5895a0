"""Short-lived signed tickets the kiosk hands itself: the claim ticket behind AMBIL (which
worker, card, device, distribution, and the request id of a double tap) and the photo URL of a
scanned worker.

A ticket is its fields, the moment it was made and an HMAC-SHA256 of both (keyed with the app
secret and the ticket's purpose), joined with dots: ``12.34.5.6.<request id>.1764374400.<mac>``.
The fields are integers or hex ids, nothing a person typed, and nothing secret (the kiosk
shows that worker anyway); the MAC makes them unforgeable and binds them to their purpose, and
every server process sharing the secret reads them. It is built for the scan, which makes one
on every card shown: a few microseconds, where a JSON serializer took tens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

_MAC_BYTES = 16  # 128 bits, URL-safe base64 without padding: 22 characters
_MAX_LENGTH = 200
CLOCK_SKEW = 60  # seconds a ticket may seem to come from the future (another server's clock)


def _mac(secret: bytes | str, purpose: str, payload: str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, f"kiosk-{purpose}|{payload}".encode(), hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make(secret: bytes | str, purpose: str, *fields: int | str, now: float | None = None) -> str:
    """A ticket for ``purpose`` carrying ``fields`` (ints, or strings without dots)."""
    payload = ".".join([*(str(field) for field in fields), str(int(time.time() if now is None else now))])
    return f"{payload}.{_mac(secret, purpose, payload)}"


def read(secret: bytes | str, purpose: str, ticket: str, count: int, max_age: int) -> list[str] | None:
    """The ``count`` fields of a genuine ticket for ``purpose`` made at most ``max_age`` seconds
    ago (as strings), else None: forged, altered, for another purpose, expired, or not a ticket."""
    if not isinstance(ticket, str) or len(ticket) > _MAX_LENGTH or not ticket.isascii():
        return None
    parts = ticket.split(".")
    if len(parts) != count + 2:
        return None
    payload, mac = ticket.rsplit(".", 1)
    if not hmac.compare_digest(mac, _mac(secret, purpose, payload)):
        return None
    made = parts[-2]
    if not made.isdigit() or not -CLOCK_SKEW <= time.time() - int(made) <= max_age:
        return None
    return parts[:count]
