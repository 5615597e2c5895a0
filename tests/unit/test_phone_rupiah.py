"""kiosk.phone and kiosk.rupiah: reading what people type, and showing it back."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.phone import PhoneError, display_phone, normalize_phone
from kiosk.rupiah import MAX_AMOUNT, RupiahError, format_rupiah, parse_rupiah


@pytest.mark.parametrize("raw, canonical", [
    ("081234567890", "+6281234567890"),
    ("0812-3456-7890", "+6281234567890"),
    ("0812 3456 7890", "+6281234567890"),
    ("0812.3456.7890", "+6281234567890"),
    ("(0812) 3456-7890", "+6281234567890"),
    ("6281234567890", "+6281234567890"),
    ("+62 812 3456 7890", "+6281234567890"),
    ("+62 (0)812-3456-7890", "+6281234567890"),
    ("0062 812 3456 7890", "+6281234567890"),
    ("81234567890", "+6281234567890"),          # leading 0 dropped by a spreadsheet
    ("0812\u00a03456\u00a07890", "+6281234567890"),
    ("0812345678", "+62812345678"),              # 10 digits, the shortest mobile
    ("0812345678901", "+62812345678901"),        # 13 digits, the longest
    ("0734-421234", "+62734421234"),             # Muara Enim landline
    ("(0734) 421234", "+62734421234"),
    ("021-12345678", "+622112345678"),
    ("+62 21 1234 5678", "+622112345678"),
])
def test_good_numbers(raw, canonical):
    assert normalize_phone(raw) == canonical
    assert normalize_phone(canonical) == canonical


@pytest.mark.parametrize("raw, words", [
    ("", "Isi nomor HP"),
    ("   ", "Isi nomor HP"),
    ("0812-3456-789O", "hanya boleh berisi angka"),
    ("0812 / 0813", "hanya boleh berisi angka"),
    ("08123", "10 sampai 13"),
    ("08123456789012", "10 sampai 13"),
    ("081234567", "yang diisi 9 angka"),
    ("+1 202 555 0123", "luar negeri"),
    ("+44 20 7946 0958", "luar negeri"),
    ("08001234567", "bebas pulsa"),
    ("0734-42", "kode wilayah"),
    ("1234567890", "bukan nomor telepon Indonesia"),
    ("0112345678", "bukan nomor telepon Indonesia"),
    ("+", "hanya boleh berisi angka"),
    ("0812+3456789", "hanya boleh berisi angka"),
])
def test_bad_numbers(raw, words):
    with pytest.raises(PhoneError) as info:
        normalize_phone(raw)
    assert words in str(info.value.message)
    assert str(info.value) == str(info.value.message)


@pytest.mark.parametrize("stored, shown", [
    ("+6281234567890", "0812-3456-7890"),
    ("+62812345678", "0812-345-678"),
    ("+628123456789", "0812-345-6789"),
    ("+62812345678901", "0812-3456-78901"),
    ("+62734421234", "0734-421234"),
    ("+622112345678", "021-12345678"),
    ("not a phone", "not a phone"),
    ("", ""),
    (None, ""),
])
def test_display_phone(stored, shown):
    assert display_phone(stored) == shown


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="0123456789+()-. 6208", max_size=20), st.none(), st.integers()))
def test_phone_never_raises_anything_but_phone_error(raw):
    try:
        canonical = normalize_phone(raw)
    except PhoneError as exc:
        assert str(exc.message)
    else:
        assert canonical.startswith("+62") and canonical[1:].isascii() and canonical[1:].isdigit()
        assert normalize_phone(canonical) == canonical
        assert normalize_phone(display_phone(canonical)) == canonical


@settings(max_examples=150, deadline=None)
@given(st.from_regex(r"8[1-9][0-9]{7,10}", fullmatch=True), st.sampled_from(["0", "62", "+62 ", "+62-", "0062"]))
def test_every_way_of_writing_a_mobile_gives_one_canonical(rest, prefix):
    assert normalize_phone(prefix + rest) == "+62" + rest
    assert display_phone("+62" + rest).replace("-", "") == "0" + rest


@pytest.mark.parametrize("raw, amount", [
    ("Rp1.500.000", 1_500_000),
    ("1.500.000", 1_500_000),
    ("1500000", 1_500_000),
    ("Rp 1.500.000,00", 1_500_000),
    ("Rp. 1.500.000,-", 1_500_000),
    ("rp1.500.000,0", 1_500_000),
    ("IDR 2.000.000", 2_000_000),
    ("  750.000  ", 750_000),
    ("Rp\u00a01.000.000", 1_000_000),
    ("0", 0),
    ("999", 999),
    ("1.000", 1000),
    ("1.000.000.000.000", MAX_AMOUNT),
    (1_500_000, 1_500_000),
    (1_500_000.0, 1_500_000),
])
def test_good_amounts(raw, amount):
    assert parse_rupiah(raw) == amount


@pytest.mark.parametrize("raw, words", [
    ("-1.500.000", "negatif"),
    ("Rp -1.500.000", "negatif"),
    ("(1.500.000)", "negatif"),
    (-5, "negatif"),
    ("1,5 juta", "angka lengkap"),
    ("1.5jt", "angka lengkap"),
    ("500rb", "angka lengkap"),
    ("1.50.000", "membingungkan"),
    ("1.5", "membingungkan"),
    ("1500.000", "membingungkan"),
    ("1,500,000", "membingungkan"),
    ("1.500.000,50", "membingungkan"),
    ("1.000.000.000.001", "terlalu besar"),
    ("9" * 5000, "terlalu besar"),
    (10**13, "terlalu besar"),
    ("satu juta", "angka lengkap"),
    ("abc", "hanya boleh berisi angka"),
    ("", "Isi jumlah uang"),
    ("Rp", "Isi jumlah uang"),
    (None, "Isi jumlah uang"),
    (True, "Isi jumlah uang"),
    (1.5, "tanpa sen"),
    (float("nan"), "tanpa sen"),
])
def test_bad_amounts(raw, words):
    with pytest.raises(RupiahError) as info:
        parse_rupiah(raw)
    assert words in str(info.value.message)


@pytest.mark.parametrize("amount, text", [
    (0, "Rp0"), (999, "Rp999"), (1000, "Rp1.000"), (16_800, "Rp16.800"), (1_500_000, "Rp1.500.000"),
    (-1500, "-Rp1.500"), (None, ""),
])
def test_format_rupiah(amount, text):
    assert format_rupiah(amount) == text


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=MAX_AMOUNT))
def test_format_then_parse_round_trips(amount):
    assert parse_rupiah(format_rupiah(amount)) == amount
    assert parse_rupiah(str(amount)) == amount


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="0123456789.,-Rp ", max_size=20), st.integers(), st.floats(), st.none()))
def test_rupiah_never_raises_anything_but_rupiah_error(raw):
    try:
        amount = parse_rupiah(raw)
    except RupiahError as exc:
        assert str(exc.message)
    else:
        assert isinstance(amount, int) and 0 <= amount <= MAX_AMOUNT
