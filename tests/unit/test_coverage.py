"""kiosk.coverage: contributions, period dates and status in Asia/Jakarta."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import coverage
from kiosk.coverage import (
    INCOME_FLOOR,
    PROGRAMMES,
    Contribution,
    default_end,
    monthly_contribution,
    months_between,
    period_total,
    status_on,
    today_jakarta,
)

UTC = timezone.utc


@pytest.mark.parametrize("income", [0, 1, 500_000, 999_999, INCOME_FLOOR])
def test_jkk_jkm_at_and_under_the_floor(income):
    c = monthly_contribution(income, {"JKK", "JKM"})
    assert c == Contribution(jkk=10_000, jkm=6_800, jht=0, total=16_800, basis=1_000_000)


def test_jkk_jkm_over_the_floor():
    c = monthly_contribution(2_500_000, {"JKK", "JKM"})
    assert (c.jkk, c.jkm, c.jht, c.total, c.basis) == (25_000, 6_800, 0, 31_800, 2_500_000)


def test_jht_on_and_off():
    off = monthly_contribution(1_500_000, ["JKK", "JKM"])
    on = monthly_contribution(1_500_000, ["JKK", "JKM", "JHT"])
    assert off.jht == 0 and off.total == 15_000 + 6_800
    assert on.jht == 30_000 and on.total == 15_000 + 6_800 + 30_000


def test_floor_applies_to_jht_too():
    assert monthly_contribution(300_000, ["JHT"]).jht == 20_000


def test_single_programmes_and_codes_in_any_case():
    assert monthly_contribution(1_000_000, ["jkm"]).total == 6_800
    assert monthly_contribution(1_000_000, "JKK").total == 10_000
    assert monthly_contribution(1_000_000, ("JKK", "JKK", " jkk ")).total == 10_000
    assert monthly_contribution(1_000_000, []).total == 0


@pytest.mark.parametrize("income, jkk, jht", [
    (1_234_549, 12_345, 24_691),   # 12.345,49 -> 12.345 ; 24.690,98 -> 24.691
    (1_234_550, 12_346, 24_691),   # 12.345,50 rounds half up
    (1_000_050, 10_001, 20_001),   # 10.000,50 -> 10.001 ; 20.001,00
    (1_000_025, 10_000, 20_001),   # 10.000,25 -> 10.000 ; 20.000,50 -> 20.001
])
def test_percentages_round_half_up_to_whole_rupiah(income, jkk, jht):
    c = monthly_contribution(income, {"JKK", "JKM", "JHT"})
    assert (c.jkk, c.jht) == (jkk, jht)
    assert c.total == jkk + 6_800 + jht


@pytest.mark.parametrize("income", [-1, 1.5, True])
def test_bad_income(income):
    with pytest.raises(ValueError):
        monthly_contribution(income, {"JKK"})


def test_unknown_programme():
    with pytest.raises(ValueError):
        monthly_contribution(1_000_000, {"JKK", "JKN"})


def test_three_month_total():
    monthly = monthly_contribution(0, {"JKK", "JKM"}).total
    assert monthly == 16_800
    assert period_total(monthly) == 50_400
    assert period_total(monthly, months=3) == 50_400
    assert period_total(monthly, months_between(date(2026, 1, 1), date(2026, 3, 31))) == 50_400
    assert period_total(monthly, months_between(date(2026, 1, 1), date(2026, 4, 1))) == 4 * 16_800
    assert period_total(monthly, 1) == 16_800


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=10**12), st.sets(st.sampled_from(["JKK", "JKM", "JHT"])))
def test_contribution_properties(income, programmes):
    c = monthly_contribution(income, programmes)
    assert c.total == c.jkk + c.jkm + c.jht
    assert c.basis == max(income, INCOME_FLOOR)
    assert (c.jkk >= 10_000) == ("JKK" in programmes)
    assert (c.jht >= 20_000) == ("JHT" in programmes)
    assert c.jkm == (6_800 if "JKM" in programmes else 0)
    if "JKK" in programmes:
        assert abs(c.jkk * 100 - c.basis) <= 50


@pytest.mark.parametrize("start, end", [
    (date(2026, 1, 1), date(2026, 3, 31)),
    (date(2026, 1, 15), date(2026, 4, 14)),
    (date(2026, 11, 30), date(2027, 2, 28)),
    (date(2026, 11, 29), date(2027, 2, 28)),
    (date(2026, 11, 28), date(2027, 2, 27)),
    (date(2027, 11, 29), date(2028, 2, 28)),   # 2028-02-29 exists: the day before it
    (date(2026, 8, 31), date(2026, 11, 30)),
    (date(2026, 12, 31), date(2027, 3, 30)),
    (date(2026, 10, 1), date(2026, 12, 31)),
    (date(2026, 11, 1), date(2027, 1, 31)),
])
def test_default_end(start, end):
    assert default_end(start) == end
    assert months_between(start, end) == 3


def test_default_end_other_lengths():
    assert default_end(date(2026, 1, 1), 1) == date(2026, 1, 31)
    assert default_end(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert default_end(date(2026, 1, 1), 12) == date(2026, 12, 31)
    with pytest.raises(ValueError):
        default_end(date(2026, 1, 1), 0)


def test_months_between():
    assert months_between(date(2026, 1, 1), date(2026, 1, 1)) == 1
    assert months_between(date(2026, 1, 1), date(2026, 2, 1)) == 2
    with pytest.raises(ValueError):
        months_between(date(2026, 1, 2), date(2026, 1, 1))


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)), st.integers(min_value=1, max_value=36))
def test_default_end_properties(start, months):
    end = default_end(start, months)
    assert end >= start
    assert months_between(start, end) == months
    # n months then m months never overlap and never pass n + m months.
    assert default_end(start, months + 1) > end
    # It lies in the month ``months`` later, or in the month before when it is the day before a 1st.
    target = start.year * 12 + start.month - 1 + months
    assert end.year * 12 + end.month - 1 in (target, target - 1)


START, END = date(2026, 1, 1), date(2026, 3, 31)


def test_status_on_the_first_day():
    s = status_on(START, END, START)
    assert (s.code, s.days_left, s.starts_in, s.ended_days_ago) == ("aktif", 89, None, None)
    assert s.active and s.tone == "ok" and str(s.label) == "Aktif"


def test_status_the_day_before_start():
    s = status_on(START, END, START - timedelta(days=1))
    assert (s.code, s.starts_in, s.days_left) == ("belum_aktif", 1, None)
    assert not s.active and s.tone == "warn"


def test_status_on_the_last_day():
    s = status_on(START, END, END)
    assert (s.code, s.days_left) == ("aktif", 0)
    assert s.last_day


def test_status_the_day_after():
    s = status_on(START, END, END + timedelta(days=1))
    assert (s.code, s.ended_days_ago, s.days_left) == ("berakhir", 1, None)
    assert not s.active and s.tone == "bad" and str(s.label) == "Berakhir"


def test_status_of_a_one_day_period_and_bad_period():
    assert status_on(START, START, START).days_left == 0
    with pytest.raises(ValueError):
        status_on(END, START, START)


def test_jakarta_midnight():
    before = datetime(2026, 3, 31, 16, 59, 59, tzinfo=UTC)   # 23:59:59 WIB
    after = datetime(2026, 3, 31, 17, 30, tzinfo=UTC)        # 00:30 WIB, 1 April
    assert today_jakarta(before) == date(2026, 3, 31)
    assert today_jakarta(after) == date(2026, 4, 1)
    assert status_on(START, END, today_jakarta(before)).code == "aktif"
    assert status_on(START, END, today_jakarta(after)).code == "berakhir"
    assert today_jakarta(datetime(2026, 4, 1, 0, 30, tzinfo=ZoneInfo("Asia/Jakarta"))) == date(2026, 4, 1)


def test_today_jakarta_needs_an_aware_datetime():
    with pytest.raises(ValueError):
        today_jakarta(datetime(2026, 3, 31, 17, 30))
    assert today_jakarta() == datetime.now(ZoneInfo("Asia/Jakarta")).date()


def test_programmes_words():
    assert set(PROGRAMMES) == {"JKK", "JKM", "JHT"}
    name, benefit = PROGRAMMES["JKK"]
    assert str(name) == "Jaminan Kecelakaan Kerja" and "kecelakaan kerja" in str(benefit)
    assert str(PROGRAMMES["JKM"].name) == "Jaminan Kematian" and "ahli waris" in str(PROGRAMMES["JKM"].benefit)
    assert str(PROGRAMMES["JHT"].name) == "Jaminan Hari Tua"
    assert coverage.programme_codes({"JHT", "jkk"}) == ("JKK", "JHT")
