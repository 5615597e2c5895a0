"""The card token carried by a card's QR code, the keys that sign it, and the fallback code.

Token (format version 1), 26 characters of upper-case RFC 4648 base32 so the QR code uses
alphanumeric mode (version 2 at error correction Q)::

    K  A  <24 base32 chars = 15 bytes: card id (5 bytes, big-endian) || MAC (10 bytes)>
    |  '-- key id: one base32 character, so 32 key slots ("A".."Z", "2".."7")
    '----- format version letter ("K" = version 1)

    MAC = HMAC-SHA256(key, b"K" + key id + card id bytes)[:10]

The token holds no personal data: the card id is looked up in the database. 15 bytes are exactly
24 base32 characters, so there is no padding and every token has a single spelling.

Reading rules: surrounding whitespace (a USB scanner's CR/LF) is ignored; anything else must be
exact. A lower-case token is refused as malformed, because scanners do not change case: a
lower-cased token comes from a person or a program retyping it, not from a printed card.

Fallback code: printed under the QR code for when the code is damaged, typed on the kiosk's number
pad. Digits only (workers who read little handle digits far better than letters): 10 random digits
and one Verhoeff check digit, which catches every single wrong digit and every swap of two
neighbouring digits. Shown as ``1234 5678 901``.

What lives where: ``card_token`` (the format, ``sign``, ``read``), ``keyring`` (the keys, where
they are kept and registered), ``fallback_code``.
"""

from .card_token import MAX_CARD_ID, TOKEN_LENGTH, Refusal, TokenCheck, read, scanned_text, sign
from .fallback_code import (
    could_be_fallback_code,
    format_fallback_code,
    new_fallback_code,
    normalize_fallback_code,
    verhoeff_check_digit,
    verhoeff_valid,
)
from .keyring import (
    KEY_IDS,
    STATE_MAX_AGE,
    FolderRegistry,
    KeyRing,
    KeyRingError,
    KeyStore,
    RingState,
    fingerprint,
    parse_given_keys,
)

__all__ = [
    "KEY_IDS", "MAX_CARD_ID", "STATE_MAX_AGE", "TOKEN_LENGTH",
    "FolderRegistry", "KeyRing", "KeyRingError", "KeyStore", "Refusal", "RingState", "TokenCheck",
    "could_be_fallback_code", "fingerprint", "format_fallback_code", "new_fallback_code", "normalize_fallback_code", "parse_given_keys",
    "read", "scanned_text", "sign", "verhoeff_check_digit", "verhoeff_valid",
]
