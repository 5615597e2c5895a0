"""The administrative regions of Kabupaten Muara Enim: its kecamatan (districts) and desa
(villages / kelurahan), with the Kemendagri codes a NIK carries.

Codes are plain digits: regency "1603", kecamatan "160301" (written 16.03.01), desa "1603012011"
(16.03.01.2011). Data: ``kiosk/data/wilayah_muara_enim.csv`` (source and licence in
``kiosk/data/README.md``), read once per process.
"""

from __future__ import annotations

import csv
import difflib
import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cache, lru_cache
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


# Lists from villages and typed forms write "Ds. Pasar 1", "KEL. PASAR I", "Tj. Enim" or just
# "Pasar I" for the official "Pasar I Muara Enim". A name is compared word by word after:
# case, accents, punctuation and spacing are ignored; a leading "Desa"/"Ds."/"Kel."/"Kelurahan"
# (or "Kec."/"Kecamatan") is dropped; roman numerals are read as numbers (II = 2); a few
# abbreviations common in South Sumatra are spelled out (Tj. = Tanjung). What is left must be
# the official name, or the first words of exactly one official name.

_PREFIXES = {
    "desa": ("desa", "ds", "kel", "kelurahan", "kelur", "kalurahan", "dusun desa"),
    "kecamatan": ("kecamatan", "kec", "kc", "camat"),
}
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8",
          "ix": "9", "x": "10"}
# Whole-word abbreviations seen in office lists of the region.
_WORDS = {"tj": "tanjung", "tg": "tanjung", "tjg": "tanjung", "gn": "gunung", "gng": "gunung",
          "sp": "simpang", "spg": "simpang", "lbk": "lubuk", "ps": "pasar", "psr": "pasar", "sei": "sungai",
          "sg": "sungai", "smd": "semende", "m": "muara", "ma": "muara"}
# Names a kecamatan goes by in the region (initials).
_KECAMATAN_ALIASES = {"sdl": "Semende Darat Laut", "sdt": "Semende Darat Tengah", "sdu": "Semende Darat Ulu",
                      "epd": "Empat Petulai Dangku"}


def _plain_words(text: str, level: str) -> list[str]:
    """Casefolded words without accents or punctuation, the "Desa"/"Kec." prefix dropped."""
    text = unicodedata.normalize("NFKD", str(text or "")).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    words = re.findall(r"[^\W_]+", text)
    prefixes = _PREFIXES[level]
    while len(words) > 1 and words[0] in prefixes:
        words = words[1:]
    # "Desa/Kel. Pasar I", "Kel/Desa": a second prefix word after the first.
    while len(words) > 1 and words[0] in prefixes:
        words = words[1:]
    return words


def _read_words(words: list[str]) -> list[str]:
    """Roman numerals as numbers and abbreviations spelled out."""
    return [_ROMAN.get(w) or _WORDS.get(w) or w for w in words]


@dataclass(frozen=True)
class Match:
    """How a typed place name was read.

    ``found`` is the official place (``None`` when unknown or ambiguous); ``exact`` is true when
    the text was that name apart from case, spacing, punctuation and the "Desa"/"Kec." prefix
    (no need to tell the person); ``candidates`` are the places an ambiguous text could mean;
    ``suggestions`` the nearest names when nothing matched (for the refusal).
    """

    typed: str
    found: Kecamatan | Desa | None = None
    exact: bool = False
    candidates: tuple = ()
    suggestions: tuple = ()

    @property
    def ambiguous(self) -> bool:
        """True when the text fits more than one place."""
        return self.found is None and len(self.candidates) > 1


class _Index:
    """Look-ups of one set of places (the kecamatan, or the desa of one kecamatan, or every
    desa): by plain key, by read key, and by the first words of each name."""

    def __init__(self, places, level: str):
        self.places = tuple(places)
        self.level = level
        self.plain: dict[str, list] = {}
        self.spaced: dict[str, list] = {}
        self.read: dict[str, list] = {}
        self.starts: dict[str, list] = {}
        for place in self.places:
            plain = _plain_words(place.name, level)
            read = _read_words(plain)
            self.plain.setdefault("".join(plain), []).append(place)
            self.spaced.setdefault(" ".join(plain), []).append(place)
            self.read.setdefault("".join(read), []).append(place)
            for k in range(1, len(read)):
                self.starts.setdefault("".join(read[:k]), []).append(place)

    def match(self, typed: str) -> Match:
        plain = _plain_words(typed, self.level)
        if not plain:
            return Match(typed)
        key = "".join(plain)
        found = self.plain.get(key, [])
        if len(found) > 1:  # "Sukamerindu" and "Suka Merindu": the spacing decides
            found = self.spaced.get(" ".join(plain), found)
        if len(found) == 1:
            return Match(typed, found[0], exact=True)
        read_key = "".join(_read_words(plain))
        for table in (self.read, self.starts):
            found = table.get(read_key, [])
            if len(found) == 1:
                return Match(typed, found[0])
            if found:
                return Match(typed, candidates=tuple(found))
        names = {"".join(_read_words(_plain_words(p.name, self.level))): p for p in self.places}
        close = difflib.get_close_matches(read_key, list(names), n=3, cutoff=0.8)
        return Match(typed, suggestions=tuple(names[c] for c in close))


