"""Office lists as they really come (issue 16): a village head's semicolon CSV in Windows-1252
without kecamatan or income columns, an XLSX with a merged title row and numeric NIKs, village
names as people write them, a NIK Excel cut in a CSV, the same person twice in a file. Built
here with csv and openpyxl; nothing is written before confirm."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from factories import make_staff, make_worker, nik_for
from kiosk import imports
from kiosk.extensions import db
from kiosk.models import AuditEvent, Coverage, DistinctPair, Worker

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def request_context(request):
    """Messages are lazy strings; rendering them needs a request (for the locale)."""
    name = "engine_app" if "engine_app" in request.fixturenames else "app"
    with request.getfixturevalue(name).test_request_context():
        yield


@pytest.fixture
def staff(app):
    return make_staff()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def written() -> tuple[int, int, int, int]:
    return count(Worker), count(Coverage), count(AuditEvent), count(DistinctPair)


def by_line(result) -> dict:
    return {r.line: r for r in result.rows}


def text(messages) -> str:
    return " | ".join(str(m) for m in messages)


def village_csv(rows: list[list[str]], header=None) -> bytes:
    """A list from a village head: semicolons, Windows-1252 (Excel's "CSV" on an Indonesian
    Windows), no kecamatan and no income column, dates as 14/07/1985."""
    header = header or ["No", "NIK", "Nama", "L/P", "Tempat Lahir", "Tgl Lahir", "Alamat", "Desa", "Pekerjaan"]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("cp1252")


def villager(n: int, name: str, birth: date, sex: str = "L", desa: str = "Ds. Pasar 1", kec: str = "160302",
             serial: int | None = None, nik: str | None = None) -> list[str]:
    return [str(n), nik or nik_for(birth, sex, kec, serial=serial or n), name, sex, "Muara Enim",
            birth.strftime("%d/%m/%Y"), f"Dusun {n} RT 00{n}", desa, "Petani"]


# ---- a village head's CSV ----------------------------------------------------------------------------

def test_semicolon_windows_1252_csv_without_kecamatan_and_income(app):
    data = village_csv([
        villager(1, "Ma\u2019ruf Amin", date(1975, 3, 1)),                      # ’ is 0x92 in cp1252
        villager(2, "Siti Fatimah", date(1980, 5, 9), sex="P", desa="KEL. PASAR III"),
        villager(3, "Andr\u00e9 Putra", date(1990, 12, 31), desa="Pasar II Muara Enim"),
        villager(4, "Yanto", date(1988, 8, 8), desa="Pasar"),                    # which Pasar?
    ])
    assert b"\x92" in data  # really Windows-1252, not UTF-8
    result = imports.preview(data, filename="daftar desa.csv")
    rows = by_line(result)
    assert [rows[n].action for n in (2, 3, 4, 5)] == ["add", "add", "add", "refuse"]
    assert rows[2].clean["name"] == "Ma\u2019ruf Amin" and rows[4].clean["name"] == "Andr\u00e9 Putra"
    # No income column: the base income, said on the row and counted.
    assert rows[2].clean["income"] == 1_000_000 and rows[2].base_income
    assert "penghasilan dasar Rp1.000.000" in text(rows[2].warnings)
    assert result.counts["base_income"] == 3 and result.missing == []  # no income, no kecamatan: not missing
    # Village names as people write them; the kecamatan from the village.
    assert rows[2].clean["desa_name"] == "Pasar I Muara Enim" and rows[2].clean["kecamatan_code"] == "160302"
    assert "dibaca sebagai Pasar I Muara Enim" in text(rows[2].warnings)
    assert "menurut desanya: Muara Enim" in text(rows[2].warnings)
    assert rows[3].clean["desa_name"] == "Pasar III Muara Enim"
    assert "dibaca sebagai" not in text(rows[4].warnings)  # the official name, nothing to say
    assert "Pasar I Muara Enim" in text(rows[5].reasons) and "Pasar III Muara Enim" in text(rows[5].reasons)
    assert written() == (0, 0, 0, 0)


def test_base_income_follows_the_setting_and_a_typed_income_is_kept(app, staff):
    from kiosk import settings

    settings.save({"base_income": 1_200_000}, staff=staff)
    data = village_csv([villager(1, "Budi", date(1975, 3, 1)) + ["Rp800.000"], villager(2, "Ani", date(1976, 3, 1)) + [""]],
                       header=["No", "NIK", "Nama", "L/P", "Tempat Lahir", "Tgl Lahir", "Alamat", "Desa", "Pekerjaan",
                               "Penghasilan"])
    rows = by_line(imports.preview(data))
    assert rows[2].clean["income"] == 800_000 and not rows[2].base_income  # below the floor: kept, counted at it
    assert rows[3].clean["income"] == 1_200_000 and "Rp1.200.000" in text(rows[3].warnings)


# ---- a NIK Excel cut, in a CSV --------------------------------------------------------------------------

def test_a_nik_cut_by_excel_is_held_as_the_enrolled_person_until_staff_decide(app, staff):
    birth = date(1985, 7, 14)
    enrolled = make_worker(name="Budi Santoso", birth_date=birth, nik=nik_for(birth, "L", serial=12),
                           desa_code="1603021009", desa_name="Pasar I Muara Enim")
    cut = enrolled.nik[:15] + "0"  # ...0012 opened in Excel and saved as CSV: ...0010
    data = village_csv([villager(1, "Budi Santoso", birth, nik=cut), villager(2, "Ani", date(1990, 1, 2), sex="P")])
    result = imports.preview(data, filename="desa.csv")
    held = by_line(result)[2]
    assert held.action == "refuse" and held.held
    assert [(p.worker_id, p.why) for p in held.probable] == [(enrolled.id, "name")]
    assert "Budi Santoso yang sudah terdaftar" in text(held.reasons)
    assert result.counts["held"] == 1 and result.counts["add"] == 1

    token = imports.save(result, staff=staff)
    outcome = imports.commit(token, staff=staff)  # saved without a decision: the held row waits
    assert (outcome.added, outcome.refused) == (1, 1)
    assert count(Worker) == 2 and count(DistinctPair) == 0


def test_orang_berbeda_in_the_preview_is_recorded_when_the_import_is_written(app, staff):
    birth = date(1985, 7, 14)
    enrolled = make_worker(name="Budi Santoso", birth_date=birth, nik=nik_for(birth, "L", serial=12),
                           desa_code="1603021009", desa_name="Pasar I Muara Enim")
    data = village_csv([villager(1, "Budi Santosa", birth, serial=13)])  # NIK ...0013, same desa and day
    result = imports.preview(data)
    assert by_line(result)[2].probable[0].why == "nik"
    token = imports.save(result, staff=staff)
    before = written()
    assert imports.mark_different(token, 2, "Kembar; KTP dicek", staff=staff)
    assert not imports.mark_different(token, 2, "lagi", staff=staff)  # no longer held
    assert written() == before  # nothing is written before confirm
    shown = imports.load(token, staff=staff)
    assert shown.rows[0].action == "add" and shown.counts["held"] == 0
    assert "Dikonfirmasi orang berbeda: Kembar; KTP dicek" in text(shown.rows[0].warnings)

    outcome = imports.commit(token, staff=staff)
    assert outcome.added == 1
    new = db.session.scalar(select(Worker).where(Worker.id != enrolled.id))
    pair = db.session.scalar(select(DistinctPair))
    assert (pair.worker_id, pair.other_id, pair.reason, pair.decided_by_id) == (enrolled.id, new.id,
                                                                                 "Kembar; KTP dicek", staff.id)
    audited = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "distinct_pair"))
    assert audited is not None and audited.staff_id == staff.id


def test_a_csv_whose_niks_all_end_in_zero_was_cut_by_excel(app):
    rows = [villager(n, f"Warga {chr(64 + n)}", date(1970 + n, 1 + n, 1 + n), serial=n * 10) for n in range(1, 7)]
    result = imports.preview(village_csv(rows))
    assert all(r.action == "refuse" for r in result.rows)
    assert "berakhiran 0 (6 baris)" in text(result.rows[0].reasons)
    # A few NIKs that happen to end in 0 are just NIKs.
    rows[0][1] = rows[0][1][:15] + "7"
    assert by_line(imports.preview(village_csv(rows)))[3].action == "add"


def test_the_same_person_twice_in_one_file_points_at_the_earlier_row(app, staff):
    birth = date(1992, 2, 2)
    data = village_csv([villager(1, "Dewi Lestari", birth, sex="P", serial=5),
                        villager(2, "Ani", date(1990, 1, 2), sex="P"),
                        villager(3, "DEWI  LESTARI", birth, sex="P", serial=77)])
    result = imports.preview(data)
    rows = by_line(result)
    assert rows[2].action == "add" and rows[4].held
    assert [(p.line, p.why) for p in rows[4].probable] == [(2, "name")]
    token = imports.save(result, staff=staff)
    imports.mark_different(token, 4, "Dua orang, nama sama", staff=staff)
    assert imports.commit(token, staff=staff).added == 3
    first, second = (db.session.scalar(select(Worker.id).where(Worker.nik == rows[n].clean["nik"])) for n in (2, 4))
    assert db.session.scalar(select(DistinctPair.other_id).where(DistinctPair.worker_id == first)) == second


# ---- an XLSX with a merged title row and numeric NIKs -------------------------------------------------

def office_xlsx(rows: list[list], income: bool = False) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["DAFTAR CALON PESERTA BPJS KETENAGAKERJAAN BPU DESA TANJUNG ENIM"])
    ws.merge_cells("A1:I1")
    ws.append(["Kecamatan Lawang Kidul - Tahun 2026"])
    ws.merge_cells("A2:I2")
    ws.append([])
    header = ["NO", "NIK", "NAMA LENGKAP", "JENIS KELAMIN", "TGL LAHIR", "KECAMATAN", "DESA/KEL", "PEKERJAAN", "NO HP"]
    ws.append(header + (["PENGHASILAN"] if income else []))
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_xlsx_with_merged_title_numeric_niks_and_village_spellings(app):
    lawang_kidul = "160307"
    ids = [nik_for(date(1980 + n, n, 10 + n), "L", lawang_kidul, serial=n) for n in range(1, 5)]
    data = office_xlsx([
        [1, int(ids[0]), "Rudi", "L", date(1981, 1, 11), "Lawang Kidul", "Tj. Enim", "Buruh harian lepas", 81234567890],
        [2, float(ids[1]), "Joko", "L", date(1982, 2, 12), "Kec. Lawang Kidul", "Desa Tanjung Enim Selatan", "Sopir", ""],
        [3, ids[2], "Asep", "L", date(1983, 3, 13), "lawang kidul", "Tanjng Enim", "Petani", ""],
        [4, int(ids[3]), "Dedi", "L", date(1984, 4, 14), "SDL", "Pasar", "Petani", ""],
    ])
    result = imports.preview(data, filename="daftar.xlsx")
    rows = by_line(result)
    assert set(rows) == {5, 6, 7, 8}  # the merged title rows and the empty row are not data
    # Numbers that keep all 16 digits (not all ending in 0) are the NIKs themselves.
    assert rows[5].action == "add" and rows[5].clean["nik"] == ids[0]
    assert rows[6].action == "add" and rows[6].clean["nik"] == ids[1]
    assert rows[5].clean["phone"].endswith("81234567890")  # the leading 0 a number cell drops
    assert rows[5].clean["desa_name"] == "Tanjung Enim" and "dibaca sebagai Tanjung Enim" in text(rows[5].warnings)
    assert rows[6].clean["desa_name"] == "Tanjung Enim Selatan" and "dibaca sebagai" not in text(rows[6].warnings)
    assert "Mungkin maksudnya: Tanjung Enim" in text(rows[7].reasons)
    assert rows[8].action == "refuse" and "Semende Darat Laut" in text(rows[8].warnings + rows[8].reasons)
    assert result.counts["base_income"] == 2  # no income column (counted among the rows to add)


def test_xlsx_niks_excel_stored_as_numbers_lose_their_last_digit(app):
    ids = [nik_for(date(1980 + n, n, 10 + n), "L", "160307", serial=n) for n in range(1, 4)]
    cut = [float(i[:15] + "0") for i in ids]  # what Excel keeps of a 16-digit number
    data = office_xlsx([[n + 1, cut[n], f"Orang {n}", "L", date(1981 + n, n + 1, 11 + n), "Lawang Kidul",
                         "Tanjung Enim", "Petani", ""] for n in range(3)])
    result = imports.preview(data)
    assert all(r.action == "refuse" for r in result.rows)
    assert "hanya menyimpan 15 angka" in text(result.rows[0].reasons)
    assert written() == (0, 0, 0, 0)


# ---- the pages ----------------------------------------------------------------------------------------

def test_preview_page_shows_held_rows_and_base_income_and_takes_orang_berbeda(app, client, login_as):
    staff = login_as("petugas")
    birth = date(1985, 7, 14)
    enrolled = make_worker(name="Budi Santoso", birth_date=birth, nik=nik_for(birth, "L", serial=12),
                           desa_code="1603021009", desa_name="Pasar I Muara Enim")
    data = village_csv([villager(1, "Budi Santoso", birth, nik=enrolled.nik[:15] + "0"),
                        villager(2, "Ani", date(1990, 1, 2), sex="P")])
    upload = client.post("/pekerja/impor", data={"berkas": (io.BytesIO(data), "desa.csv")},
                         content_type="multipart/form-data")
    assert upload.status_code == 303
    page_url = upload.headers["Location"]
    page = client.get(page_url).get_data(as_text=True)
    assert "1 baris mungkin orang yang sudah ada" in page
    assert "1 baris tanpa penghasilan: dipakai penghasilan dasar Rp1.000.000" in page
    assert f'href="/pekerja/{enrolled.id}"' in page and 'id="baris-2"' in page
    held = client.get(page_url + "?tampil=ganda").get_data(as_text=True)
    assert "Budi Santoso" in held and "Ani" not in held
    token = page_url.rstrip("/").rsplit("/", 1)[1]
    url = f"/pekerja/impor/{token}/baris/2/berbeda"
    refused = client.post(url, data={"reason": ""})
    assert refused.status_code == 303 and "Tulis alasannya" in client.get(refused.headers["Location"]).get_data(as_text=True)
    done = client.post(url, data={"reason": "Orang lain, KTP dicek"})
    assert done.status_code == 303 and done.headers["Location"].endswith("#baris-2")
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "dicatat sebagai orang berbeda" in after and "Simpan 2 baris" in after
    assert written()[0] == 1  # still only the enrolled worker
    assert staff is not None


# ---- columns the app does not know ---------------------------------------------------------------------

def kartu_keluarga_csv(rows: list[list[str]]) -> bytes:
    """A list copied from a family-card register: column names the app does not know."""
    header = ["Nomor Urut", "No. Induk", "Nama Anggota", "Kelamin (L/P)", "Lahir Tgl", "Kampung", "Usaha"]
    return village_csv(rows, header=header)


def kk_row(n: int, name: str, birth: date, kampung: str, usaha: str, sex: str = "L") -> list[str]:
    return [str(n), nik_for(birth, sex, "160302", serial=n), name, sex, birth.strftime("%d/%m/%Y"), kampung, usaha]


def upload(client, data: bytes, name: str):
    return client.post("/pekerja/impor", data={"berkas": (io.BytesIO(data), name)}, content_type="multipart/form-data")


MAPPING = {"kolom-1": "nik", "kolom-2": "name", "kolom-3": "sex", "kolom-4": "birth_date", "kolom-5": "desa",
           "kolom-6": "occupation"}


def test_unknown_columns_are_asked_then_remembered_for_the_next_file(app, client, login_as):
    login_as("petugas")
    rows = [kk_row(1, "Rahmat", date(1977, 7, 7), "Pasar 2", "Petani"),
            kk_row(2, "Sari", date(1979, 9, 9), "Pasar 3", "Pedagang", sex="P")]
    response = upload(client, kartu_keluarga_csv(rows), "kk.csv")
    assert response.status_code == 303 and "/kolom" in response.headers["Location"]
    columns_url = response.headers["Location"]
    page = client.get(columns_url).get_data(as_text=True)
    assert "Judul kolom berkas ini belum dikenal" in page
    assert "Nama Anggota" in page and "Rahmat" in page  # the header and samples to choose from
    assert written() == (0, 0, 0, 0)

    missing = client.post(columns_url, data={"baris": "1", "kolom-2": "name", "kolom-3": "name"})
    assert missing.status_code == 422
    text_ = missing.get_data(as_text=True)
    assert "Pilih kolom mana yang berisi NIK" in text_ and "dipilih untuk lebih dari satu kolom" in text_

    chosen = client.post(columns_url, data={"baris": "1", **MAPPING})
    assert chosen.status_code == 303 and "/pekerja/impor/" in chosen.headers["Location"]
    preview = client.get(chosen.headers["Location"]).get_data(as_text=True)
    assert "Simpan 2 baris" in preview and "Kolom yang tidak dipakai: Nomor Urut" in preview
    assert written() == (0, 0, 0, 0)

    # The next file with the same header row goes straight to its preview, on any server.
    second = upload(client, kartu_keluarga_csv([kk_row(3, "Ujang", date(1970, 1, 3), "Pasar 1", "Petani")]), "kk-2.csv")
    assert second.status_code == 303 and "/kolom" not in second.headers["Location"]
    assert "Simpan 1 baris" in client.get(second.headers["Location"]).get_data(as_text=True)


def test_a_remembered_mapping_lives_in_the_database(app, staff):
    from kiosk.imports import mappings

    header = ["Nomor Urut", "No. Induk", "Nama Anggota", "Kelamin (L/P)", "Lahir Tgl", "Kampung", "Usaha"]
    mappings.remember(header, {1: "nik", 2: "name", 3: "sex"}, staff=staff)
    mappings.remember([h.upper() for h in header], {1: "nik", 2: "name", 4: "birth_date"}, staff=staff)  # same header
    from kiosk.models import ColumnMapping

    (stored,) = db.session.scalars(select(ColumnMapping)).all()
    assert stored.columns == [None, "nik", "name", None, "birth_date", None, None] and stored.updated_by_id == staff.id
    table = [(1, ["DAFTAR"]), (2, ["  nomor urut ", "No Induk", "nama anggota", "kelamin L/P", "lahir tgl", "kampung",
                                   "usaha"])]
    assert mappings.remembered(table) == (1, {1: "nik", 2: "name", 4: "birth_date"})


def test_the_header_row_can_be_chosen(app, client, login_as):
    login_as("petugas")
    data = kartu_keluarga_csv([kk_row(1, "Rahmat", date(1977, 7, 7), "Pasar 2", "Petani")])
    columns_url = upload(client, data, "kk.csv").headers["Location"]
    page = client.get(columns_url + "?baris=2").get_data(as_text=True)
    assert 'value="2" selected' in page
    assert client.get(columns_url + "?baris=99999999999").status_code == 200


def test_someone_elses_or_an_unknown_upload_is_gone(app, client, login_as):
    from kiosk.imports import uploads

    other = make_staff()
    kept = uploads.keep(village_csv([villager(1, "Rahmat", date(1977, 7, 7))]), "x.csv", staff=other)
    login_as("petugas")
    for url in (f"/pekerja/impor/berkas/{kept}/kolom", f"/pekerja/impor/berkas/{kept}/ditolak.xlsx",
                "/pekerja/impor/berkas/tidak-ada-sama-sekali-0123/kolom"):
        response = client.get(url)
        assert response.status_code == 303 and response.headers["Location"].endswith("/pekerja/impor"), url


# ---- the refused rows, to fix and import again ------------------------------------------------------------

def refused_sheet(client, url: str):
    from openpyxl import load_workbook

    response = client.get(url)
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.data)).active
    return [[c.value for c in row] for row in ws.iter_rows()], ws


def test_refused_rows_come_back_in_the_files_own_columns_with_alasan(app, client, login_as):
    login_as("petugas")
    good = villager(1, "Rahmat", date(1977, 7, 7))
    bad_date = villager(2, "Sari", date(1979, 9, 9), sex="P")
    bad_date[5] = "31/02/1979"
    unknown_desa = villager(3, "Ujang", date(1970, 1, 3), desa="Desa Antah")
    data = village_csv([good, bad_date, unknown_desa])
    preview_url = upload(client, data, "desa.csv").headers["Location"]
    preview = client.get(preview_url).get_data(as_text=True)
    link = next(part.split('"')[0] for part in preview.split('href="') if "ditolak.xlsx" in part.split('"')[0])
    assert "Unduh 2 baris yang ditolak" in preview
    rows, ws = refused_sheet(client, link)
    assert rows[0] == ["No", "NIK", "Nama", "L/P", "Tempat Lahir", "Tgl Lahir", "Alamat", "Desa", "Pekerjaan", "Alasan"]
    assert [r[2] for r in rows[1:]] == ["Sari", "Ujang"]
    assert rows[1][1] == bad_date[1] and ws["B2"].number_format == "@"  # the NIK stays text
    assert rows[1][5] == "31/02/1979" and "Tanggal itu tidak ada di kalender" in rows[1][-1]
    assert "Desa Antah" in rows[2][-1]

    # Saved: the accepted row is written; the import page offers the refused rows again.
    done = client.post(preview_url)
    assert done.status_code == 303 and "ditolak=" in done.headers["Location"]
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Unduh baris yang ditolak (.xlsx)" in page
    after, _ws = refused_sheet(client, link)
    assert [r[2] for r in after[1:]] == ["Sari", "Ujang"] and count(Worker) == 1


def test_refused_rows_of_an_xlsx_with_a_title_row_keep_its_header_and_types(app, client, login_as):
    staff = login_as("petugas")
    ids = [nik_for(date(1980 + n, n, 10 + n), "L", "160307", serial=n) for n in range(1, 3)]
    data = office_xlsx([
        [1, int(ids[0]), "Rudi", "L", date(1981, 1, 11), "Lawang Kidul", "Tanjung Enim", "Petani", ""],
        [2, int(ids[1]), "Joko", "L", date(1982, 2, 12), "Lawang Kidul", "Tanjng Enim", "Sopir", 81234567890],
    ])
    preview_url = upload(client, data, "daftar.xlsx").headers["Location"]
    token = preview_url.rstrip("/").rsplit("/", 1)[1]
    shown = imports.load(token, staff=staff)
    rows, ws = refused_sheet(client, f"/pekerja/impor/berkas/{shown.upload}/ditolak.xlsx")
    assert rows[0][:3] == ["NO", "NIK", "NAMA LENGKAP"] and rows[0][-1] == "Alasan"
    assert rows[1][:3] == [2, ids[1], "Joko"]  # the NIK number written back as its 16 digits, as text
    assert rows[1][4].date() == date(1982, 2, 12) and rows[1][8] == "81234567890"
    assert "Tanjung Enim" in rows[1][-1]

