"""Checking a worker's data (the enroll/edit form and the import) and a coverage period's:
``validate_worker``, ``validate_coverage`` and the fields they know."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Mapping

from ..i18n import _l
from sqlalchemy import select

from .. import coverage as coverage_rules
from .. import days
from .. import nik as nik_rules
from .. import phone as phone_rules
from .. import photos
from .. import rupiah as rupiah_rules
from .. import wilayah
from ..characters import typed
from ..extensions import db
from ..models import Worker
from .places import _check_nik_place, _check_place
from .results import Validation


DEFAULT_FUNDER = "Pemkab Muara Enim"
OTHER_OCCUPATION = "lainnya"
# The occupations the office sees most among BPU workers; anything else is "lainnya" + text.
OCCUPATIONS: tuple[str, ...] = (
    "Petani",
    "Pekebun karet",
    "Pekebun kopi",
    "Nelayan",
    "Peternak",
    "Pedagang",
    "Pengemudi ojek",
    "Sopir",
    "Buruh harian lepas",
    "Tukang bangunan",
    "Penjahit",
    "Montir",
    "Pekerja rumah tangga",
)
WORKER_FIELDS: tuple[str, ...] = (
    "nik", "name", "sex", "birth_place", "birth_date", "address", "kecamatan_code",
    "desa_code", "desa_name", "occupation", "phone", "kpj", "income", "photo",
)
COVERAGE_FIELDS: tuple[str, ...] = (
    "worker_id", "jkk", "jkm", "jht", "start_date", "end_date", "funder", "income_basis",
    "monthly_contribution",
)
SEX_WORDS = {
    "l": "L", "lk": "L", "laki-laki": "L", "laki laki": "L", "pria": "L", "m": "L",
    "p": "P", "pr": "P", "perempuan": "P", "wanita": "P", "f": "P", "w": "P",
}
DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y")
# ``parse_date`` reads these formats with ``days.parse``'s regular expressions (strptime is slow
# enough to matter in a 20,000-row import, three dates a row); tests/unit/test_dates.py checks
# the two agree. Imports also take an ISO day written space-padded ("2026-01- 5"), as strptime
# read it: the one form beyond a typed day's.
_ISO_SPACE_PADDED = re.compile(r"(\d{4}-\d{1,2}-) ([1-9])")
NAME_MAX = 120
TEXT_MAX = 80
KPJ_MAX = 20


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    return " ".join(typed(str(value)).split())


def parse_date(value: Any) -> date | None:
    """A date from a form/spreadsheet value; ``None`` when empty. Raises ``ValueError``
    (``days.OutOfRange`` for a date outside 1900–2199)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return days.check(value.date())
    if isinstance(value, date):
        return days.check(value)
    raw = str(value).strip()
    padded = _ISO_SPACE_PADDED.fullmatch(raw)
    if padded:
        raw = f"{padded.group(1)}0{padded.group(2)}"
    return days.parse(raw)


def _message(exc: Exception):
    return getattr(exc, "message", None) or str(exc)


