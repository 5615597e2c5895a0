"""Indonesian phone numbers: read what people type, store one canonical form, show it the way
people write it.

Stored form: "+62" then the national number without its leading 0 — "+6281234567890" for
0812-3456-7890, "+62734421234" for the Muara Enim landline (0734) 421234.
"""

from __future__ import annotations

import re
from typing import Any

from .i18n import _l

# Mobile numbers are 08 + 8 to 11 digits (10 to 13 in all); 08 belongs to mobiles only.
MOBILE_LENGTHS = range(10, 14)
# Landlines: area code (021 … 0986) + subscriber number, 9 to 12 digits in all.
LANDLINE_LENGTHS = range(9, 13)
# The few two-digit area codes (Jakarta, Bandung, Semarang, Surabaya, Medan); the rest have three.
TWO_DIGIT_AREAS = {"21", "22", "24", "31", "61"}

_ALLOWED = re.compile(r"[0-9+\s().\-\u00a0\u202f\u2010-\u2015]*")
_SEPARATORS = re.compile(r"[\s().\-\u00a0\u202f\u2010-\u2015]+")


class PhoneError(ValueError):
    """A number that is not an Indonesian phone number; ``message`` says why, in Indonesian."""

    def __init__(self, message: Any):
        super().__init__(str(message))
        self.message = message


def _national(raw: str) -> str:
    """The number as dialled inside Indonesia, with its leading 0 ("081234567890")."""
    text = raw.strip()
    if not text:
        raise PhoneError(_l("Isi nomor HP."))
    if not _ALLOWED.fullmatch(text):
        raise PhoneError(
            _l("Nomor HP hanya boleh berisi angka (boleh diawali +62), misalnya 0812-3456-7890.")
        )
    plus = text.startswith("+")
    digits = _SEPARATORS.sub("", text).lstrip("+")
    if "+" in digits or not digits:
        raise PhoneError(
            _l("Nomor HP hanya boleh berisi angka (boleh diawali +62), misalnya 0812-3456-7890.")
        )
    if digits.startswith("00"):  # international dialling prefix: 0062…
        plus, digits = True, digits[2:]
    if plus or digits.startswith("62"):
        if not digits.startswith("62"):
            raise PhoneError(
                _l("Nomor luar negeri tidak diterima. Isi nomor Indonesia, misalnya 0812-3456-7890.")
            )
        # "+62 (0)812…": the 0 is sometimes written after the country code.
        rest = digits[2:]
        return rest if rest.startswith("0") else "0" + rest
    if digits.startswith("8"):
        # A spreadsheet stored the number as a number and dropped its leading 0.
        return "0" + digits
    return digits


def normalize_phone(raw: Any) -> str:
    """The canonical form "+62…" of an Indonesian mobile or landline number typed as "0812-3456-7890",
    "62812…", "+62 812 3456 7890", "(0734) 421234"…; raises ``PhoneError`` otherwise."""
    national = _national("" if raw is None else str(raw))
    n = len(national)
    if national.startswith("08"):
        if national[2:3] == "0":
            raise PhoneError(_l("Nomor 0800/080x adalah nomor bebas pulsa, bukan nomor HP."))
        if n not in MOBILE_LENGTHS:
            raise PhoneError(
                _l("Nomor HP harus 10 sampai 13 angka, diawali 08; yang diisi %(n)s angka.", n=n)
            )
    elif re.match(r"0[2-79]", national):
        if n not in LANDLINE_LENGTHS:
            raise PhoneError(
                _l(
                    "Nomor telepon rumah/kantor harus kode wilayah + nomor, 9 sampai 12 angka "
                    "(misalnya 0734-421234); yang diisi %(n)s angka.",
                    n=n,
                )
            )
    else:
        raise PhoneError(
            _l("Ini bukan nomor telepon Indonesia. Nomor HP diawali 08, misalnya 0812-3456-7890.")
        )
    return "+62" + national[1:]


def _groups(digits: str, sizes: list[int]) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(digits[i : i + size])
        i += size
    return "-".join(p for p in parts if p)


def display_phone(phone: str | None) -> str:
    """A stored number the way people write it: "+6281234567890" -> "0812-3456-7890",
    "+62734421234" -> "0734-421234". A value that is not a phone number is shown as given."""
    if not phone:
        return ""
    try:
        national = "0" + normalize_phone(phone)[3:]
    except PhoneError:
        return str(phone)
    if national.startswith("08"):
        rest = national[4:]
        tail = {8: [4, 4], 9: [4, 5], 7: [3, 4], 6: [3, 3]}[len(rest)]
        return _groups(national, [4, *tail])
    area = 3 if national[1:3] in TWO_DIGIT_AREAS else 4
    return _groups(national, [area, len(national) - area])
