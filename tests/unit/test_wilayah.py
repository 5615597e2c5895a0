"""kiosk.wilayah: the kecamatan and desa of Kabupaten Muara Enim."""

import pytest

from kiosk import wilayah
from kiosk.wilayah import REGENCY_CODE, desa_list, kecamatan_by_code, kecamatan_by_name, kecamatan_list


def test_22_kecamatan_sorted_by_name():
    kecamatan = kecamatan_list()
    assert len(kecamatan) == 22
    names = [k.name for k in kecamatan]
    assert names == sorted(names, key=str.casefold)
    assert names[0] == "Belida Darat"
    assert all(k.code.startswith(REGENCY_CODE) and len(k.code) == 6 and k.code.isdigit() for k in kecamatan)
    assert len({k.code for k in kecamatan}) == 22


def test_256_desa_each_in_its_kecamatan():
    total = 0
    for kec in kecamatan_list():
        desa = desa_list(kec.code)
        assert desa, kec
        assert [d.name for d in desa] == sorted((d.name for d in desa), key=str.casefold)
        for d in desa:
            assert len(d.code) == 10 and d.code.isdigit() and d.kecamatan_code == kec.code
        total += len(desa)
    assert total == 256


def test_known_codes():
    assert kecamatan_by_code("160301").name == "Tanjung Agung"
    assert kecamatan_by_code("16.03.02").name == "Muara Enim"
    assert kecamatan_by_code("160301").dotted == "16.03.01"
    assert [d.name for d in desa_list("16.03.01")][:1] and "Embawang" in [d.name for d in desa_list("160301")]
    embawang = next(d for d in desa_list("160301") if d.name == "Embawang")
    assert embawang.code == "1603012011" and embawang.dotted == "16.03.01.2011"


@pytest.mark.parametrize("code", ["160305", "161201", "", "16", "abc", "1603011"])
def test_unknown_codes(code):
    assert kecamatan_by_code(code) is None
    assert desa_list(code) == []


@pytest.mark.parametrize("name", [
    "Semende Darat Laut", "semende darat laut", "  SEMENDE   DARAT LAUT ", "SemendeDarat Laut",
    "Kec. Semende Darat Laut", "Kecamatan Semende Darat Laut", "kec.semende darat laut",
])
def test_by_name_ignores_case_and_spaces(name):
    assert kecamatan_by_name(name).code == "160308"


@pytest.mark.parametrize("name", ["", "Palembang", "Semende", "Kecamatan", None])
def test_unknown_names(name):
    assert kecamatan_by_name(name) is None


def test_lists_are_copies():
    kecamatan_list().clear()
    desa_list("160301").clear()
    assert len(kecamatan_list()) == 22 and desa_list("160301")


def test_data_file_is_attributed():
    readme = (wilayah.DATA_FILE.parent / "README.md").read_text(encoding="utf-8")
    assert "cahyadsn/wilayah" in readme and "MIT" in readme and "Kepmendagri" in readme


# ---- places as people write them (issue 16), over the real reference list ----------------------

from kiosk.wilayah import desa_by_code, match_desa, match_kecamatan  # noqa: E402

ROMAN = {"I": "1", "II": "2", "III": "3"}


def every_desa():
    return [d for k in kecamatan_list() for d in desa_list(k.code)]


def test_every_official_name_is_read_as_itself_without_a_warning():
    for kec in kecamatan_list():
        assert match_kecamatan(kec.name).found == kec and match_kecamatan(kec.name).exact
        for desa in desa_list(kec.code):
            for written in (desa.name, desa.name.upper(), f"Desa {desa.name}", f"Ds. {desa.name}",
                            f"KEL. {desa.name.lower()}", f"Kelurahan  {desa.name}", f" {desa.name}. "):
                match = match_desa(written, kec.code)
                assert match.found == desa, (written, match)
                assert match.exact, written
            assert match_desa(desa.code, kec.code).found == desa
            assert match_desa(desa.dotted, kec.code).found == desa
            assert match_desa(desa.code[-4:], kec.code).found == desa