def validate_worker(
    data: Mapping[str, Any],
    *,
    existing: Worker | None = None,
    check_database: bool = True,
    today: date | None = None,
) -> Validation:
    """Check one worker's data (a form or an import row) and return the clean values, errors
    and warnings per field. ``existing`` is the worker being edited (their own NIK/KPJ are not
    duplicates). ``check_database=False`` skips the NIK/KPJ uniqueness and probable duplicate
    look-ups (an import does them in bulk)."""
    v = Validation()
    today = today or coverage_rules.today_jakarta()

    name = _text(data, "name")
    if not name:
        v.error("name", _l("Isi nama lengkap sesuai KTP."))
    elif len(name) > NAME_MAX:
        v.error("name", _l("Nama terlalu panjang (paling banyak %(n)s huruf).", n=NAME_MAX))
    else:
        v.clean["name"] = name

    sex_raw = _text(data, "sex").casefold()
    sex = SEX_WORDS.get(sex_raw)
    if not sex_raw:
        v.error("sex", _l("Pilih jenis kelamin."))
    elif sex is None:
        v.error("sex", _l("Jenis kelamin harus L (laki-laki) atau P (perempuan)."))
    else:
        v.clean["sex"] = sex

    birth_date = None
    try:
        birth_date = parse_date(data.get("birth_date"))
    except days.OutOfRange as exc:
        too_old = str(exc) < days.FIRST.isoformat()
        v.error("birth_date", _l("Tanggal lahir terlalu lama (sebelum 1900).") if too_old
                else _l("Tanggal lahir tidak boleh di masa depan."))
    except days.NoSuchDay:
        v.error("birth_date", days.NO_SUCH_DAY)
    except ValueError:
        v.error("birth_date", _l("Tanggal lahir tidak dikenali. Tulis seperti 31-12-1980."))
    else:
        if birth_date is None:
            v.error("birth_date", _l("Isi tanggal lahir."))
        elif birth_date > today:
            v.error("birth_date", _l("Tanggal lahir tidak boleh di masa depan."))
            birth_date = None
        elif birth_date.year < 1900:
            v.error("birth_date", _l("Tanggal lahir terlalu lama (sebelum 1900)."))
            birth_date = None
        else:
            v.clean["birth_date"] = birth_date

    birth_place = _text(data, "birth_place")
    if len(birth_place) > TEXT_MAX:
        v.error("birth_place", _l("Tempat lahir terlalu panjang (paling banyak %(n)s huruf).", n=TEXT_MAX))
    else:
        v.clean["birth_place"] = birth_place

    nik_result = _check_nik(v, _text(data, "nik"), birth_date, sex, existing, check_database, today)

    address = " ".join(str(data.get("address") or "").split())
    if len(address) > 500:
        v.error("address", _l("Alamat terlalu panjang (paling banyak 500 huruf)."))
    else:
        v.clean["address"] = address

    _check_place(v, _text(data, "kecamatan"), _text(data, "desa"))
    if nik_result is not None and nik_result.regency == wilayah.REGENCY_CODE:
        _check_nik_place(v, nik_result.kecamatan)
    _check_occupation(v, _text(data, "occupation"), _text(data, "occupation_other"))

    phone_raw = _text(data, "phone")
    if phone_raw:
        try:
            v.clean["phone"] = phone_rules.normalize_phone(phone_raw)
        except phone_rules.PhoneError as exc:
            v.error("phone", _message(exc))
    else:
        v.clean["phone"] = None

    _check_kpj(v, _text(data, "kpj"), existing, check_database)

    income_raw = data.get("income")
    if isinstance(income_raw, int) and not isinstance(income_raw, bool):
        income_raw = str(income_raw)
    income_raw = _text({"income": income_raw}, "income")
    if not income_raw:
        v.error("income", _l("Isi penghasilan per bulan (boleh perkiraan), misalnya Rp1.500.000."))
    else:
        try:
            income = rupiah_rules.parse_rupiah(income_raw)
        except rupiah_rules.RupiahError as exc:
            v.error("income", _message(exc))
        else:
            if income < 0:
                v.error("income", _l("Penghasilan tidak boleh negatif."))
            else:
                v.clean["income"] = int(income)

    photo = _text(data, "photo")
    if photo:
        if not photos.is_photo_name(photo):
            v.error("photo", _l("Foto tidak ditemukan. Ambil atau unggah foto lagi."))
        elif check_database and photo != (existing.photo if existing else None) and not photos.exists_now(photo):
            v.error("photo", photos.GONE)  # the form's photo was swept meanwhile
        else:
            v.clean["photo"] = photo
    if check_database and "name" in v.clean and "birth_date" in v.clean:
        from .. import duplicates

        v.probable = duplicates.for_worker(v.clean, exclude_id=existing.id if existing is not None else None)
    return v


def _check_nik(v: Validation, raw: str, birth_date, sex, existing, check_database, today):
    """Check the NIK (and that it agrees with the birth date and sex); the parsed NIK, or
    ``None`` when none was typed."""
    if not raw:
        v.error("nik", _l("Isi NIK (16 angka di KTP)."))
        return None
    result = nik_rules.parse_nik(raw, birth_date=birth_date, sex=sex, today=today)
    for message in result.errors:
        v.error("nik", message)
    for message in result.warnings:
        v.warn("nik", message)
    if birth_date is not None and result.birth_date is not None and result.birth_date != birth_date:
        v.conflicts["birth_date"] = _l("Tidak sama dengan tanggal lahir di NIK (%(date)s).",
                                       date=result.birth_date.strftime("%d-%m-%Y"))
    if sex is not None and result.sex is not None and sex != result.sex:
        v.conflicts["sex"] = (_l("Tidak sama dengan NIK: NIK ini milik perempuan.") if result.sex == "P"
                              else _l("Tidak sama dengan NIK: NIK ini milik laki-laki."))
    if not result.ok:
        return result
    nik = result.nik
    v.clean["nik"] = nik
    if check_database:
        other = _taken_by(Worker.nik, nik, existing)
        if other is not None:
            v.duplicate = other
            v.error("nik", _l("NIK ini sudah terdaftar atas nama %(name)s.", name=other.name))
    return result


