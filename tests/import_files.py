"""Rows and files as an office might send them for import (CSV and XLSX)."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import Workbook

from factories import nik_for
from kiosk.wilayah import desa_list, kecamatan_by_code

HEADER = ["NIK", "Nama Lengkap", "Jenis Kelamin", "Tempat Lahir", "Tanggal Lahir", "Alamat", "Kecamatan",
          "Desa/Kelurahan", "Pekerjaan", "No. HP", "No. KPJ", "Penghasilan per Bulan"]


def person(n: int, sex: str = "L", kec: str = "160302", **changes) -> list:
    """A valid row under HEADER: person ``n`` (distinct NIK per n)."""
    birth = date(1970 + n % 30, 1 + n % 12, 1 + n % 28)
    row = {
        "nik": nik_for(birth, sex, kec, serial=n % 9999 + 1), "name": f"Pekerja Impor {n}", "sex": sex,
        "birth_place": "Muara Enim", "birth_date": birth.strftime("%d-%m-%Y"), "address": f"Dusun {n % 5 + 1}",
        "kecamatan": kecamatan_by_code(kec).name, "desa": desa_list(kec)[n % len(desa_list(kec))].name,
        "occupation": "Pekebun karet", "phone": f"0812{n:08d}", "kpj": "", "income": "Rp1.500.000",
    }
    row.update(changes)
    return list(row.values())


def as_csv(rows: list[list], header=HEADER, delimiter=",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def as_xlsx(rows: list[list], header=HEADER, above: list[list] | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    for extra in above or []:
        ws.append(extra)
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
