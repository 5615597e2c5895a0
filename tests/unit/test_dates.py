"""enrollment.parse_date: the regular expressions read exactly what the documented strptime
formats (DATE_FORMATS) read, within the span of typed dates (kiosk.days: 1900-2199)."""

from datetime import datetime

import pytest
from hypothesis import example, given, strategies as st

from kiosk import days
from kiosk.enrollment import DATE_FORMATS, parse_date


def by_strptime(raw: str):
    for fmt in DATE_FORMATS:
        try:
            day = datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
        return day if days.FIRST <= day <= days.LAST else None
    return None


def by_parse_date(raw: str):
    try:
        return parse_date(raw)
    except ValueError:
        return None


@given(st.text(alphabet="0123456789-/. ", max_size=12))
@example("1985-07-14")
@example("14-07-1985")
@example("1-7-1985")
@example("14/7/1985")
@example("14.07.1985")
@example("29-02-1985")
@example("14-07/1985")
@example("0014-07-14")
@example("1985-07- 4")
def test_same_dates_as_strptime(raw):
    assert by_parse_date(raw.strip()) == by_strptime(raw.strip())


@given(st.dates())
def test_every_date_in_every_format(day):
    for fmt in DATE_FORMATS:
        text = day.strftime(fmt)
        if days.FIRST <= day <= days.LAST:
            assert parse_date(text) == day
        elif day.year >= 1000:
            with pytest.raises(days.OutOfRange):
                parse_date(text)
