"""Enrolling workers (BPU) and recording their coverage periods.

One validation, ``validate_worker``, serves the enroll/edit form (live and on submit) and the
CSV/XLSX import; the write functions (``enroll``, ``update``, ``delete``, ``set_photo``,
``add_coverage``, ``renew``, ``renew_many``) each own their transaction and write the audit
trail inside it, so a change and its audit event land together or not at all. For many rows in
one transaction (the import), call ``insert_worker`` / ``apply_update`` inside your own
``with write_transaction():`` — they flush and audit but never commit.

Typical use::

    check = validate_worker(row)                 # .clean / .errors / .warnings / .duplicate
    if check.ok:
        worker = enroll(check.clean, staff=staff,
                        coverage=validate_coverage({"start": "2026-12-01"}).clean)

Input keys understood by ``validate_worker`` (all values strings, as a form or a spreadsheet
cell gives them; ``birth_date`` may also be a ``date``/``datetime``, ``income`` an ``int``):

    nik, name, sex ("L"/"P", also "Laki-laki"/"Perempuan"), birth_place, birth_date
    ("YYYY-MM-DD", "DD-MM-YYYY" or "DD/MM/YYYY"), address, kecamatan (code "160301",
    "16.03.01" or the name), desa (code or name, within that kecamatan), occupation (one of
    ``OCCUPATIONS``, "lainnya" + ``occupation_other``, or any other text), phone, kpj, income
    ("Rp1.500.000", "1500000"), photo (a stored photo name, see ``kiosk.photos``).

Missing keys are treated as empty. Domain words (NIK, KPJ, kecamatan, desa) as in the glossary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Mapping, Sequence

from .i18n import _l
from sqlalchemy import and_, delete as sql_delete, exists, func, select
from sqlalchemy.exc import IntegrityError

from . import coverage as coverage_rules
from . import days
from . import nik as nik_rules
from . import phone as phone_rules
from . import photos
from . import rupiah as rupiah_rules
from . import wilayah
from .audit import changes, record, snapshot
from .database import utcnow, write_transaction
from .extensions import db
from .models import Card, ClaimRequest, Collection, Coverage, DistinctPair, DistributionListEntry, Staff, Worker

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
# The same formats as regular expressions: strptime is slow enough to matter in a 20,000-row
# import (three dates a row); tests/unit/test_dates.py checks the two agree.
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}| [1-9])")
_DMY_DATE = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")
NAME_MAX = 120
TEXT_MAX = 80
KPJ_MAX = 20


@dataclass
class Validation:
    """The outcome of a check: ``clean`` values ready for ``enroll``/``update``, and per-field
    ``errors`` (refusals) and ``warnings`` (accepted, but worth a second look)."""

    clean: dict = field(default_factory=dict)
    errors: dict[str, list] = field(default_factory=dict)
    warnings: dict[str, list] = field(default_factory=dict)
    # The worker already enrolled with this NIK (the form links to them).
    duplicate: Worker | None = None
    # Fields that the NIK contradicts (birth date, sex): the form must not call them right,
    # whatever they say on their own. Field -> message; the refusal itself is on the NIK.
    conflicts: dict[str, Any] = field(default_factory=dict)
    # Enrolled workers that are probably the same person (``kiosk.duplicates``), form only.
    probable: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was refused."""
        return not self.errors

    def error(self, name: str, message) -> None:
        self.errors.setdefault(name, []).append(message)

    def warn(self, name: str, message) -> None:
        self.warnings.setdefault(name, []).append(message)


