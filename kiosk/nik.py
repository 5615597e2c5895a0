"""Parse and check a NIK (Nomor Induk Kependudukan), the 16-digit national ID number.

Layout: province (2) · regency (2) · kecamatan (2) · birth date DDMMYY, with 40 added to the
day for women · serial (4). Example: 1603 01 120385 0012 — issued in Kecamatan Tanjung Agung
(16.03.01), a man born 12 March 1985. The region part is where the NIK was first issued, not
where the person lives now, so a region outside Muara Enim or a kecamatan code no longer in the
list is a warning, never a refusal.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .coverage import today_jakarta
from .i18n import _l

from . import wilayah

NIK_LENGTH = 16
FEMALE_DAY_OFFSET = 40

# Kemendagri province codes (Permendagri/Kepmendagri 2025). Proper names, not translated.
PROVINCES: dict[str, str] = {
    "11": "Aceh",
    "12": "Sumatera Utara",
    "13": "Sumatera Barat",
    "14": "Riau",
    "15": "Jambi",
    "16": "Sumatera Selatan",
    "17": "Bengkulu",
    "18": "Lampung",
    "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau",
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "34": "DI Yogyakarta",
    "35": "Jawa Timur",
    "36": "Banten",
    "51": "Bali",
    "52": "Nusa Tenggara Barat",
    "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah",
    "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur",
    "65": "Kalimantan Utara",
    "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan",
    "74": "Sulawesi Tenggara",
    "75": "Gorontalo",
    "76": "Sulawesi Barat",
    "81": "Maluku",
    "82": "Maluku Utara",
    "91": "Papua",
    "92": "Papua Barat",
    "93": "Papua Selatan",
    "94": "Papua Tengah",
    "95": "Papua Pegunungan",
    "96": "Papua Barat Daya",
}

# What people and spreadsheets put between the digits: spaces of every kind (NBSP from Word and
# web pages, narrow NBSP), dots, dashes and zero-width characters.
_SEPARATORS = re.compile(r"[\s.\-\u2010-\u2015\u2212\u00a0\u202f\u200b\u200c\u200d\ufeff]+")
# A number Excel has turned into a float: "1.60301E+15", "1,60301E+15", "1603011285000010.0".
_EXCEL_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+|\d{12,}[.,]0+")

_SEX_WORDS = {
    "l": "L", "lk": "L", "laki-laki": "L", "laki laki": "L", "lakilaki": "L", "pria": "L", "m": "L",
    "p": "P", "pr": "P", "perempuan": "P", "wanita": "P", "f": "P", "w": "P",
}


class NikError(ValueError):
    """A NIK that cannot be read at all; ``message`` is the Indonesian text for the person."""

    def __init__(self, message: Any):
        super().__init__(str(message))
        self.message = message


@dataclass
class NikResult:
    """What a NIK says, and what is wrong with it.

    ``province`` is the 2-digit code ("16"), ``regency`` the 4-digit code ("1603"), ``kecamatan``
    the 6-digit code ("160301") — the same codes as ``kiosk.wilayah``. Fields that could not be
    read are ``None``. ``errors`` refuse the NIK; ``warnings`` only inform.
    """

    nik: str
    province: str | None = None
    regency: str | None = None
    kecamatan: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    serial: str | None = None
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing refuses the NIK (warnings allowed)."""
        return not self.errors

    @property
    def province_name(self) -> str | None:
        """The province's name, when the code is a real one."""
        return PROVINCES.get(self.province or "")


def _is_excel_number(text: str) -> bool:
    return bool(_EXCEL_NUMBER.fullmatch(re.sub(r"\s+", "", text)))


def _excel_error(value: Any) -> NikError:
    return NikError(
        _l(
            "NIK tertulis sebagai angka Excel (%(value)s), sehingga angka terakhirnya hilang. "
            "Ubah format kolom NIK menjadi Teks, lalu ketik ulang NIK dari KTP.",
            value=value,
        )
    )


def typed_digits(text: str) -> str:
    """``text`` without the separators people type between digits (spaces, dots, dashes,
    invisible spaces), each decimal digit of another script or width as its ASCII digit (a
    phone's full-width ``１６０３`` is ``1603``). Other characters are left as they are."""
    text = _SEPARATORS.sub("", text)
    if text.isascii():
        return text
    return "".join(str(value) if (value := unicodedata.decimal(ch, None)) is not None else ch for ch in text)


