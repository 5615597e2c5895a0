"""The administrative regions of Kabupaten Muara Enim: its kecamatan (districts) and desa
(villages / kelurahan), with the Kemendagri codes a NIK carries.

Codes are plain digits: regency "1603", kecamatan "160301" (written 16.03.01), desa "1603012011"
(16.03.01.2011). Data: ``kiosk/data/wilayah_muara_enim.csv`` (source and licence in
``kiosk/data/README.md``), read once per process.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REGENCY_CODE = "1603"
DATA_FILE = Path(__file__).resolve().parent / "data" / "wilayah_muara_enim.csv"


@dataclass(frozen=True)
class Kecamatan:
    """A kecamatan: six-digit code ("160301") and official name."""

    code: str
    name: str

    @property
    def dotted(self) -> str:
        """The code as Kemendagri writes it: "16.03.01"."""
        return dotted(self.code)


@dataclass(frozen=True)
class Desa:
    """A desa or kelurahan: ten-digit code ("1603012011") and official name."""

    code: str
    name: str

    @property
    def kecamatan_code(self) -> str:
        """The six-digit code of the kecamatan it belongs to."""
        return self.code[:6]

    @property
    def dotted(self) -> str:
        """The code as Kemendagri writes it: "16.03.01.2011"."""
        return dotted(self.code)


def dotted(code: str) -> str:
    """A digit code in Kemendagri notation: "160301" -> "16.03.01"."""
    parts = [code[0:2], code[2:4], code[4:6], code[6:]]
    return ".".join(p for p in parts if p)


def _digits(code: str) -> str:
    return re.sub(r"[\s.]", "", code or "")


def _name_key(name: str) -> str:
    key = re.sub(r"\s+", "", (name or "").casefold())
    # Spreadsheets often write "Kec. Lubai" or "Kecamatan Lubai".
    return re.sub(r"^(kecamatan|kec\.?)(?=.)", "", key)


@dataclass(frozen=True)
class _Data:
    kecamatan: tuple[Kecamatan, ...]
    by_code: dict[str, Kecamatan]
    by_name: dict[str, Kecamatan]
    desa: dict[str, tuple[Desa, ...]]


@cache
def _data() -> _Data:
    kecamatan: list[Kecamatan] = []
    desa: dict[str, list[Desa]] = {}
    with DATA_FILE.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            code, name, level = _digits(row["kode"]), row["nama"].strip(), row["tingkat"].strip()
            if level == "kecamatan":
                kecamatan.append(Kecamatan(code, name))
            elif level == "desa":
                desa.setdefault(code[:6], []).append(Desa(code, name))
    kecamatan.sort(key=lambda k: (k.name.casefold(), k.code))
    return _Data(
        kecamatan=tuple(kecamatan),
        by_code={k.code: k for k in kecamatan},
        by_name={_name_key(k.name): k for k in kecamatan},
        desa={code: tuple(sorted(items, key=lambda d: (d.name.casefold(), d.code))) for code, items in desa.items()},
    )


def kecamatan_list() -> list[Kecamatan]:
    """Every kecamatan of Muara Enim, sorted by name."""
    return list(_data().kecamatan)


def desa_list(kecamatan_code6: str) -> list[Desa]:
    """The desa/kelurahan of one kecamatan ("160301" or "16.03.01"), sorted by name; empty
    when the code is unknown."""
    return list(_data().desa.get(_digits(kecamatan_code6), ()))


def kecamatan_by_code(code6: str) -> Kecamatan | None:
    """The kecamatan with that code ("160301" or "16.03.01"), or ``None``."""
    return _data().by_code.get(_digits(code6))


def kecamatan_by_name(name: str) -> Kecamatan | None:
    """The kecamatan with that name, ignoring case, spaces and a "Kec."/"Kecamatan" prefix
    (as spreadsheets write it), or ``None``."""
    return _data().by_name.get(_name_key(name))
