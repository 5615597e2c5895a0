"""Amounts in Rupiah, written the Indonesian way: "Rp1.500.000" (a dot between thousands, no
decimals — the Rupiah has no cents in use)."""

from __future__ import annotations

import re
from typing import Any

from .i18n import _l

MAX_AMOUNT = 10**12

_PREFIX = re.compile(r"^(?:rp\.?|idr)\s*", re.IGNORECASE)
# 1500000 · 1.500.000 · either followed by ",00", ",0" or ",-" (as on receipts: "Rp 1.500.000,-").
_AMOUNT = re.compile(r"(?P<int>[0-9]+|[0-9]{1,3}(?:\.[0-9]{3})+)(?:,0{1,2}|,-)?")
_WORDS = re.compile(r"juta|jt|ribu|rb|rebu|k\b|m\b", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


class RupiahError(ValueError):
    """An amount that cannot be read; ``message`` says why, in Indonesian."""

    def __init__(self, message: Any):
        super().__init__(str(message))
        self.message = message


def _checked(amount: int) -> int:
    if amount < 0:
        raise RupiahError(_l("Jumlah uang tidak boleh negatif."))
    if amount > MAX_AMOUNT:
        raise RupiahError(_l("Jumlah uang terlalu besar; periksa lagi jumlah angka nolnya."))
    return amount


def parse_rupiah(raw: Any) -> int:
    """Whole Rupiah from "Rp1.500.000", "Rp 1.500.000,00", "1.500.000", "1500000" (or an
    int, or a whole float from a spreadsheet cell); raises ``RupiahError`` for anything
    else — negatives, words, more than Rp1 triliun, ambiguous dots like "1.50.000"."""
    if isinstance(raw, bool) or raw is None:
        raise RupiahError(_l("Isi jumlah uang, misalnya Rp1.500.000."))
    if isinstance(raw, int):
        return _checked(raw)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")) or not raw.is_integer():
            raise RupiahError(_l("Tulis jumlah uang tanpa sen, misalnya Rp1.500.000."))
        return _checked(int(raw))
    text = _SPACES.sub(" ", str(raw)).strip()
    if not text:
        raise RupiahError(_l("Isi jumlah uang, misalnya Rp1.500.000."))
    if text.startswith(("-", "−", "(")) or re.match(r"^(?:rp\.?|idr)\s*[-−]", text, re.IGNORECASE):
        raise RupiahError(_l("Jumlah uang tidak boleh negatif."))
    number = _PREFIX.sub("", text)
    if not number:
        raise RupiahError(_l("Isi jumlah uang, misalnya Rp1.500.000."))
    match = _AMOUNT.fullmatch(number)
    if match is None:
        if _WORDS.search(number):
            raise RupiahError(
                _l("Tulis jumlahnya dengan angka lengkap, misalnya 1.500.000 (bukan \"1,5 juta\").")
            )
        if re.fullmatch(r"[0-9.,]+", number):
            raise RupiahError(
                _l(
                    "Penulisan \"%(value)s\" membingungkan. Pakai titik di antara ribuan dan tanpa sen, "
                    "misalnya 1.500.000.",
                    value=text,
                )
            )
        raise RupiahError(_l("Jumlah uang hanya boleh berisi angka, misalnya Rp1.500.000."))
    digits = match.group("int").replace(".", "")
    # Checked before int(): Python refuses to convert very long digit strings.
    if len(digits.lstrip("0")) > len(str(MAX_AMOUNT)):
        raise RupiahError(_l("Jumlah uang terlalu besar; periksa lagi jumlah angka nolnya."))
    return _checked(int(digits))


def format_rupiah(amount: int | None) -> str:
    """An amount the Indonesian way: 1500000 -> "Rp1.500.000" (negative: "-Rp1.500")."""
    if amount is None:
        return ""
    value = int(amount)
    text = "Rp" + f"{abs(value):,}".replace(",", ".")
    return "-" + text if value < 0 else text