class Refused(Exception):
    """A write that was refused as a whole; nothing was written. ``errors`` maps a field name
    (or ``"__all__"``) to messages, as in ``Validation``."""

    def __init__(self, message, errors: dict[str, list] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {"__all__": [message]}


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    return " ".join(str(value).split())


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
    if not raw:
        return None
    iso = _ISO_DATE.fullmatch(raw)
    if iso:
        year, month, day = iso.group(1, 2, 3)
    else:
        dmy = _DMY_DATE.fullmatch(raw)
        if not dmy:
            raise ValueError(raw)
        day, month, year = dmy.group(1, 3, 4)
    try:
        parsed = date(int(year), int(month), int(day))
    except ValueError:
        raise ValueError(raw) from None
    return days.check(parsed)


def _code_digits(raw: str) -> str:
    return re.sub(r"[\s.]", "", raw)


def _item(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name)


def find_kecamatan(raw: str):
    """The kecamatan a code ("160301", "16.03.01") or a name as people write it surely means
    (see ``wilayah.match_kecamatan``); ``None`` if unknown or ambiguous."""
    if not raw:
        return None
    return wilayah.match_kecamatan(str(raw)).found


def kecamatan_code(kec) -> str:
    """The six-digit code of a kecamatan from ``kiosk.wilayah``."""
    return _code_digits(str(_item(kec, "code")))


def find_desa(kecamatan_code6: str, raw: str):
    """The desa of that kecamatan a code or a name as people write it surely means (see
    ``wilayah.match_desa``); ``None`` if unknown or ambiguous."""
    if not raw or not kecamatan_code6:
        return None
    return wilayah.match_desa(str(raw), _code_digits(kecamatan_code6)).found


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
        if photos.is_photo_name(photo):
            v.clean["photo"] = photo
        else:
            v.error("photo", _l("Foto tidak ditemukan. Ambil atau unggah foto lagi."))
    if check_database and "name" in v.clean and "birth_date" in v.clean:
        from . import duplicates

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
        query = select(Worker).where(Worker.nik == nik)
        if existing is not None and existing.id is not None:
            query = query.where(Worker.id != existing.id)
        other = db.session.scalar(query)
        if other is not None:
            v.duplicate = other
            v.error("nik", _l("NIK ini sudah terdaftar atas nama %(name)s.", name=other.name))
    return result


def _names(places, *, with_kecamatan: bool = False) -> str:
    if with_kecamatan:
        kecamatan = {k.code: k.name for k in wilayah.kecamatan_list()}
        return ", ".join(f"{p.name} (Kec. {kecamatan.get(p.kecamatan_code, p.kecamatan_code)})" for p in places)
    return ", ".join(p.name for p in places)


def _place_refusal(match: wilayah.Match, unknown, ambiguous, *, with_kecamatan: bool = False):
    """The refusal for a place name that was not read: ambiguous (with the candidates) or
    unknown (with the nearest names, if any)."""
    if match.ambiguous:
        return _l("%(first)s Bisa berarti: %(names)s. Tulis nama lengkapnya.", first=ambiguous,
                  names=_names(match.candidates, with_kecamatan=with_kecamatan))
    if match.suggestions:
        return _l("%(first)s Mungkin maksudnya: %(names)s.", first=unknown,
                  names=_names(match.suggestions, with_kecamatan=with_kecamatan))
    return unknown


def _check_place(v: Validation, kec_raw: str, desa_raw: str) -> None:
    """Kecamatan and desa as people write them: the official names are kept, and a name read
    loosely ("Pasar I" for Pasar I Muara Enim) is said as a warning; unknown or ambiguous names
    are refused with the candidates. A list without a kecamatan column gets the kecamatan of
    its desa when the desa's name exists in one kecamatan only."""
    if not kec_raw:
        if desa_raw:
            anywhere = wilayah.match_desa(desa_raw)
            if anywhere.found is not None:
                desa = anywhere.found
                kec = wilayah.kecamatan_by_code(desa.kecamatan_code)
                v.clean.update(kecamatan_code=kec.code, desa_code=desa.code, desa_name=desa.name)
                v.warn("kecamatan", _l("Kecamatan tidak diisi; menurut desanya: %(kec)s.", kec=kec.name))
                if not anywhere.exact:
                    v.warn("desa", _l("Desa \"%(typed)s\" dibaca sebagai %(name)s.", typed=desa_raw, name=desa.name))
                return
            if anywhere.ambiguous:
                codes = sorted({d.kecamatan_code for d in anywhere.candidates})
                if len(codes) == 1:  # "Pasar": which Pasar is unclear, the kecamatan is not
                    kec_raw = codes[0]
                else:
                    same_name = len({d.name for d in anywhere.candidates}) == 1
                    names = (_names([wilayah.kecamatan_by_code(code) for code in codes]) if same_name
                             else _names(anywhere.candidates, with_kecamatan=True))
                    v.error("kecamatan", _l("Isi kecamatan: ada desa \"%(desa)s\" di beberapa kecamatan: %(names)s.",
                                            desa=desa_raw, names=names))
                    return
            else:
                v.error("kecamatan", _place_refusal(
                    anywhere,
                    _l("Isi kecamatan: desa \"%(desa)s\" tidak ada di Kabupaten Muara Enim.", desa=desa_raw),
                    _l("Isi kecamatan."), with_kecamatan=True))
                return
        if not kec_raw:
            v.error("kecamatan", _l("Pilih kecamatan."))
            return
    match = wilayah.match_kecamatan(kec_raw)
    kec = match.found
    if kec is None:
        v.error("kecamatan", _place_refusal(
            match,
            _l("Kecamatan \"%(name)s\" tidak ada di Kabupaten Muara Enim.", name=kec_raw),
            _l("Kecamatan \"%(name)s\" tidak jelas.", name=kec_raw),
        ))
        return
    if not match.exact:
        v.warn("kecamatan", _l("Kecamatan \"%(typed)s\" dibaca sebagai %(name)s.", typed=kec_raw, name=kec.name))
    v.clean["kecamatan_code"] = kec.code
    if not desa_raw:
        v.error("desa", _l("Pilih desa/kelurahan."))
        return
    match = wilayah.match_desa(desa_raw, kec.code)
    desa = match.found
    if desa is None:
        unknown = _l("Desa \"%(desa)s\" tidak ada di Kecamatan %(kec)s.", desa=desa_raw, kec=kec.name)
        elsewhere = wilayah.match_desa(desa_raw)
        others = [elsewhere.found] if elsewhere.found is not None else list(elsewhere.candidates)
        others = [d for d in others if d.kecamatan_code != kec.code]
        if others and not match.ambiguous:
            v.error("desa", _l("%(first)s Desa itu ada di: %(names)s. Periksa kecamatannya.", first=unknown,
                               names=_names(others, with_kecamatan=True)))
        else:
            v.error("desa", _place_refusal(match, unknown, _l("Desa \"%(desa)s\" tidak jelas.", desa=desa_raw)))
        return
    if not match.exact:
        v.warn("desa", _l("Desa \"%(typed)s\" dibaca sebagai %(name)s.", typed=desa_raw, name=desa.name))
    v.clean["desa_code"] = desa.code
    v.clean["desa_name"] = desa.name


def _check_nik_place(v: Validation, nik_kecamatan: str | None) -> None:
    """A NIK issued in another kecamatan of Muara Enim than the one chosen: a warning (people
    move; the NIK keeps where it was first issued)."""
    chosen = v.clean.get("kecamatan_code")
    if not chosen or not nik_kecamatan or nik_kecamatan == chosen:
        return
    issued = wilayah.kecamatan_by_code(nik_kecamatan)
    if issued is None:  # outside Muara Enim or an old code: the NIK's own warning says so
        return
    v.warn("kecamatan", _l(
        "NIK ini diterbitkan di Kecamatan %(issued)s, sedangkan kecamatan yang dipilih %(chosen)s. Boleh bila "
        "orangnya sudah pindah; pastikan yang dipilih kecamatan tempat tinggalnya sekarang.",
        issued=issued.name, chosen=wilayah.kecamatan_by_code(chosen).name))


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
        query = select(Worker).where(Worker.kpj == kpj)
        if existing is not None and existing.id is not None:
            query = query.where(Worker.id != existing.id)
        other = db.session.scalar(query)
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
    except ValueError:
        v.error("start", _l("Tanggal mulai tidak dikenali. Tulis seperti 31-12-2025."))
    else:
        if start is None:
            v.error("start", _l("Isi tanggal mulai."))
    try:
        end = parse_date(data.get("end"))
    except days.OutOfRange:
        v.error("end", days.MESSAGE)
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


def _integrity_refusal(exc: IntegrityError) -> Refused:
    text = str(exc.orig).lower()
    if "kpj" in text:
        message = _l("Nomor KPJ ini baru saja dipakai pekerja lain.")
        return Refused(message, {"kpj": [message]})
    if "nik" in text:
        message = _l("NIK ini baru saja didaftarkan petugas lain.")
        return Refused(message, {"nik": [message]})
    return Refused(_l("Data tidak bisa disimpan karena bentrok dengan data lain. Muat ulang lalu coba lagi."))


def new_worker(clean: Mapping[str, Any], *, staff: Staff | None) -> Worker:
    """A ``Worker`` row from ``Validation.clean`` (not yet added to the session)."""
    return Worker(**{k: clean[k] for k in WORKER_FIELDS if k in clean}, created_by_id=staff.id if staff else None)


def new_period(worker: Worker, *, start: date, end: date, programmes: Sequence[str], funder: str,
               staff: Staff | None) -> Coverage:
    """A ``Coverage`` row for ``worker`` (flushed, so it has an id) with the monthly contribution
    of its programmes on the worker's income (not yet added to the session; nothing checked)."""
    codes = coverage_rules.programme_codes(programmes)
    return Coverage(
        worker_id=worker.id,
        jkk="JKK" in codes,
        jkm="JKM" in codes,
        jht="JHT" in codes,
        start_date=start,
        end_date=end,
        funder=funder or DEFAULT_FUNDER,
        income_basis=worker.income,
        monthly_contribution=int(coverage_rules.monthly_contribution(worker.income, codes).total),
        created_by_id=staff.id if staff else None,
    )


def insert_worker(
    clean: Mapping[str, Any], *, staff: Staff | None, coverage: Mapping[str, Any] | None = None
) -> Worker:
    """Add a worker (and optionally their first period) with its audit events, inside the
    caller's ``write_transaction()`` — for writing many rows in one transaction (the import).
    A NIK/KPJ taken meanwhile raises ``IntegrityError`` at flush; a period ``Refused``."""
    worker = new_worker(clean, staff=staff)
    db.session.add(worker)
    db.session.flush()
    record("create", worker, after=snapshot(worker, WORKER_FIELDS), staff=staff)
    if coverage:
        insert_coverage(worker, staff=staff, **coverage)
    return worker


def apply_update(worker: Worker, clean: Mapping[str, Any], *, staff: Staff | None) -> bool:
    """Apply clean values to ``worker`` and audit what changed, inside the caller's
    ``write_transaction()``; returns False when nothing changed (and records nothing)."""
    before = snapshot(worker, WORKER_FIELDS)
    for key in WORKER_FIELDS:
        if key in clean:
            setattr(worker, key, clean[key])
    old, new = changes(before, snapshot(worker, WORKER_FIELDS))
    if not new:
        return False
    worker.updated_at = utcnow()
    worker.updated_by_id = staff.id if staff else None
    db.session.flush()
    record("update", worker, before=old, after=new, staff=staff)
    return True


def enroll(
    clean: Mapping[str, Any],
    *,
    staff: Staff | None,
    coverage: Mapping[str, Any] | None = None,
    different_from: Sequence[int] = (),
    reason: str = "",
) -> Worker:
    """Create a worker from ``Validation.clean`` (and, optionally, their first coverage from
    ``validate_coverage(...).clean``) in one transaction, audited. ``different_from``: the
    probable duplicates staff confirmed are other people, recorded with ``reason`` (clean, see
    ``duplicates.clean_reason``) in the same transaction. Raises ``Refused``."""
    from . import duplicates

    try:
        with write_transaction():
            worker = insert_worker(clean, staff=staff, coverage=coverage)
            for other_id in different_from:
                duplicates.record_different(worker.id, other_id, reason, staff=staff)
    except IntegrityError as exc:
        raise _integrity_refusal(exc) from None
    return worker


def update(worker: Worker, clean: Mapping[str, Any], *, staff: Staff | None) -> Worker:
    """Apply ``Validation.clean`` to ``worker``, auditing what changed (nothing changed: no
    event). Raises ``Refused`` on a NIK/KPJ taken meanwhile."""
    old_photo = worker.photo
    try:
        with write_transaction():
            apply_update(worker, clean, staff=staff)
            if old_photo and old_photo != worker.photo:
                db.session.flush()  # the worker no longer refers to the old photo
                photos.discard(old_photo)
    except IntegrityError as exc:
        db.session.expire(worker)
        raise _integrity_refusal(exc) from None
    return worker


def set_photo(worker: Worker, name: str, *, staff: Staff | None) -> Worker:
    """Replace the worker's photo with the stored photo ``name`` (audited); the old one goes."""
    return update(worker, {"photo": name}, staff=staff)


def blockers(worker: Worker) -> list:
    """Why ``worker`` may not be deleted (cards, collections, kiosk history); empty if they may."""
    reasons = []
    if db.session.scalar(select(exists().where(Card.worker_id == worker.id))):
        reasons.append(_l("Pekerja ini sudah pernah diberi kartu."))
    if db.session.scalar(select(exists().where(Collection.worker_id == worker.id))):
        reasons.append(_l("Pekerja ini sudah pernah mengambil sembako."))
    elif db.session.scalar(select(exists().where(ClaimRequest.worker_id == worker.id))):
        reasons.append(_l("Kartu pekerja ini sudah pernah dipindai di kiosk."))
    return reasons


def delete(worker: Worker, *, staff: Staff | None) -> None:
    """Delete a worker who has no card and no collection, with their coverage periods; the
    whole record is kept in the audit trail. Raises ``Refused`` otherwise."""
    photo = worker.photo
    with write_transaction():
        _lock_worker(worker)
        reasons = blockers(worker)
        if reasons:
            raise Refused(
                _l("Pekerja tidak bisa dihapus: %(why)s Perbaiki datanya saja.", why=" ".join(str(r) for r in reasons))
            )
        periods = db.session.scalars(select(Coverage).where(Coverage.worker_id == worker.id)).all()
        before = snapshot(worker, WORKER_FIELDS)
        before["coverages"] = [snapshot(c, COVERAGE_FIELDS) for c in periods]
        record("delete", worker, before=before, staff=staff)
        db.session.execute(sql_delete(Coverage).where(Coverage.worker_id == worker.id))
        db.session.execute(
            sql_delete(DistributionListEntry).where(DistributionListEntry.worker_id == worker.id)
        )
        db.session.execute(sql_delete(DistinctPair).where(
            (DistinctPair.worker_id == worker.id) | (DistinctPair.other_id == worker.id)))
        db.session.expire(worker, ["coverages", "cards"])
        db.session.delete(worker)
        if photo:
            db.session.flush()
            photos.discard(photo)


def _lock_worker(worker: Worker) -> None:
    # SQLite already holds the write lock (BEGIN IMMEDIATE); PostgreSQL locks the worker's row so
    # two concurrent period inserts for the same worker run one after the other.
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(select(Worker.id).where(Worker.id == worker.id).with_for_update())


def _overlapping(worker_id: int, start: date, end: date) -> Coverage | None:
    return db.session.scalar(
        select(Coverage)
        .where(Coverage.worker_id == worker_id, Coverage.start_date <= end, Coverage.end_date >= start)
        .order_by(Coverage.start_date)
        .limit(1)
    )


def insert_coverage(
    worker: Worker,
    *,
    start: date,
    end: date | None = None,
    programmes: Sequence[str] = ("JKK", "JKM"),
    funder: str = DEFAULT_FUNDER,
    staff: Staff | None,
) -> Coverage:
    """Add a coverage period to ``worker`` without committing: call it inside the caller's
    ``write_transaction()`` (enrollment, imports, the demo). Refuses an overlapping period."""
    end = end or coverage_rules.default_end(start)
    if end < start:
        raise Refused(_l("Tanggal berakhir tidak boleh sebelum tanggal mulai."))
    codes = {p.upper() for p in programmes}
    if not codes & {"JKK", "JKM", "JHT"}:
        raise Refused(_l("Pilih paling sedikit satu program."))
    _lock_worker(worker)
    clash = _overlapping(worker.id, start, end)
    if clash is not None:
        from .i18n import tanggal_id

        message = _l(
            "Periode ini bertumpang tindih dengan periode %(start)s – %(end)s yang sudah ada.",
            start=tanggal_id(clash.start_date),
            end=tanggal_id(clash.end_date),
        )
        raise Refused(message, {"start": [message]})
    known = tuple(c for c in coverage_rules.PROGRAMME_CODES if c in codes)
    period = new_period(worker, start=start, end=end, programmes=known, funder=funder, staff=staff)
    db.session.add(period)
    db.session.flush()
    record("create", period, after=snapshot(period, COVERAGE_FIELDS), staff=staff)
    return period


def add_coverage(
    worker: Worker,
    *,
    start: date,
    end: date | None = None,
    programmes: Sequence[str] = ("JKK", "JKM"),
    funder: str = DEFAULT_FUNDER,
    staff: Staff | None,
) -> Coverage:
    """Add a coverage period (end defaults to start + 3 months), audited. Refused (``Refused``,
    nothing written) when it overlaps another period of the same worker — checked inside the
    write transaction, so two staff cannot both slip a period in."""
    with write_transaction():
        return insert_coverage(worker, start=start, end=end, programmes=programmes, funder=funder, staff=staff)


def latest_coverage(worker: Worker) -> Coverage | None:
    """The worker's period with the latest end date, or ``None``."""
    return db.session.scalar(
        select(Coverage).where(Coverage.worker_id == worker.id).order_by(Coverage.end_date.desc()).limit(1)
    )


def renewal_start(latest_end: date, today: date) -> date:
    """A renewal starts the day after the latest period ends — or today, when that period ended
    long ago (no coverage is bought for days already past)."""
    return max(latest_end + timedelta(days=1), today)


def _renew_locked(worker: Worker, latest: Coverage, today: date, staff) -> Coverage:
    start = renewal_start(latest.end_date, today)
    return insert_coverage(
        worker,
        start=start,
        end=coverage_rules.default_end(start),
        programmes=latest.programmes,
        funder=latest.funder,
        staff=staff,
    )


def renew(worker: Worker, *, staff: Staff | None, today: date | None = None) -> Coverage:
    """Add the next period after the latest one (same programmes and funder, three months),
    keeping the history. Raises ``Refused`` when the worker has no period yet."""
    today = today or coverage_rules.today_jakarta()
    with write_transaction():
        _lock_worker(worker)
        latest = latest_coverage(worker)
        if latest is None:
            raise Refused(_l("Pekerja ini belum punya periode cakupan untuk diperpanjang."))
        return _renew_locked(worker, latest, today, staff)


@dataclass
class RenewalRow:
    """One worker a bulk renewal would extend: their latest period and the new one."""

    worker: Worker
    latest: Coverage
    new_start: date
    new_end: date


def _due_query(ending_before: date):
    latest_end = (
        select(Coverage.worker_id, func.max(Coverage.end_date).label("last_end"))
        .group_by(Coverage.worker_id)
        .subquery()
    )
    return (
        select(Worker, Coverage)
        .join(latest_end, latest_end.c.worker_id == Worker.id)
        .join(Coverage, and_(Coverage.worker_id == Worker.id, Coverage.end_date == latest_end.c.last_end))
        .where(latest_end.c.last_end < ending_before)
        .order_by(Worker.name, Worker.id, Coverage.id)
    )


def _due(ending_before: date) -> list[tuple[Worker, Coverage]]:
    seen: set[int] = set()
    rows = []
    for worker, period in db.session.execute(_due_query(ending_before)).all():
        if worker.id not in seen:  # two periods ending the same day: renew once
            seen.add(worker.id)
            rows.append((worker, period))
    return rows


def renewal_preview(ending_before: date, *, today: date | None = None) -> list[RenewalRow]:
    """Who ``renew_many(ending_before)`` would extend: every worker whose latest period ends
    before ``ending_before``, with the period they would get. Writes nothing."""
    today = today or coverage_rules.today_jakarta()
    rows = []
    for worker, latest in _due(ending_before):
        start = renewal_start(latest.end_date, today)
        rows.append(RenewalRow(worker, latest, start, coverage_rules.default_end(start)))
    return rows


def renew_many(ending_before: date, *, staff: Staff | None, today: date | None = None) -> int:
    """Renew, in one transaction, every worker whose latest period ends before
    ``ending_before`` (exactly those ``renewal_preview`` lists); returns how many."""
    today = today or coverage_rules.today_jakarta()
    with write_transaction():
        due = _due(ending_before)
        for worker, latest in due:
            _renew_locked(worker, latest, today, staff)
    return len(due)


def status_today(periods: Iterable[Coverage], day: date | None = None):
    """The coverage status of a worker on ``day`` (default today in Jakarta) from their periods:
    the period covering that day, else the next one to start, else the last one to end.
    Days left count through renewals that follow on without a gap. Returns
    ``(period, Status)`` or ``(None, None)`` when there is no period."""
    day = day or coverage_rules.today_jakarta()
    periods = sorted(periods, key=lambda p: p.start_date)
    if not periods:
        return None, None
    current = [p for p in periods if p.start_date <= day <= p.end_date]
    future = [p for p in periods if p.start_date > day]
    if current:
        chosen = max(current, key=lambda p: p.end_date)
        end = chosen.end_date
        for p in periods:  # a renewal starting the day after keeps the worker covered
            if p.start_date <= end + timedelta(days=1) and p.end_date > end:
                end = p.end_date
        return chosen, coverage_rules.status_on(chosen.start_date, end, day)
    chosen = future[0] if future else max(periods, key=lambda p: p.end_date)
    return chosen, coverage_rules.status_on(chosen.start_date, chosen.end_date, day)
