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
