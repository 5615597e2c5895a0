"""Days people type — a birth date, the start or end of a coverage period, the day of a
distribution, a report's filter — lie between ``FIRST`` and ``LAST``.

Outside that span a date is a typing mistake, and what the app computes from it (the next day,
three months later, midnight in Jakarta as UTC) would leave what Python's ``date`` and the
databases can hold: an ``OverflowError``, a 500. So every typed date is checked here once, where
it is read, and refused with a message.
"""

from __future__ import annotations

import re
from datetime import date

from wtforms import StringField

from .i18n import _l

FIRST = date(1900, 1, 1)
LAST = date(2199, 12, 31)
MESSAGE = _l("Tanggal harus antara tahun 1900 dan 2199.")
UNREADABLE = _l("Tulis tanggal sebagai hh/bb/tttt, misalnya 17/08/2026.")
NO_SUCH_DAY = _l("Tanggal itu tidak ada di kalender (misalnya 31/02): periksa hari dan bulannya.")

# What people type: day/month/year (with /, - or . between), whatever the browser's language;
# ISO (YYYY-MM-DD) is still read, for links made before and for a native date picker's value.
_DMY = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


class OutOfRange(ValueError):
    """A date that parses but lies outside ``FIRST``..``LAST``."""


class NoSuchDay(ValueError):
    """Written as a date of a real month, but no such day in it: 31/02, 29/02 of a common year."""


def check(day: date | None) -> date | None:
    """``day`` itself when it is inside the span (or None); raises ``OutOfRange`` otherwise."""
    if day is not None and not FIRST <= day <= LAST:
        raise OutOfRange(day.isoformat())
    return day


def parse(raw: str | None) -> date | None:
    """A typed day: ``dd/mm/yyyy`` (``d/m/yyyy``, ``-`` or ``.`` between) or ISO ``yyyy-mm-dd``;
    None when empty. Raises ``ValueError`` when unreadable, ``NoSuchDay`` for a day the calendar
    does not have, ``OutOfRange`` outside the span."""
    text = (raw or "").strip()
    if not text:
        return None
    dmy = _DMY.fullmatch(text)
    if dmy:
        day, month, year = dmy.group(1, 3, 4)
    else:
        iso = _ISO.fullmatch(text)
        if not iso:
            raise ValueError(text)
        year, month, day = iso.group(1, 2, 3)
    try:
        return check(date(int(year), int(month), int(day)))
    except OutOfRange:
        raise
    except ValueError:
        # A month over 12 is more likely month and day swapped (12/31/2026): the format's hint.
        raise (NoSuchDay(text) if 1 <= int(month) <= 12 else ValueError(text)) from None


def field_text(day: date | None) -> str:
    """A day as a date field shows it: "17/08/2026" (empty for None)."""
    return day.strftime("%d/%m/%Y") if day is not None else ""


def from_query(raw: str | None) -> date | None:
    """A query-string day (``dd/mm/yyyy`` or ISO) inside the span, else None (the filter is ignored)."""
    try:
        return parse(raw)
    except ValueError:
        return None


class DayField(StringField):
    """A WTForms date field typed as dd/mm/yyyy (see ``parse``), shown the same way whatever the
    browser's language (templates render it with ``_forms.html``'s date input). Its data is a
    ``date`` or None."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            self.data = parse(valuelist[0])
        except OutOfRange:
            self.data = None
            raise ValueError(MESSAGE) from None
        except NoSuchDay:
            self.data = None
            raise ValueError(NO_SUCH_DAY) from None
        except ValueError:
            self.data = None
            raise ValueError(UNREADABLE) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return field_text(self.data) if isinstance(self.data, date) else ""


class InRange:
    """WTForms validator: the field's date lies inside the span."""

    def __call__(self, form, field) -> None:
        from wtforms.validators import StopValidation

        if field.data is not None and not FIRST <= field.data <= LAST:
            raise StopValidation(MESSAGE)