def _taken_by(column, value: str, existing: Worker | None) -> Worker | None:
    """The enrolled worker, other than ``existing``, whose ``column`` (NIK, KPJ) holds ``value``."""
    query = select(Worker).where(column == value)
    if existing is not None and existing.id is not None:
        query = query.where(Worker.id != existing.id)
    return db.session.scalar(query)


def _check_occupation(v: Validation, raw: str, other: str) -> None:
    if not raw:
        v.error("occupation", _l("Pilih pekerjaan."))
        return
    if raw.casefold() == OTHER_OCCUPATION:
        if not other:
            v.error("occupation_other", _l("Tulis pekerjaannya."))
            return
        raw = other
    if len(raw) > TEXT_MAX:
        v.error("occupation", _l("Pekerjaan terlalu panjang (paling banyak %(n)s huruf).", n=TEXT_MAX))
        return
    known = {o.casefold(): o for o in OCCUPATIONS}
    v.clean["occupation"] = known.get(raw.casefold(), raw[:1].upper() + raw[1:])


def _check_kpj(v: Validation, raw: str, existing, check_database) -> None:
    kpj = re.sub(r"[\s.-]", "", raw)
    if not kpj:
        v.clean["kpj"] = None
        return
    if not kpj.isdigit():
        v.error("kpj", _l("Nomor KPJ hanya berisi angka."))
        return
    if len(kpj) > KPJ_MAX:
        v.error("kpj", _l("Nomor KPJ terlalu panjang (paling banyak %(n)s angka).", n=KPJ_MAX))
        return
    v.clean["kpj"] = kpj
    if check_database:
        other = _taken_by(Worker.kpj, kpj, existing)
        if other is not None:
            v.error("kpj", _l("Nomor KPJ ini sudah dipakai %(name)s.", name=other.name))


def validate_coverage(data: Mapping[str, Any]) -> Validation:
    """Check a coverage period from a form: ``start`` (required), ``end`` (default: start + 3
    months), ``jht`` ("1"/"on" to add JHT), ``funder`` (default Pemkab Muara Enim). Clean keys:
    ``start``, ``end``, ``programmes``, ``funder`` — the arguments of ``add_coverage``."""
    v = Validation()
    start = end = None
    try:
        start = parse_date(data.get("start"))
    except days.OutOfRange:
        v.error("start", days.MESSAGE)
    except days.NoSuchDay:
        v.error("start", days.NO_SUCH_DAY)
    except ValueError:
        v.error("start", _l("Tanggal mulai tidak dikenali. Tulis seperti 31-12-2025."))
    else:
        if start is None:
            v.error("start", _l("Isi tanggal mulai."))
    try:
        end = parse_date(data.get("end"))
    except days.OutOfRange:
        v.error("end", days.MESSAGE)
    except days.NoSuchDay:
        v.error("end", days.NO_SUCH_DAY)
    except ValueError:
        v.error("end", _l("Tanggal berakhir tidak dikenali. Tulis seperti 31-12-2025."))
    if start is not None:
        end = end or min(coverage_rules.default_end(start), days.LAST)
        if end < start:
            v.error("end", _l("Tanggal berakhir tidak boleh sebelum tanggal mulai."))
        elif end > start + timedelta(days=366 * 5):
            v.error("end", _l("Satu periode paling lama 5 tahun."))
        else:
            v.clean["start"], v.clean["end"] = start, end
    jht = str(data.get("jht") or "").strip().lower() in ("1", "on", "true", "ya", "y")
    v.clean["programmes"] = ("JKK", "JKM", "JHT") if jht else ("JKK", "JKM")
    funder = _text(data, "funder") or DEFAULT_FUNDER
    if len(funder) > 120:
        v.error("funder", _l("Nama penanggung iuran terlalu panjang."))
    else:
        v.clean["funder"] = funder
    return v