@dataclass(frozen=True)
class _Data:
    kecamatan: tuple[Kecamatan, ...]
    by_code: dict[str, Kecamatan]
    desa: dict[str, tuple[Desa, ...]]
    desa_by_code: dict[str, Desa]
    kecamatan_index: _Index
    desa_index: dict[str, _Index]
    all_desa_index: _Index


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
    by_kecamatan = {
        code: tuple(sorted(items, key=lambda d: (d.name.casefold(), d.code))) for code, items in desa.items()
    }
    every_desa = [d for items in by_kecamatan.values() for d in items]
    return _Data(
        kecamatan=tuple(kecamatan),
        by_code={k.code: k for k in kecamatan},
        desa=by_kecamatan,
        desa_by_code={d.code: d for d in every_desa},
        kecamatan_index=_Index(kecamatan, "kecamatan"),
        desa_index={code: _Index(items, "desa") for code, items in by_kecamatan.items()},
        all_desa_index=_Index(every_desa, "desa"),
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


def desa_by_code(code10: str) -> Desa | None:
    """The desa with that code ("1603012011" or "16.03.01.2011"), or ``None``."""
    return _data().desa_by_code.get(_digits(code10))


def kecamatan_by_name(name: str) -> Kecamatan | None:
    """The kecamatan a name surely means (see ``match_kecamatan``), or ``None``."""
    return match_kecamatan(name).found


@lru_cache(maxsize=4096)
def match_kecamatan(text: str) -> Match:
    """Read a kecamatan as written: its code ("160302", "16.03.02"), its name in any case and
    spacing, with or without "Kec."/"Kecamatan", its initials ("SDL"), or the first words of
    exactly one name ("Gunung" -> Gunung Megang)."""
    text = str(text or "").strip()
    digits = _digits(text)
    if digits.isdigit():
        found = _data().by_code.get(digits)
        return Match(text, found, exact=found is not None)
    index = _data().kecamatan_index
    alias = _KECAMATAN_ALIASES.get("".join(_plain_words(text, "kecamatan")))
    if alias:
        return replace(index.match(alias), typed=text, exact=False)
    return index.match(text)


@lru_cache(maxsize=16384)
def match_desa(text: str, kecamatan_code6: str | None = None) -> Match:
    """Read a desa/kelurahan as written, within one kecamatan (``kecamatan_code6``) or, when it
    is ``None``, anywhere in Muara Enim: its code ("1603021009", "16.03.02.1009", or the last
    four digits within the kecamatan), its name in any case, spacing and punctuation, with or
    without "Desa"/"Ds."/"Kel."/"Kelurahan", with roman or arabic numerals ("Pasar 1" = "Pasar
    I"), or the first words of exactly one name ("Pasar I" -> Pasar I Muara Enim)."""
    text = str(text or "").strip()
    data = _data()
    kec = _digits(kecamatan_code6) if kecamatan_code6 is not None else None
    digits = _digits(text)
    if digits.isdigit():
        if kec and len(digits) == 4:
            digits = kec + digits
        found = data.desa_by_code.get(digits)
        if found is not None and kec and found.kecamatan_code != kec:
            return Match(text, suggestions=(found,))
        return Match(text, found, exact=found is not None)
    if kec is None:
        return data.all_desa_index.match(text)
    index = data.desa_index.get(kec)
    if index is None:
        return Match(text)
    return index.match(text)


def kecamatan_name(code6: str | None) -> str:
    """The name of a kecamatan by its code, or the code itself when it is unknown ("" for none)."""
    if not code6:
        return ""
    found = kecamatan_by_code(code6)
    return found.name if found is not None else code6
