"""kiosk.nik: reading, checking, masking and formatting a NIK."""

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import wilayah
from kiosk.nik import PROVINCES, NikError, format_nik, mask_nik, normalize_nik, parse_nik

TODAY = date(2026, 5, 1)


def make_nik(kecamatan="160301", birth=date(1985, 3, 12), sex="L", serial="0012") -> str:
    day = birth.day + (40 if sex == "P" else 0)
    return f"{kecamatan}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial}"


def texts(messages) -> list[str]:
    return [str(m) for m in messages]


def test_valid_male():
    r = parse_nik("1603011203850012", today=TODAY)
    assert r.ok and r.errors == [] and r.warnings == []
    assert (r.nik, r.province, r.regency, r.kecamatan) == ("1603011203850012", "16", "1603", "160301")
    assert (r.birth_date, r.sex, r.serial) == (date(1985, 3, 12), "L", "0012")
    assert r.province_name == "Sumatera Selatan"


def test_valid_female_has_40_added_to_the_day():
    r = parse_nik("1603025203850012", today=TODAY)
    assert r.ok
    assert (r.birth_date, r.sex) == (date(1985, 3, 12), "P")


@pytest.mark.parametrize("dd", ["00", "32", "40", "72", "99"])
def test_day_that_is_neither_male_nor_female(dd):
    r = parse_nik(f"160301{dd}03850012", today=TODAY)
    assert not r.ok
    assert r.sex is None and r.birth_date is None
    assert dd in texts(r.errors)[0] and "41–71" in texts(r.errors)[0]


def test_day_71_is_the_31st_for_a_woman():
    r = parse_nik("1603017101900012", today=TODAY)
    assert r.ok and (r.birth_date, r.sex) == (date(1990, 1, 31), "P")


@pytest.mark.parametrize("nik, expected", [
    ("1603012902840012", date(1984, 2, 29)),   # leap year, man
    ("1603016902840012", date(1984, 2, 29)),   # leap year, woman (29 + 40)
    ("1603012902000012", date(2000, 2, 29)),   # 2000 is a leap year
])
def test_29_february_in_a_leap_year(nik, expected):
    r = parse_nik(nik, today=TODAY)
    assert r.ok, texts(r.errors)
    assert r.birth_date == expected


@pytest.mark.parametrize("nik", ["1603012902850012", "1603016902850012", "1603012902010012"])
def test_29_february_in_a_non_leap_year_is_refused(nik):
    r = parse_nik(nik, today=TODAY)
    assert not r.ok and r.birth_date is None
    assert "29-02" in texts(r.errors)[0] and "kabisat" in texts(r.errors)[0]


@pytest.mark.parametrize("nik, shown", [("1603013104850012", "31-04-85"), ("1603017104850012", "31-04-85")])
def test_impossible_date_is_refused(nik, shown):
    r = parse_nik(nik, today=TODAY)
    assert not r.ok and shown in texts(r.errors)[0]


@pytest.mark.parametrize("mm", ["00", "13", "85"])
def test_impossible_month(mm):
    r = parse_nik(f"16030112{mm}850012", today=TODAY)
    assert not r.ok and mm in texts(r.errors)[0]


@pytest.mark.parametrize("raw, n", [("160301120385001", 15), ("16030112038500123", 17), ("1", 1)])
def test_wrong_length(raw, n):
    r = parse_nik(raw, today=TODAY)
    assert not r.ok
    assert texts(r.errors) == [f"NIK harus 16 angka; yang diisi {n} angka."]


def test_empty():
    assert texts(parse_nik("   ").errors) == ["Isi NIK (16 angka di KTP)."]
    assert not parse_nik(None).ok


@pytest.mark.parametrize("raw, shown", [
    ("1603O11203850012", "O"),       # letter O for zero
    ("16030112038500l2", "l"),
    ("16030112038500¹2", "¹"),  # a superscript is no digit of a NIK
])
def test_letters_and_other_signs_are_refused(raw, shown):
    r = parse_nik(raw, today=TODAY)
    assert not r.ok and shown in texts(r.errors)[0]


@pytest.mark.parametrize("raw", ["１６０３０１１２０３８５００１２", "160301120385001٢"])
def test_digits_of_another_width_or_script_are_digits(raw):
    """A phone keyboard's full-width digits, Arabic-Indic digits: read as the digits they are."""
    r = parse_nik(raw, today=TODAY)
    assert r.ok and r.nik == "1603011203850012"