def search_digits(q: str) -> str:
    """The digits of a typed NIK/KPJ search ("1603 0214", "1603-0214" -> "16030214"; as
    ``typed_digits`` reads them), or "" when ``q`` is a text search."""
    digits = typed_digits(q or "")
    return digits if digits.isascii() and digits.isdigit() else ""


def normalize_nik(raw: Any) -> str:
    """The NIK with the spaces, dots and dashes people type removed ("1603 0112 8500 0012" ->
    "1603011285000012"), its digits ASCII (``typed_digits``). Does not check it (see
    ``parse_nik``). Raises ``NikError`` for a value Excel stored as a number ("1.60301E+15"),
    whose last digits are lost."""
    if raw is None:
        return ""
    if isinstance(raw, float):
        raise _excel_error(repr(raw))
    text = str(raw).strip()
    if _is_excel_number(text):
        raise _excel_error(text)
    return typed_digits(text)


def _ddmmyyyy(day: date) -> str:
    return day.strftime("%d-%m-%Y")


def _sex_code(sex: Any) -> str | None:
    if sex is None:
        return None
    return _SEX_WORDS.get(" ".join(str(sex).split()).casefold())


def _birth_date(result: NikResult, dd: int, mm: int, yy: int, entered: date | None, today: date) -> None:
    """Read DDMMYY (day already without the +40) into ``result.birth_date`` or an error."""
    if not 1 <= mm <= 12:
        result.errors.append(
            _l("Bulan lahir di NIK (angka ke-9 dan ke-10: %(mm)s) tidak ada; harus 01 sampai 12.", mm=f"{mm:02d}")
        )
        return
    # The century is not in the NIK: take the entered birth date's when its day, month and
    # two-digit year agree, else the latest century that does not put the birth in the future.
    if entered is not None and (entered.day, entered.month, entered.year % 100) == (dd, mm, yy):
        chosen: date | None = entered
    else:
        chosen = None
        for century in (2000, 1900):
            try:
                candidate = date(century + yy, mm, dd)
            except ValueError:
                continue
            if candidate <= today or century == 1900:
                chosen = candidate
                break
    if chosen is None:
        if (dd, mm) == (29, 2):
            result.errors.append(
                _l(
                    "Tanggal lahir di NIK (29-02-%(yy)s) tidak ada: tahun %(yy)s bukan tahun kabisat.",
                    yy=f"{yy:02d}",
                )
            )
        else:
            result.errors.append(
                _l(
                    "Tanggal lahir di NIK (%(date)s) tidak ada di kalender.",
                    date=f"{dd:02d}-{mm:02d}-{yy:02d}",
                )
            )
        return
    result.birth_date = chosen
    if chosen > today:
        result.errors.append(
            _l("Tanggal lahir di NIK (%(date)s) ada di masa depan.", date=_ddmmyyyy(chosen))
        )


def _region(result: NikResult, digits: str) -> None:
    province, regency, kecamatan = digits[:2], digits[:4], digits[:6]
    result.province, result.regency, result.kecamatan = province, regency, kecamatan
    if province not in PROVINCES:
        result.errors.append(
            _l(
                "Kode provinsi di awal NIK (%(code)s) tidak ada. NIK dari Sumatera Selatan diawali 16; "
                "periksa dua angka pertama.",
                code=province,
            )
        )
        return
    if regency != wilayah.REGENCY_CODE:
        result.warnings.append(
            _l(
                "NIK ini diterbitkan di luar Kabupaten Muara Enim (kode wilayah %(code)s, %(province)s). "
                "Boleh, bila orangnya pindah ke sini; pastikan angkanya sesuai KTP.",
                code=wilayah.dotted(regency),
                province=PROVINCES[province],
            )
        )
    elif wilayah.kecamatan_by_code(kecamatan) is None:
        result.warnings.append(
            _l(
                "Kode kecamatan di NIK (%(code)s) tidak ada di daftar kecamatan Muara Enim sekarang "
                "(mungkin kecamatan lama). Boleh, asalkan angkanya sesuai KTP.",
                code=wilayah.dotted(kecamatan),
            )
        )


