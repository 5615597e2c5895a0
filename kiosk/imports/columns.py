"""The columns of a worker list: the field each one fills, the header the template and the export
write, and the other names offices give it ("Nama Lengkap", "NIK KTP", "No HP", "Kec.")."""

from __future__ import annotations

import re
from typing import Any

# (key, header written in the template and the export, other names offices use)
COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("nik", "NIK", ("nik ktp", "no nik", "nomor nik", "no ktp", "nomor ktp", "nomor induk kependudukan")),
    ("name", "Nama Lengkap", ("nama", "nama peserta", "nama pekerja", "nama sesuai ktp", "nama tenaga kerja")),
    ("sex", "Jenis Kelamin", ("jk", "l/p", "kelamin", "gender", "jenis kelamin (l/p)", "sex")),
    ("birth_place", "Tempat Lahir", ("tmpt lahir", "tempat")),
    ("birth_date", "Tanggal Lahir", ("tgl lahir", "tgl. lahir", "tanggal lahir (dd-mm-yyyy)", "lahir")),
    ("place_and_date", "Tempat, Tanggal Lahir", ("ttl", "tempat/tanggal lahir", "tempat/tgl lahir", "tempat tgl lahir")),
    ("address", "Alamat", ("alamat lengkap", "alamat rumah", "dusun")),
    ("kecamatan", "Kecamatan", ("kec", "kec.", "kode kecamatan")),
    ("desa", "Desa/Kelurahan", ("desa", "kelurahan", "desa/kel", "desa / kelurahan", "kode desa")),
    ("occupation", "Pekerjaan", ("jenis pekerjaan", "profesi", "pekerjaan utama")),
    ("phone", "No. HP", ("no hp", "nomor hp", "hp", "no telp", "no telepon", "nomor telepon", "telepon", "no wa", "wa")),
    ("kpj", "No. KPJ", ("kpj", "nomor kpj", "no kartu bpjs", "nomor peserta")),
    ("income", "Penghasilan per Bulan", ("penghasilan", "penghasilan/bulan", "pendapatan", "upah", "penghasilan (rp)")),
    ("start", "Mulai Cakupan", ("mulai", "tanggal mulai", "tmt", "awal cakupan")),
    ("end", "Berakhir Cakupan", ("berakhir", "selesai", "tanggal berakhir", "akhir cakupan")),
)
TEMPLATE_KEYS = tuple(k for k, _h, _s in COLUMNS if k != "place_and_date")
HEADERS = {k: h for k, h, _s in COLUMNS}
REQUIRED_KEYS = ("nik", "name", "sex", "birth_date", "kecamatan", "desa", "occupation", "income")
DATE_KEYS = ("birth_date", "start", "end")
# The template's example row: refused if it is left in a real list.
EXAMPLE_ROW = {
    "nik": "1603011201850012", "name": "Contoh Budi Santoso", "sex": "L", "birth_place": "Muara Enim",
    "birth_date": "12-01-1985", "address": "Dusun II RT 003", "kecamatan": "Tanjung Agung",
    "desa": "", "occupation": "Pekebun karet", "phone": "0812-3456-7890", "kpj": "",
    "income": "Rp1.500.000", "start": "", "end": "",
}


def header_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


_SYNONYMS: dict[str, str] = {}
for _key, _header, _others in COLUMNS:
    for _name in (_header, _key, *_others):
        _SYNONYMS.setdefault(header_key(_name), _key)
# Longest first: "tempattanggallahir" must win over "tempat".
_PREFIXES = sorted(((s, k) for s, k in _SYNONYMS.items() if len(s) >= 3), key=lambda p: -len(p[0]))


def column_for(header: Any) -> str | None:
    """The field a header names ("Nama Lengkap", "NIK KTP", "Kec.") or ``None``."""
    if header is None:
        return None
    key = header_key(str(header))
    if not key:
        return None
    if key in _SYNONYMS:
        return _SYNONYMS[key]
    for prefix, name in _PREFIXES:
        if key.startswith(prefix):
            return name
    return None