@pytest.mark.parametrize("province", ["00", "10", "20", "22", "37", "50", "99"])
def test_unknown_province_is_refused(province):
    r = parse_nik(f"{province}03011203850012", today=TODAY)
    assert not r.ok
    assert f"({province})" in texts(r.errors)[0]


def test_every_official_province_is_known():
    official = {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, *range(31, 37), 51, 52, 53, *range(61, 66),
                *range(71, 77), 81, 82, *range(91, 97)}
    assert {int(code) for code in PROVINCES} == official
    for code in PROVINCES:
        assert parse_nik(f"{code}71011203850012", today=TODAY).ok


def test_outside_muara_enim_is_only_a_warning():
    r = parse_nik("3171011203850012", today=TODAY)
    assert r.ok
    assert len(r.warnings) == 1
    assert "luar Kabupaten Muara Enim" in str(r.warnings[0]) and "31.71" in str(r.warnings[0])
    assert "DKI Jakarta" in str(r.warnings[0])


def test_kecamatan_moved_away_is_only_a_warning():
    # Kecamatan now in Kabupaten PALI (16.12) still appear as 16.03.xx codes on old cards.
    r = parse_nik("1603051203850012", today=TODAY)
    assert r.ok
    assert len(r.warnings) == 1 and "16.03.05" in str(r.warnings[0])


def test_serial_0000_is_refused():
    r = parse_nik("1603011203850000", today=TODAY)
    assert not r.ok and "0000" in texts(r.errors)[0]


def test_disagreement_with_entered_birth_date_names_both_dates():
    r = parse_nik("1603011201850012", birth_date=date(1985, 1, 13), today=TODAY)
    assert texts(r.errors) == [
        "Tanggal lahir di NIK (12-01-1985) tidak sama dengan tanggal lahir yang diisi (13-01-1985)."
    ]


def test_agreement_with_entered_birth_date_and_datetime_accepted():
    assert parse_nik("1603011201850012", birth_date=date(1985, 1, 12), today=TODAY).ok
    assert parse_nik("1603011201850012", birth_date=datetime(1985, 1, 12, 0, 0), today=TODAY).ok


def test_entered_birth_date_decides_the_century():
    # 12-01-20 alone reads as 2020; a worker entered as born in 1920 is the same NIK.
    assert parse_nik("1603011201200012", today=TODAY).birth_date == date(2020, 1, 12)
    r = parse_nik("1603011201200012", birth_date=date(1920, 1, 12), today=TODAY)
    assert r.ok and r.birth_date == date(1920, 1, 12)


def test_female_nik_entered_as_male():
    r = parse_nik("1603015201850012", sex="L", today=TODAY)
    assert texts(r.errors) == [
        "NIK ini milik perempuan (tanggal lahir + 40), tetapi jenis kelamin diisi laki-laki."
    ]


def test_male_nik_entered_as_female():
    r = parse_nik("1603011201850012", sex="Perempuan", today=TODAY)
    assert len(r.errors) == 1
    assert "milik laki-laki" in str(r.errors[0]) and "diisi perempuan" in str(r.errors[0])


@pytest.mark.parametrize("sex", ["P", "p", "perempuan", "Wanita"])
def test_agreeing_sex_words(sex):
    assert parse_nik("1603015201850012", sex=sex, today=TODAY).ok


def test_two_digit_year_is_never_in_the_future():
    assert parse_nik(make_nik(birth=date(2026, 5, 1)), today=TODAY).birth_date == date(2026, 5, 1)
    assert parse_nik(make_nik(birth=date(1926, 5, 2)), today=TODAY).birth_date == date(1926, 5, 2)


def test_birth_date_in_the_future_is_refused():
    r = parse_nik(make_nik(birth=date(2030, 1, 12)), birth_date=date(2030, 1, 12), today=TODAY)
    assert not r.ok and "masa depan" in texts(r.errors)[0]
    r = parse_nik(make_nik(birth=date(1985, 1, 12)), today=date(1980, 1, 1))
    assert not r.ok and "masa depan" in texts(r.errors)[0]


def test_default_today_is_used():
    born = date.today() - timedelta(days=365 * 30)
    r = parse_nik(make_nik(birth=born))
    assert r.ok and r.birth_date == born