def parse_nik(
    raw: Any,
    *,
    birth_date: date | None = None,
    sex: str | None = None,
    today: date | None = None,
) -> NikResult:
    """Read a NIK as typed or imported and check it; never raises. ``birth_date`` and ``sex``
    ("L"/"P", also "Laki-laki"/"Perempuan"), when given, must agree with the NIK. ``today``
    (default: today in Asia/Jakarta) decides the century of the two-digit birth year."""
    try:
        nik = normalize_nik(raw)
    except NikError as exc:
        return NikResult(nik="", errors=[exc.message])
    result = NikResult(nik=nik)
    if not nik:
        result.errors.append(_l("Isi NIK (16 angka di KTP)."))
        return result
    others = sorted({ch for ch in nik if ch not in "0123456789"})
    if others:
        result.errors.append(
            _l(
                "NIK hanya boleh berisi angka; ada huruf atau tanda lain: %(chars)s",
                chars=" ".join(others[:10]),
            )
        )
        return result
    if len(nik) != NIK_LENGTH:
        result.errors.append(_l("NIK harus 16 angka; yang diisi %(n)s angka.", n=len(nik)))
        return result

    today = today or today_jakarta()
    if isinstance(birth_date, datetime):
        birth_date = birth_date.date()
    _region(result, nik)

    day_digits, mm, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if 1 <= day_digits <= 31:
        result.sex, dd = "L", day_digits
    elif 1 + FEMALE_DAY_OFFSET <= day_digits <= 31 + FEMALE_DAY_OFFSET:
        result.sex, dd = "P", day_digits - FEMALE_DAY_OFFSET
    else:
        dd = 0
        result.errors.append(
            _l(
                "Tanggal lahir di NIK (angka ke-7 dan ke-8: %(dd)s) tidak mungkin: "
                "untuk laki-laki 01–31, untuk perempuan 41–71.",
                dd=nik[6:8],
            )
        )
    if dd:
        _birth_date(result, dd, mm, yy, birth_date, today)

    result.serial = nik[12:]
    if result.serial == "0000":
        result.errors.append(_l("Nomor urut di NIK (4 angka terakhir) tidak boleh 0000."))

    if birth_date is not None and result.birth_date is not None and result.birth_date != birth_date:
        result.errors.append(
            _l(
                "Tanggal lahir di NIK (%(nik_date)s) tidak sama dengan tanggal lahir yang diisi (%(entered)s).",
                nik_date=_ddmmyyyy(result.birth_date),
                entered=_ddmmyyyy(birth_date),
            )
        )
    entered_sex = _sex_code(sex)
    if entered_sex is not None and result.sex is not None and entered_sex != result.sex:
        if result.sex == "P":
            result.errors.append(
                _l("NIK ini milik perempuan (tanggal lahir + 40), tetapi jenis kelamin diisi laki-laki.")
            )
        else:
            result.errors.append(
                _l("NIK ini milik laki-laki (tanggal lahir tanpa + 40), tetapi jenis kelamin diisi perempuan.")
            )
    return result


def mask_nik(nik: str | None) -> str:
    """The NIK with its middle hidden, for public screens: "1603 •••• •••• 0012". Anything that
    is not a 16-digit NIK is hidden completely."""
    if not nik:
        return ""
    try:
        digits = normalize_nik(nik)
    except NikError:
        digits = ""
    if len(digits) == NIK_LENGTH and digits.isascii() and digits.isdigit():
        return f"{digits[:4]} •••• •••• {digits[-4:]}"
    return "•" * len(str(nik))


def format_nik(nik: str | None) -> str:
    """The NIK in groups of four for reading aloud: "1603 0112 8500 0012". Anything that is not
    a 16-digit NIK is returned as given."""
    if not nik:
        return ""
    try:
        digits = normalize_nik(nik)
    except NikError:
        return str(nik)
    if len(digits) == NIK_LENGTH and digits.isascii() and digits.isdigit():
        return " ".join(digits[i : i + 4] for i in range(0, NIK_LENGTH, 4))
    return str(nik)