def test_roman_and_arabic_numerals_are_the_same_name():
    muara_enim = "160302"
    for desa in desa_list(muara_enim):
        words = desa.name.split()
        if not any(w in ROMAN for w in words):
            continue
        arabic = " ".join(ROMAN.get(w, w) for w in words)
        match = match_desa(arabic, muara_enim)
        assert match.found == desa and not match.exact, arabic


@pytest.mark.parametrize("written, official", [
    ("Pasar I", "Pasar I Muara Enim"),
    ("pasar 1", "Pasar I Muara Enim"),
    ("Kel. Pasar II", "Pasar II Muara Enim"),
    ("PASAR-III", "Pasar III Muara Enim"),
    ("Ds. Ps. 3 M. Enim", "Pasar III Muara Enim"),
    ("Psr. I", "Pasar I Muara Enim"),
    ("Air", "Air Lintang"),
])
def test_a_unique_prefix_is_read_as_the_official_name_with_a_warning(written, official):
    match = match_desa(written, "160302")
    assert match.found.name == official
    assert not match.exact  # the form/preview says which name it chose


def test_an_ambiguous_name_is_refused_with_the_candidates():
    match = match_desa("Pasar", "160302")
    assert match.found is None and match.ambiguous
    assert {d.name for d in match.candidates} == {"Pasar I Muara Enim", "Pasar II Muara Enim", "Pasar III Muara Enim"}
    kec = match_kecamatan("Semende Darat")
    assert kec.ambiguous and len(kec.candidates) == 3


def test_exact_name_wins_over_a_longer_name_it_starts():
    # "Tanjung Enim" and "Tanjung Enim Selatan" are both desa of Lawang Kidul.
    assert match_desa("Tanjung Enim", "160307").found.name == "Tanjung Enim"
    assert match_desa("Tj. Enim Selatan", "160307").found.name == "Tanjung Enim Selatan"
    assert match_desa("Menanti", "160321").found.name == "Menanti"


def test_spacing_inside_a_name_does_not_matter_but_decides_between_two():
    assert match_desa("Sugihwaras", "160315").found.name == "Sugih Waras"
    assert match_desa("Sukamerindu").found.name == "Sukamerindu"  # Sungai Rotan
    assert match_desa("Suka Merindu").found.name == "Suka Merindu"  # Lubai


def test_a_typo_is_refused_with_the_nearest_names():
    match = match_desa("Tanjng Enim", "160307")
    assert match.found is None and not match.ambiguous
    assert [d.name for d in match.suggestions] == ["Tanjung Enim"]
    assert match_desa("Palembang", "160307").suggestions == ()


def test_a_desa_of_another_kecamatan_is_not_found_in_this_one():
    assert match_desa("Pasar Tanjung Enim", "160302").found is None
    wrong_code = match_desa("1603071001", "160302")  # Tanjung Enim's code, Muara Enim chosen
    assert wrong_code.found is None and wrong_code.suggestions[0].name == "Tanjung Enim"
    assert match_desa("Pasar Tanjung Enim").found.kecamatan_code == "160307"


def test_regency_wide_names_in_several_kecamatan_are_ambiguous():
    match = match_desa("Pagar Dewa")
    assert match.ambiguous and {d.kecamatan_code for d in match.candidates} == {"160301", "160319", "160325"}


@pytest.mark.parametrize("written, code", [
    ("SDL", "160308"), ("S.D.U.", "160310"), ("sdt", "160309"), ("EPD", "160326"),
    ("Kec. Gunung", "160304"), ("Kecamatan Muara Enim", "160302"), ("16.03.07", "160307"),
    ("Gn. Megang", "160304"),
])
def test_kecamatan_as_people_write_them(written, code):
    assert match_kecamatan(written).found.code == code


def test_unknown_or_empty_text_matches_nothing():
    for text in ("", "   ", "Desa", "Kecamatan", "-", None):
        assert match_desa(text, "160302").found is None
        assert match_kecamatan(text).found is None
    assert match_desa("Embawang", "169999").found is None
    assert desa_by_code("1603012011").name == "Embawang" and desa_by_code("16.03.01.2011").name == "Embawang"