@pytest.mark.parametrize("raw", [
    "1603 0112 0385 0012",
    " 1603-0112-0385-0012 ",
    "1603.0112.0385.0012",
    "16.03.01.120385.0012",
    "1603\u00a00112\u00a00385\u00a00012",
    "1603\t011203850012\n",
])
def test_spaces_dots_dashes_typed(raw):
    assert normalize_nik(raw) == "1603011203850012"
    r = parse_nik(raw, today=TODAY)
    assert r.ok and r.nik == "1603011203850012"


@pytest.mark.parametrize("raw", ["1.60301E+15", "1,60301E+15", "1.60301e15", " 1.603011203850E+15 ",
                                 "1603011203850010.0", 1.60301120385001e15])
def test_excel_scientific_notation_is_refused_clearly(raw):
    with pytest.raises(NikError) as info:
        normalize_nik(raw)
    assert "angka Excel" in str(info.value.message)
    r = parse_nik(raw, today=TODAY)
    assert not r.ok
    assert texts(r.errors)[0].startswith("NIK tertulis sebagai angka Excel")


def test_mask_and_format():
    assert mask_nik("1603011203850012") == "1603 •••• •••• 0012"
    assert mask_nik("1603 0112 0385 0012") == "1603 •••• •••• 0012"
    assert format_nik("1603011203850012") == "1603 0112 0385 0012"
    assert mask_nik("12345") == "•••••"
    assert mask_nik("") == "" and mask_nik(None) == ""
    assert format_nik("12345") == "12345"
    assert format_nik("1.60301E+15") == "1.60301E+15"


st_kecamatan = st.one_of(
    st.sampled_from([k.code for k in wilayah.kecamatan_list()]),
    st.builds(lambda p, rest: p + rest, st.sampled_from(sorted(PROVINCES)), st.from_regex(r"[0-9]{4}", fullmatch=True)),
)
st_birth = st.dates(min_value=TODAY.replace(year=TODAY.year - 100) + timedelta(days=1), max_value=TODAY)
st_serial = st.from_regex(r"[0-9]{4}", fullmatch=True).filter(lambda s: s != "0000")
st_sex = st.sampled_from(["L", "P"])


@settings(max_examples=150, deadline=None)
@given(kecamatan=st_kecamatan, birth=st_birth, sex=st_sex, serial=st_serial)
def test_generated_valid_nik_round_trips(kecamatan, birth, sex, serial):
    nik = make_nik(kecamatan, birth, sex, serial)
    r = parse_nik(nik, today=TODAY)
    assert r.ok, texts(r.errors)
    assert (r.birth_date, r.sex, r.serial, r.kecamatan) == (birth, sex, serial, kecamatan)
    assert parse_nik(format_nik(nik), birth_date=birth, sex=sex, today=TODAY).ok
    assert mask_nik(nik) == f"{nik[:4]} •••• •••• {nik[-4:]}"


@settings(max_examples=150, deadline=None)
@given(
    raw=st.one_of(
        st.text(),
        st.text(alphabet="0123456789 .-eE+,\u00a0", max_size=24),
        st.from_regex(r"[0-9]{16}", fullmatch=True),
        st.none(),
        st.integers(),
        st.floats(),
    ),
    birth=st.none() | st.dates(),
    sex=st.none() | st.text(max_size=10) | st_sex,
)
def test_parse_never_raises(raw, birth, sex):
    r = parse_nik(raw, birth_date=birth, sex=sex, today=TODAY)
    assert r.ok == (not r.errors)
    assert all(str(m) for m in r.errors + r.warnings)
    if r.ok:
        assert len(r.nik) == 16 and r.nik.isascii() and r.nik.isdigit()
        assert r.birth_date is not None and r.sex in ("L", "P")
    mask_nik(raw if isinstance(raw, str) else None)
    format_nik(raw if isinstance(raw, str) else None)


def test_typed_digits_read_separators_and_other_scripts():
    from kiosk.nik import search_digits, typed_digits

    assert typed_digits("1603 0214-8500.0012") == "1603021485000012"
    assert typed_digits("１６０３\u200b０２") == "160302"  # a phone's full-width digits, a zero-width space
    assert typed_digits("١٦٠٣") == "1603"  # Arabic-Indic
    assert typed_digits("²³") == "²³"  # not decimal digits: left as they are, and refused by the NIK check
    assert search_digits("1603-0214") == "16030214" and search_digits("１６０３") == "1603"
    assert search_digits("Siti-Aminah") == "" and search_digits("²³") == "" and search_digits("") == ""
