"""The worker form's fields: labels, hints and choices. Checking lives in ``kiosk.enrollment``
(one validation for the form and the import); the form only says what to ask and how."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from ..i18n import _l

from .. import days, enrollment, wilayah


@dataclass(frozen=True)
class Field:
    """One row of the worker form."""

    name: str
    label: Any
    kind: str = "text"  # text, digits, date, tel, select, textarea, money
    hint: Any = None
    required: bool = True
    autocomplete: str = "off"
    maxlength: int | None = None
    live: bool = True  # checked on the server while typing
    choices: tuple = field(default_factory=tuple)


SEX_CHOICES = (("L", _l("Laki-laki")), ("P", _l("Perempuan")))

WORKER_FORM: tuple[Field, ...] = (
    Field("nik", _l("NIK"), "digits", _l("16 angka, lihat KTP."), maxlength=24),
    Field("name", _l("Nama lengkap"), hint=_l("Sesuai KTP."), maxlength=120),
    Field("sex", _l("Jenis kelamin"), "radio", choices=SEX_CHOICES),
    Field("birth_place", _l("Tempat lahir"), required=False, maxlength=80),
    Field("birth_date", _l("Tanggal lahir"), "date"),
    Field("address", _l("Alamat"), "textarea", _l("Jalan, RT/RW, dusun."), required=False, live=False),
    Field("kecamatan", _l("Kecamatan"), "kecamatan"),
    Field("desa", _l("Desa / kelurahan"), "desa"),
    Field("occupation", _l("Pekerjaan"), "occupation"),
    Field("phone", _l("Nomor HP"), "tel", _l("Contoh: 0812 3456 7890"), required=False, maxlength=20),
    Field("kpj", _l("Nomor KPJ"), "digits", _l("Nomor kepesertaan BPJS Ketenagakerjaan. Boleh kosong."), required=False, maxlength=24),
    Field("income", _l("Penghasilan per bulan"), "money", _l("Dalam Rupiah, contoh: Rp1.500.000"), maxlength=20),
)
FIELD_NAMES = {f.name for f in WORKER_FORM} | {"occupation_other", "photo"}


def kecamatan_choices() -> list[tuple[str, str]]:
    """(code, name) of Muara Enim's kecamatan, in list order."""
    return [(k.code, k.name) for k in wilayah.kecamatan_list()]


def desa_choices(kecamatan_raw: str) -> list[tuple[str, str]]:
    """(code, name) of the desa of a kecamatan (given by code or name); empty when unknown."""
    kec = enrollment.find_kecamatan(kecamatan_raw or "")
    if kec is None:
        return []
    return [(d.code, d.name) for d in wilayah.desa_list(kec.code)]


def occupation_choices() -> list[tuple[str, str]]:
    """The occupation list and "lainnya"."""
    return [(o, o) for o in enrollment.OCCUPATIONS] + [(enrollment.OTHER_OCCUPATION, str(_l("Lainnya…")))]


def values_from_worker(worker) -> dict[str, str]:
    """The form's values for an existing worker (the edit form)."""
    from ..rupiah import format_rupiah

    occupation = worker.occupation or ""
    other = ""
    if occupation and occupation not in enrollment.OCCUPATIONS:
        occupation, other = enrollment.OTHER_OCCUPATION, worker.occupation
    return {
        "nik": worker.nik,
        "name": worker.name,
        "sex": worker.sex,
        "birth_place": worker.birth_place or "",
        "birth_date": days.field_text(worker.birth_date),
        "address": worker.address or "",
        "kecamatan": worker.kecamatan_code or "",
        "desa": worker.desa_code or worker.desa_name or "",
        "occupation": occupation,
        "occupation_other": other,
        "phone": worker.phone or "",
        "kpj": worker.kpj or "",
        "income": format_rupiah(worker.income) if worker.income is not None else "",
        "photo": worker.photo or "",
    }


def values_from_form(form: Mapping[str, str]) -> dict[str, str]:
    """The submitted worker fields (and nothing else) as plain strings."""
    return {name: form.get(name, "") for name in FIELD_NAMES}


def coverage_defaults(today: date) -> dict[str, str]:
    """The coverage part of the enroll form: from today, JKK + JKM; an empty end means three months."""
    return {
        "start": days.field_text(today),
        "end": "",
        "funder": enrollment.DEFAULT_FUNDER,
        "jht": "",
    }
