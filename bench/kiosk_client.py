"""Speaking to the kiosk screen like a paired kiosk browser does: the device cookie, a session
with its CSRF token (from the kiosk page), and htmx requests aimed at the result panel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from .common import Conn, build_request, cookies_from

DEVICE_COOKIE = "kiosk_device"  # kiosk/terminal/pairing.py COOKIE
PANEL = "scan-result"
CSRF_FIELD = re.compile(rb'name="csrf_token" value="([^"]+)"')  # a page's form token
_STATE = re.compile(rb'id="scan-result"[^>]*data-state="([a-z_]+)"')
_SEMBAKO = re.compile(rb'data-sembako="([a-z_]+)"')
_TICKET = re.compile(rb'name="ticket" value="([^"]+)"')


@dataclass
class KioskSession:
    """A paired kiosk browser's cookies and CSRF token."""

    port: int
    cookie: str
    csrf: str

    def post(self, path: str, fields: dict[str, str]) -> bytes:
        """The raw bytes of an htmx POST to ``path`` aimed at the result panel."""
        body = urlencode(fields).encode()
        return build_request("POST", path, self.port, {
            "Cookie": self.cookie,
            "X-CSRFToken": self.csrf,
            "HX-Request": "true",
            "HX-Target": PANEL,
            "HX-Current-URL": f"http://127.0.0.1:{self.port}/kiosk/",
            "Content-Type": "application/x-www-form-urlencoded",
        }, body)


def open_session(conn: Conn, credential: str) -> KioskSession:
    """Load the kiosk page as a paired device; returns the session to post with."""
    status, headers, body = conn.request(build_request(
        "GET", "/kiosk/", conn.port, {"Cookie": f"{DEVICE_COOKIE}={credential}"}))
    if status != 200:
        raise RuntimeError(f"kiosk page answered {status} (is the device paired?)")
    found = CSRF_FIELD.search(body)
    if not found:
        raise RuntimeError("no CSRF token on the kiosk page")
    cookies = {DEVICE_COOKIE: credential, **cookies_from(headers)}
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return KioskSession(conn.port, cookie, found.group(1).decode())


def panel_state(body: bytes) -> str | None:
    """The result panel's data-state (welcome / result / refused / collected / error)."""
    m = _STATE.search(body)
    return m.group(1).decode() if m else None


def sembako_state(body: bytes) -> str | None:
    """The sembako part's data-sembako (available / collected / waiting / already / refused), if
    shown. waiting: claimed earlier, not handed over yet; already: handed over."""
    m = _SEMBAKO.search(body)
    return m.group(1).decode() if m else None


def claim_ticket(body: bytes) -> str | None:
    """The AMBIL form's ticket on a result screen, if offered."""
    m = _TICKET.search(body)
    return m.group(1).decode() if m else None
