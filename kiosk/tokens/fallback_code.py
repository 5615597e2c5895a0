"""The fallback code printed under a card's QR code: 10 random digits and a Verhoeff check digit."""

from __future__ import annotations

import secrets

# Verhoeff's dihedral-group tables: d = multiplication in D5, p = position permutation,
# inv = inverse. https://en.wikipedia.org/wiki/Verhoeff_algorithm
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)

FALLBACK_RANDOM_DIGITS = 10
FALLBACK_LENGTH = FALLBACK_RANDOM_DIGITS + 1
_DIGITS = frozenset("0123456789")
# Letters a person may type for a digit on a full keyboard (staff desk); the kiosk pad has digits.
_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "I": "1", "i": "1", "L": "1", "l": "1"})
_SEPARATORS = str.maketrans("", "", " -\t\r\n.")


def verhoeff_check_digit(digits: str) -> str:
    """The Verhoeff check digit to append to the ASCII digit string ``digits``."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][ord(ch) - 48]]
    return str(_INV[c])


def verhoeff_valid(digits: str) -> bool:
    """True if the ASCII digit string ``digits`` ends with its correct Verhoeff check digit."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][ord(ch) - 48]]
    return c == 0


def new_fallback_code() -> str:
    """A new random fallback code: 10 random digits + 1 check digit, canonical (no spaces).
    The caller stores it unique per card and draws again on a clash."""
    body = f"{secrets.randbelow(10**FALLBACK_RANDOM_DIGITS):0{FALLBACK_RANDOM_DIGITS}d}"
    return body + verhoeff_check_digit(body)


def normalize_fallback_code(raw: str) -> str | None:
    """The canonical code for what a person typed (spaces, dashes, O/I/L for 0/1 tolerated),
    or None if it is not a well-formed code with a correct check digit. Never raises."""
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    code = raw.translate(_SEPARATORS).translate(_LOOKALIKES)
    if len(code) != FALLBACK_LENGTH or not _DIGITS.issuperset(code):
        return None
    return code if verhoeff_valid(code) else None


def could_be_fallback_code(raw: str) -> bool:
    """True when ``raw`` reads as a fallback code's 11 digits (as ``normalize_fallback_code``
    reads them: separators and O/I/L tolerated), whatever its check digit: a guess at a card's
    code, which the kiosk counts. A QR token, a web address or a shop's barcode never is."""
    if not isinstance(raw, str) or len(raw) > 40:
        return False
    code = raw.translate(_SEPARATORS).translate(_LOOKALIKES)
    return len(code) == FALLBACK_LENGTH and _DIGITS.issuperset(code)


def format_fallback_code(code: str) -> str:
    """The printed form of a canonical fallback code: ``1234 5678 901``."""
    if normalize_fallback_code(code) != code:
        raise ValueError("not a canonical fallback code")
    return f"{code[:4]} {code[4:8]} {code[8:]}"
