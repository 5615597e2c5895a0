"""Days people type — a birth date, the start or end of a coverage period, the day of a
distribution, a report's filter — lie between ``FIRST`` and ``LAST``.

Outside that span a date is a typing mistake, and what the app computes from it (the next day,
three months later, midnight in Jakarta as UTC) would leave what Python's ``date`` and the
databases can hold: an ``OverflowError``, a 500. So every typed date is checked here once, where
it is read, and refused with a message.
"""

from __future__ import annotations

from datetime import date

from .i18n import _l

FIRST = date(1900, 1, 1)
LAST = date(2199, 12, 31)
MESSAGE = _l("Tanggal harus antara tahun 1900 dan 2199.")


class OutOfRange(ValueError):
    """A date that parses but lies outside ``FIRST``..``LAST``."""


def check(day: date | None) -> date | None:
    """``day`` itself when it is inside the span (or None); raises ``OutOfRange`` otherwise."""
    if day is not None and not FIRST <= day <= LAST:
        raise OutOfRange(day.isoformat())
    return day


def from_query(raw: str | None) -> date | None:
    """A ``YYYY-MM-DD`` query-string value inside the span, else None (the filter is ignored)."""
    try:
        return check(date.fromisoformat((raw or "").strip()))
    except ValueError:
        return None


class InRange:
    """WTForms validator: the field's date lies inside the span."""

    def __call__(self, form, field) -> None:
        from wtforms.validators import StopValidation

        if field.data is not None and not FIRST <= field.data <= LAST:
            raise StopValidation(MESSAGE)
