"""kiosk.duplicates.name_key: names compared as the same person's name."""

import pytest

from kiosk.duplicates import name_key, nik_stem


@pytest.mark.parametrize("a, b", [
    ("Budi Santoso", "BUDI  SANTOSO"),
    ("Budi Santoso", "Budi Santoso, S.Pd."),
    ("Siti Nurhayati", "Hj. Siti Nur Hayati"),
    ("Siti Nurhayati", "SITI NOERHAJATI"),  # old spelling oe/j
    ("Joko Widodo", "Djoko Widodo"),
    ("Muhammad Yusuf", "M. Yusuf"),
    ("Muhammad Yusuf", "Moch. Yusuf"),
    ("Abdullah", "Abdulah"),
    ("Ma'ruf", "Maruf"),
    ("José", "Jose"),
])
def test_same_person_same_key(a, b):
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize("a, b", [
    ("Budi Santoso", "Budi Santosa"),
    ("Siti Aminah", "Siti Aisyah"),
    ("Ahmad", "Ahmadi"),
    ("Pekerja 1", "Pekerja 11"),  # digits are kept (test data and odd lists), never merged
])
def test_different_names_different_keys(a, b):
    assert name_key(a) != name_key(b)


def test_empty_and_odd_values():
    assert name_key(None) == "" and name_key("") == "" and name_key("  ,  ") == ""
    assert name_key("H.") == "h"  # a lone title is the name
    assert len(name_key("a" + "b" * 300)) <= 120


def test_nik_stem_is_the_nik_without_its_last_two_digits():
    assert nik_stem("1603021407850012") == "16030214078500"
    for bad in (None, "", "16030214078500", "16030214078500AB"):
        assert nik_stem(bad) is None
