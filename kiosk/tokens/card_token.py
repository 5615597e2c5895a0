"""The card token: its format, signing one (``sign``) and checking a scanned one (``read``)."""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
from dataclasses import dataclass

from ..i18n import _l
from .keyring import KeyRing, _BASE32


VERSION = "K"
TOKEN_LENGTH = 26
CARD_ID_BYTES = 5
MAC_BYTES = 10
MAX_CARD_ID = 2 ** (8 * CARD_ID_BYTES) - 1
# Longer than any token plus the whitespace a scanner may add; longer input is refused before any
# other work, so a pasted novel costs nothing.
_MAX_RAW = 64
_SCANNER_WHITESPACE = " \t\r\n"
# The AIM symbology identifier a keyboard-wedge scanner may type before what it read: "]Q1" is
# a QR code (modifiers 0-6); with Caps Lock on it arrives as "]q1".
_AIM_QR = re.compile(r"\][Qq][0-6]")


class Refusal(enum.Enum):
    """Why a card is refused. The first five are decided from the token alone (``read``); the
    last two by the caller, with the database, after a token has read ``ok``."""

    MALFORMED = "malformed"
    WRONG_VERSION = "wrong_version"
    UNKNOWN_KEY = "unknown_key"
    RETIRED_KEY = "retired_key"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_CARD = "unknown_card"
    REVOKED = "revoked"

    @property
    def message(self):
        """A short Indonesian message for the person holding the card (lazy, translatable)."""
        return _REFUSAL_MESSAGES[self]


_REFUSAL_MESSAGES = {
    Refusal.MALFORMED: _l("Kartu tidak terbaca. Coba lagi atau tanya petugas."),
    Refusal.WRONG_VERSION: _l("Ini bukan kartu peserta BPU. Tanya petugas."),
    Refusal.UNKNOWN_KEY: _l("Kartu tidak sah. Tanya petugas."),
    Refusal.RETIRED_KEY: _l("Kartu ini sudah tidak berlaku. Minta kartu baru ke petugas."),
    Refusal.BAD_SIGNATURE: _l("Kartu tidak sah. Tanya petugas."),
    Refusal.UNKNOWN_CARD: _l("Kartu tidak terdaftar. Tanya petugas."),
    Refusal.REVOKED: _l("Kartu ini sudah tidak berlaku. Minta kartu baru ke petugas."),
}


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The outcome of reading a token.

    ``card_id`` is set only when the signature verified: when ``ok``, and for ``RETIRED_KEY``
    (a genuine card signed with a key taken out of use, so the desk can find whose card it is).
    ``key_id`` is set whenever the token was well formed enough to name one.
    """

    ok: bool
    card_id: int | None = None
    key_id: str | None = None
    reason: Refusal | None = None


def _mac(key: bytes, key_id: str, card_bytes: bytes) -> bytes:
    message = (VERSION + key_id).encode("ascii") + card_bytes
    return hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]


def sign(card_id: int, ring: KeyRing, key_id: str | None = None) -> str:
    """The token for ``card_id`` (0 .. 2**40-1), signed with the ring's current key, or with
    ``key_id`` to reproduce a card printed earlier (a retired key still signs: the token it
    gives is refused as ``RETIRED_KEY``, just like the printed card)."""
    if isinstance(card_id, bool) or not isinstance(card_id, int):
        raise TypeError("card_id must be an int")
    if not 0 <= card_id <= MAX_CARD_ID:
        raise ValueError(f"card_id out of range 0..{MAX_CARD_ID}")
    key_id = ring.current_id if key_id is None else key_id
    key = ring._key(key_id)
    if key is None:
        raise ring.missing(key_id)
    card_bytes = card_id.to_bytes(CARD_ID_BYTES, "big")
    body = base64.b32encode(card_bytes + _mac(key, key_id, card_bytes)).decode("ascii")
    return VERSION + key_id + body


def scanned_text(raw: str) -> str:
    """What a scanner typed, as the card holds it: whitespace and the AIM symbology identifier
    of a QR code (``]Q1``) taken off, and upper case (the token alphabet is upper-case base32;
    Caps Lock on a keyboard-wedge scanner turns it to lower case). Anything else is kept as it
    is, to be refused by the check."""
    text = raw.strip(_SCANNER_WHITESPACE)
    if _AIM_QR.match(text):
        text = text[3:].strip(_SCANNER_WHITESPACE)
    return text.upper() if text.isascii() else text


def read(raw: str, ring: KeyRing) -> TokenCheck:
    """Check a scanned token; never raises. ``ok`` means genuine, not that the card is valid:
    the caller still looks the card up and refuses ``UNKNOWN_CARD`` / ``REVOKED``."""
    if not isinstance(raw, str) or len(raw) > _MAX_RAW:
        return TokenCheck(ok=False, reason=Refusal.MALFORMED)
    token = scanned_text(raw)
    if len(token) != TOKEN_LENGTH or not _BASE32.issuperset(token):
        return TokenCheck(ok=False, reason=Refusal.MALFORMED)
    if token[0] != VERSION:
        return TokenCheck(ok=False, reason=Refusal.WRONG_VERSION)
    key_id = token[1]
    key = ring._key(key_id)
    if key is None:
        # A retired key this server no longer holds still tells the person what to do.
        reason = Refusal.RETIRED_KEY if ring._is_retired(key_id) else Refusal.UNKNOWN_KEY
        return TokenCheck(ok=False, key_id=key_id, reason=reason)
    # 24 characters of the base32 alphabet always decode to exactly 15 bytes.
    data = base64.b32decode(token[2:])
    card_bytes, mac = data[:CARD_ID_BYTES], data[CARD_ID_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, key_id, card_bytes)):
        return TokenCheck(ok=False, key_id=key_id, reason=Refusal.BAD_SIGNATURE)
    card_id = int.from_bytes(card_bytes, "big")
    if ring._is_retired(key_id):
        return TokenCheck(ok=False, card_id=card_id, key_id=key_id, reason=Refusal.RETIRED_KEY)
    return TokenCheck(ok=True, card_id=card_id, key_id=key_id)
