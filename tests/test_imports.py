"""CSV/XLSX import (preview per row, one-transaction commit, stored previews), the template,
the export of the filtered list, and their pages (plain and htmx)."""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import date, datetime, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import event, func, select

from factories import make_coverage, make_worker, nik_for
from import_files import HEADER, as_csv, as_xlsx, person
from kiosk import imports
from kiosk.coverage import default_end
from kiosk.database import utcnow
from kiosk.extensions import db
from kiosk.models import AuditEvent, Coverage, Staff, Worker
from kiosk.wilayah import desa_list, kecamatan_by_code

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def request_context(request):
    """Messages are lazy strings; rendering them needs a request (for the locale)."""
    name = "engine_app" if "engine_app" in request.fixturenames else "app"
    with request.getfixturevalue(name).test_request_context():
        yield


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def by_line(result) -> dict:
    return {r.line: r for r in result.rows}


def reasons(row) -> str:
    return " | ".join(str(r) for r in row.reasons)


@pytest.fixture
def staff(app):
    member = Staff(username="petugas", full_name="Petugas Satu", role="petugas", password_hash="-")
    db.session.add(member)
    db.session.commit()
    return member


# ---- headers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("header", "key"),
    [("Nama Lengkap", "name"), ("NIK KTP", "nik"), ("No HP", "phone"), ("Kec.", "kecamatan"),
     ("  JENIS   kelamin ", "sex"), ("Tgl. Lahir", "birth_date"), ("Desa / Kelurahan", "desa"),
     ("Tempat/Tgl Lahir", "place_and_date"), ("No", None), ("Keterangan", None), (None, None),
     ("Penghasilan (Rp)", "income"), ("Nomor KPJ", "kpj")],
)
def test_header_names_and_synonyms(header, key):
    assert imports.column_for(header) == key


# ---- refusals ----------------------------------------------------------------------------------

def test_every_refusal_reason_is_a_row_level_reason(app):
    taken = make_worker(kpj="12345678901")
    rows = [
        person(1),                                                     # 2: good
        person(2, nik="160302010180"),                                  # 3: too short
        person(3, nik="16030201018000AB"),                              # 4: letters
        person(4, birth_date="31-02-1985"),                             # 5: no such date
        person(5, kecamatan="Atlantis"),                                # 6: unknown kecamatan
        person(6, nik=person(7)[0]),                                    # 7: same NIK as line 8
        person(7),                                                      # 8: same NIK as line 7
        person(8)[:2] + ["P"] + person(8)[3:],                          # 9: a man's NIK, sex P
        person(9, kpj="999"), person(10, kpj="999"),                    # 10, 11: KPJ twice in file
        person(11, kpj=taken.kpj),                                      # 12: KPJ of someone else
        person(12, birth_date="1985/13/45"),                            # 13: unreadable date
        person(13, name=""),                                            # 14: no name
        person(14, desa="Desa Tidak Ada"),                              # 15: desa not in kecamatan
        person(15, income="banyak"),                                    # 16: not money
        person(16, phone="12345"),                                      # 17: not a phone
        list(imports.EXAMPLE_ROW.values())[:12],                        # 18: the template's example
    ]
    result = imports.preview(as_csv(rows), filename="daftar.csv")
    lines = by_line(result)
    assert lines[2].action == "add" and not lines[2].reasons
    expected = {
        3: "16 angka", 4: "hanya boleh berisi angka", 5: "tanggal", 6: "Atlantis", 7: "lebih dari sekali",
        8: "lebih dari sekali", 9: "perempuan", 10: "KPJ ini muncul lebih dari sekali",
        11: "KPJ ini muncul lebih dari sekali", 12: "sudah dipakai " + taken.name, 13: "Tanggal lahir tidak dikenali",
        14: "nama", 15: "Desa Tidak Ada", 16: "", 17: "", 18: "baris contoh",
    }
    for line, words in expected.items():
        assert lines[line].action == "refuse", (line, reasons(lines[line]))
        assert words.lower() in reasons(lines[line]).lower(), (line, reasons(lines[line]))
    assert "baris 8" in reasons(lines[7]) and "baris 7" in reasons(lines[8])
    assert result.counts == {"add": 1, "update": 0, "refuse": 16, "total": 17, "held": 0, "base_income": 0}
    assert count(Worker) == 1  # a preview writes nothing


def test_nik_stored_by_excel_as_a_number_is_explained(app):
    good = person(1)
    as_number = person(2)
    as_number[0] = float(as_number[0][:15] + "0")  # what Excel keeps of it in a General-format column
    result = imports.preview(as_xlsx([good, as_number]), filename="daftar.xlsx")
    refused = by_line(result)[3]
    assert refused.action == "refuse" and "angka di Excel" in reasons(refused)
    assert by_line(result)[2].action == "add"


def test_new_workers_with_coverage_are_written_and_audited_like_an_enrollment(app, staff):
    from kiosk import enrollment

    header = HEADER + ["Mulai Cakupan", "Berakhir Cakupan"]
    imports.commit(imports.preview(as_csv([person(1, income="Rp2.000.000") + ["01-12-2026", ""]], header)),
                   staff=staff)
    worker = db.session.scalars(select(Worker)).one()
    period = db.session.scalars(select(Coverage)).one()
    assert (period.worker_id, period.start_date, period.end_date) == (worker.id, date(2026, 12, 1),
                                                                      default_end(date(2026, 12, 1)))
    assert (period.jkk, period.jkm, period.jht, period.funder) == (True, True, False, "Pemkab Muara Enim")
    assert period.monthly_contribution == 20_000 + 6_800 and period.income_basis == 2_000_000
    events = {e.entity_type: e for e in db.session.scalars(select(AuditEvent))}
    assert set(events) == {"worker", "coverage"} and all(e.staff_id == staff.id for e in events.values())
    assert set(events["worker"].after) == set(enrollment.WORKER_FIELDS)
    assert events["coverage"].entity_id == period.id and events["worker"].after["nik"] == worker.nik


def test_coverage_columns_and_their_refusals(app):
    header = HEADER + ["Mulai Cakupan", "Berakhir Cakupan"]
    rows = [person(1) + ["01-12-2026", ""], person(2) + ["", "01-03-2027"], person(3) + ["01-12-2026", "01-11-2026"]]
    lines = by_line(imports.preview(as_csv(rows, header)))
    assert lines[2].action == "add" and lines[2].coverage["end"] == default_end(date(2026, 12, 1))
    assert lines[3].action == "refuse" and "tanpa tanggal mulai" in reasons(lines[3])
    assert lines[4].action == "refuse" and "sebelum tanggal mulai" in reasons(lines[4])


# ---- updates -----------------------------------------------------------------------------------

def test_existing_nik_becomes_an_update_and_empty_cells_keep_what_is_enrolled(app, staff):
    worker = make_worker(name="Lama Namanya", phone="+6281200001111")
    row = ["'" + worker.nik, "Nama Baru", "", "", "", "", "", "", "", "", "5551234", ""]
    result = imports.preview(as_csv([row]))
    update = result.rows[0]
    assert update.action == "update", reasons(update)
    assert set(update.changes) >= {"name", "kpj"} and "phone" not in update.changes
    imports.commit(result, staff=staff)
    db.session.expire_all()
    worker = db.session.get(Worker, worker.id)
    assert (worker.name, worker.kpj, worker.phone) == ("Nama Baru", "5551234", "+6281200001111")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "worker.update")).one()
    assert event.after["name"] == "Nama Baru" and event.staff_id == staff.id


def test_same_period_imported_twice_is_not_added_again(app, staff):
    header = HEADER + ["Mulai Cakupan", "Berakhir Cakupan"]
    data = as_csv([person(1) + ["01-12-2026", ""]], header)
    imports.commit(imports.preview(data), staff=staff)
    again = imports.preview(data)
    assert again.rows[0].action == "update" and again.rows[0].coverage is None
    imports.commit(again, staff=staff)
    assert count(Coverage) == 1
    overlapping = imports.preview(as_csv([person(1) + ["15-12-2026", ""]], header))
    assert overlapping.rows[0].action == "refuse" and "bertumpang tindih" in reasons(overlapping.rows[0])


# ---- one bad row among good ones ---------------------------------------------------------------

def test_nothing_is_written_until_confirm_then_exactly_the_good_rows(engine_app):
    staff = Staff(username="petugas", full_name="Petugas", role="petugas", password_hash="-")
    db.session.add(staff)
    db.session.commit()
    good = [person(n) for n in range(1, 6)]
    bad = person(99, birth_date="32-01-1980")
    result = imports.preview(as_xlsx(good[:2] + [bad] + good[2:]), filename="campur.xlsx")
    assert result.counts == {"add": 5, "update": 0, "refuse": 1, "total": 6, "held": 0, "base_income": 0}
    token = imports.save(result, staff=staff)
    assert count(Worker) == 0 and count(AuditEvent) == 0
    outcome = imports.commit(token, staff=staff)
    assert (outcome.added, outcome.updated, outcome.refused) == (5, 0, 1)
    assert sorted(db.session.scalars(select(Worker.nik))) == sorted(row[0] for row in good)
    assert count(AuditEvent) == 5
    with pytest.raises(imports.ImportExpired):  # a preview is imported once
        imports.commit(token, staff=staff)
    assert count(Worker) == 5


def test_a_row_enrolled_meanwhile_stops_the_whole_commit(engine_app):
    staff = Staff(username="petugas", full_name="Petugas", role="petugas", password_hash="-")
    db.session.add(staff)
    db.session.commit()
    rows = [person(n) for n in range(1, 4)]
    token = imports.save(imports.preview(as_csv(rows)), staff=staff)
    birth = date(1970 + 2 % 30, 1 + 2 % 12, 1 + 2 % 28)
    make_worker(nik=rows[1][0], birth_date=birth)  # another desk enrolls person 2
    with pytest.raises(imports.ImportChanged) as raised:
        imports.commit(token, staff=staff)
    assert count(Worker) == 1
    fresh = raised.value.preview
    assert [r.action for r in fresh.rows] == ["add", "update", "add"] and fresh.token
    imports.commit(fresh.token, staff=staff)
    assert count(Worker) == 3


def test_uniqueness_is_checked_in_bulk(app):
    make_worker()
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    data = as_csv([person(n, kpj=str(1000 + n)) for n in range(200)])
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        imports.preview(data)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # NIKs, KPJs, probable duplicates by name and by desa + birth date, the base income setting
    # (cached per process), a remembered column mapping for the header; the coverage only for
    # updated workers. Never one per row.
    assert 1 <= len(selects) <= 6, selects


# ---- office files --------------------------------------------------------------------------------

def test_xlsx_with_title_rows_merged_cells_empty_rows_and_synonyms(app, staff):
    wb = Workbook()
    ws = wb.active
    ws.append(["DAFTAR CALON PESERTA BPU KABUPATEN MUARA ENIM"])
    ws.append(["Tahun Anggaran 2026"])
    ws.merge_cells("A1:L1")
    ws.append([])
    ws.append(["No", "NIK KTP", "Nama", "JK", "Tempat Lahir", "Tgl. Lahir", "Alamat", "Kec.", "Desa", "Pekerjaan",
               "No HP", "Penghasilan"])
    kec = kecamatan_by_code("160304")
    desa = desa_list(kec.code)
    births = [date(1980, 1, 12), date(1975, 6, 3), date(1990, 11, 30)]
    ws.append([1, nik_for(births[0], "L", kec.code, serial=1)[:4] + " " + nik_for(births[0], "L", kec.code, serial=1)[4:],
               "Darmawan", "Laki-laki", "Muara Enim", datetime(1980, 1, 12), "Dusun I", kec.name, desa[0].name,
               "Pekebun karet", 81234567890, 1500000])
    ws.append([2, nik_for(births[1], "P", kec.code, serial=2), "Siti Aminah", "P", "Lahat", "03/06/1975",
               "Dusun II", None, desa[1].name, "Pedagang", "0813-1111-2222", "Rp1.500.000"])
    ws.append([])
    ws.append([3, nik_for(births[2], "L", kec.code, serial=3), "Rudi Hartono", "L", "Tanjung Enim", "30-11-1990",
               "Dusun III", None, desa[2].name, "Nelayan", "", "2.000.000"])
    ws.merge_cells("H5:H8")  # one kecamatan cell for the three people, as offices do
    out = io.BytesIO()
    wb.save(out)
    result = imports.preview(out.getvalue(), filename="daftar kantor.xlsx")
    assert [r.action for r in result.rows] == ["add", "add", "add"], [reasons(r) for r in result.rows]
    assert [r.line for r in result.rows] == [5, 6, 8]
    assert {r.clean["kecamatan_code"] for r in result.rows} == {kec.code}
    first = result.rows[0].clean
    assert first["birth_date"] == births[0] and first["phone"] == "+6281234567890" and first["income"] == 1_500_000
    assert result.rows[1].clean["birth_date"] == births[1] and result.rows[2].clean["income"] == 2_000_000
    imports.commit(result, staff=staff)
    assert count(Worker) == 3


def test_place_and_date_of_birth_in_one_column(app):
    header = ["NIK", "Nama", "L/P", "Tempat, Tgl Lahir", "Kecamatan", "Desa", "Pekerjaan", "Penghasilan"]
    row = person(1)
    data = as_csv([[row[0], row[1], row[2], f"Lahat, {row[4]}", row[6], row[7], row[8], "1500000"]], header)
    result = imports.preview(data)
    assert result.rows[0].action == "add", reasons(result.rows[0])
    assert result.rows[0].clean["birth_place"] == "Lahat" and "birth_date" in result.columns


def test_semicolon_csv_in_windows_encoding(app):
    rows = [person(1, name="Rosmawati Dewi", sex="P")]
    data = as_csv(rows, delimiter=";").decode().encode("cp1252")
    assert imports.preview(data, filename="daftar.csv").rows[0].action == "add"


@pytest.mark.parametrize(
    ("content", "filename", "words"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "daftar.xlsx", "bukan lembar kerja"),
        (b"Ini surat, bukan daftar pekerja.\n", "daftar.xlsx", "bukan lembar kerja"),
        (b"PK\x03\x04" + b"rusak" * 50, "daftar.xlsx", "bukan lembar kerja"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "daftar.xls", "Excel lama"),
        (b"", "daftar.csv", "kosong"),
        (b"Nama,Alamat\nBudi,Dusun I\n", "daftar.csv", "judul kolom"),
        (("\ufeff" + ",".join(HEADER) + "\n").encode(), "daftar.csv", "hanya berisi judul"),
    ],
)
def test_unreadable_files_get_a_clear_message(app, content, filename, words):
    with pytest.raises(imports.ImportFileError) as raised:
        imports.preview(content, filename=filename)
    assert words.lower() in str(raised.value.message).lower()


def test_too_many_rows_and_too_many_bytes(app, monkeypatch):
    monkeypatch.setattr(imports.reading, "MAX_ROWS", 5)
    with pytest.raises(imports.ImportFileError, match="terlalu banyak"):
        imports.preview(as_csv([person(n) for n in range(30)]))
    monkeypatch.setattr(imports.reading, "MAX_UNPACKED", 10_000)  # an XLSX that unpacks to more: a zip bomb
    with pytest.raises(imports.ImportFileError, match="setelah dibuka"):
        imports.preview(as_xlsx([person(1)]), filename="bom.xlsx")
    monkeypatch.setattr(imports.reading, "MAX_BYTES", 100)
    with pytest.raises(imports.ImportFileError, match="terlalu besar"):
        imports.preview(as_csv([person(n) for n in range(3)]))


def test_ten_thousand_rows_preview_and_commit(app, staff):
    # CSV keeps the suite quick; bench/imports.py measures 10,000 XLSX rows.
    data = as_csv([person(n, sex="LP"[n % 2], kec=("160302", "160304", "160314")[n % 3]) for n in range(10_000)])
    result = imports.preview(data, filename="besar.csv")
    assert result.counts == {"add": 10_000, "update": 0, "refuse": 0, "total": 10_000, "held": 0, "base_income": 0}
    token = imports.save(result, staff=staff)
    outcome = imports.commit(token, staff=staff)
    assert outcome.added == 10_000 and count(Worker) == 10_000


# ---- stored previews ------------------------------------------------------------------------------

def test_a_stored_preview_is_only_for_its_staff_and_expires(app, staff):
    from kiosk.models import ImportPreviewRecord

    other = Staff(username="lain", full_name="Lain", role="petugas", password_hash="-")
    db.session.add(other)
    db.session.commit()
    token = imports.save(imports.preview(as_csv([person(1), person(2, nik="1")])), staff=staff)
    loaded = imports.load(token, staff=staff)
    assert [r.action for r in loaded.rows] == ["add", "refuse"] and loaded.rows[1].reasons
    # In the database (any server confirms it), nothing under instance/.
    assert db.session.get(ImportPreviewRecord, token).staff_id == staff.id
    assert not os.path.exists(os.path.join(app.instance_path, "imports"))
    with pytest.raises(imports.ImportExpired):
        imports.load(token, staff=other)
    for bad in ("../secret_key", "x", "a" * 200):
        with pytest.raises(imports.ImportExpired):
            imports.load(bad, staff=staff)
    with db.engine.begin() as conn:
        conn.execute(ImportPreviewRecord.__table__.update().values(
            created_at=utcnow() - timedelta(hours=imports.STORE_HOURS + 1)))
    db.session.remove()
    with pytest.raises(imports.ImportExpired):
        imports.load(token, staff=staff)
    imports.save(imports.preview(as_csv([person(3)])), staff=staff)  # a new one clears the old
    assert db.session.get(ImportPreviewRecord, token) is None


def test_a_preview_is_imported_once(app, staff):
    token = imports.save(imports.preview(as_csv([person(1)])), staff=staff)
    shown = imports.load(token, staff=staff)
    assert imports.commit(token, staff=staff).added == 1
    with pytest.raises(imports.ImportExpired):
        imports.commit(token, staff=staff)
    with pytest.raises(imports.ImportExpired):
        imports.commit(shown, staff=staff)  # the same preview, still held by a second request
    assert count(Worker) == 1


# ---- template and export -------------------------------------------------------------------------

def test_template_has_the_exact_headers_and_one_example_row(app):
    sheet = load_workbook(io.BytesIO(imports.template("xlsx")), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [imports.HEADERS[k] for k in imports.TEMPLATE_KEYS]
    assert len(rows) == 2 and rows[1][0] == imports.EXAMPLE_ROW["nik"]
    text = imports.template("csv").decode("utf-8")
    assert text.startswith("\ufeff") and len(text.strip().splitlines()) == 2
    assert text.splitlines()[0].lstrip("\ufeff").split(",") == [imports.HEADERS[k] for k in imports.TEMPLATE_KEYS]


def test_export_then_import_changes_nothing(app, staff):
    worker = make_worker(name="Budi Santoso", phone="+6281234567890", kpj="777")
    make_coverage(worker, start=date(2026, 12, 1), end=default_end(date(2026, 12, 1)))
    from kiosk.workers.listing import Filters, filtered_query

    data = imports.export_xlsx(filtered_query(Filters()))
    result = imports.preview(data, filename="ekspor.xlsx")
    row = result.rows[0]
    assert row.action == "update" and row.coverage is None, reasons(row)
    assert set(row.changes) <= {"desa_code", "desa_name"}  # the factory's desa has no code


# ---- pages -------------------------------------------------------------------------------------------

@pytest.fixture
def signed_in(client, staff):
    with client.session_transaction() as session:
        session["_user_id"] = staff.get_id()
        session["_fresh"] = True
    return staff


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/pekerja/impor"), ("post", "/pekerja/impor"), ("get", "/pekerja/impor/templat.xlsx"),
     ("get", "/pekerja/impor/" + "a" * 32), ("post", "/pekerja/impor/" + "a" * 32), ("get", "/pekerja/ekspor")],
)
def test_signed_out_is_sent_to_sign_in(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def upload(client, data: bytes, filename: str, **kwargs):
    return client.post("/pekerja/impor", data={"berkas": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data", **kwargs)


def test_import_pages_from_upload_to_confirm(client, signed_in):
    page = client.get("/pekerja/impor")
    assert page.status_code == 200 and "/pekerja/impor/templat.xlsx" in page.get_data(as_text=True)
    template = client.get("/pekerja/impor/templat.csv")
    assert template.status_code == 200 and "attachment" in template.headers["Content-Disposition"]
    assert "Nama Lengkap" in template.get_data(as_text=True)

    rows = [person(1), person(2, birth_date="32-13-1980"), person(3)]
    response = upload(client, as_xlsx(rows), "daftar.xlsx")
    assert response.status_code == 303
    preview_url = response.headers["Location"]
    html = client.get(preview_url).get_data(as_text=True)
    assert "akan ditambah" in html and "ditolak" in html and "Tanggal lahir tidak dikenali" in html
    assert "Simpan 2 baris" in html and "Akan ditambah (2)" in html and "Akan diperbarui (0)" in html
    assert "Ditolak (1)" in html and "Semua (3)" in html
    assert count(Worker) == 0
    refused_only = client.get(preview_url + "?tampil=tolak").get_data(as_text=True)
    assert "Pekerja Impor 2" in refused_only and "Pekerja Impor 1<" not in refused_only

    done = client.post(preview_url)
    # Refused rows: back to the import page, with their spreadsheet to fix and import again.
    assert done.status_code == 303 and "/pekerja/impor?ditolak=" in done.headers["Location"]
    assert count(Worker) == 2
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "2 pekerja ditambahkan" in after and "Unduh baris yang ditolak (.xlsx)" in after
    again = client.get(preview_url)
    assert again.status_code == 303  # the preview is gone once imported


def test_preview_paging_plain_and_htmx(client, signed_in, monkeypatch):
    from kiosk.workers import imports as import_views

    monkeypatch.setattr(import_views, "PREVIEW_PAGE", 2)
    response = upload(client, as_csv([person(n) for n in range(5)]), "daftar.csv")
    url = response.headers["Location"]
    plain = client.get(url + "?hal=2")
    text = plain.get_data(as_text=True)
    assert "<html" in text and "Halaman 2 dari 3" in text and "Pekerja Impor 2" in text
    assert "Pekerja Impor 0<" not in text
    fragment = client.get(url + "?hal=3", headers={**HX, "HX-Target": "import-rows"})
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text and 'id="import-rows"' in text
    assert "Pekerja Impor 4" in text and "HX-Target" in fragment.headers["Vary"]
    boosted = client.get(url, headers={**HX, "HX-Boosted": "true", "HX-Target": "import-rows"})
    assert "<html" in boosted.get_data(as_text=True)


def test_upload_errors_are_answered_on_the_form(client, signed_in):
    junk = upload(client, b"\x89PNG\r\n\x1a\n" + b"\x00" * 300, "foto.xlsx")
    assert junk.status_code == 422 and "bukan lembar kerja" in junk.get_data(as_text=True)
    nothing = client.post("/pekerja/impor", data={}, content_type="multipart/form-data")
    assert nothing.status_code == 422 and "Pilih berkas" in nothing.get_data(as_text=True)
    assert client.get("/pekerja/impor/" + "b" * 32).status_code == 303


def test_an_upload_over_the_size_limit_is_refused_not_crashed(client, signed_in):
    body = b"x" * (client.application.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/pekerja/impor", data=body, content_type="multipart/form-data; boundary=batas")
    assert response.status_code == 413


def test_cancel_forgets_the_preview(client, signed_in):
    url = upload(client, as_csv([person(1)]), "daftar.csv").headers["Location"]
    assert client.post(url + "/batal").status_code == 303
    assert client.post(url).status_code == 303 and count(Worker) == 0


def test_export_holds_exactly_the_filtered_rows(client, signed_in):
    signed_in.role = "admin"  # full NIKs in bulk are an admin's (a petugas's are masked: test_downloads.py)
    db.session.commit()
    inside = [make_worker(kecamatan="160304", name=f"Orang Gunung Megang {n}") for n in range(3)]
    make_worker(kecamatan="160302", name="Orang Muara Enim")
    attacker = make_worker(kecamatan="160304", name="=HYPERLINK(\"http://x\")", address="@SUM(1)")
    chooser = client.get("/pekerja/ekspor?kecamatan=160304")
    assert chooser.status_code == 200 and "format=csv" in chooser.get_data(as_text=True)

    response = client.get("/pekerja/ekspor?format=xlsx&kecamatan=160304")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "NIK"
    assert sorted(r[0] for r in rows[1:]) == sorted(w.nik for w in inside + [attacker])
    assert all(isinstance(r[0], str) and len(r[0]) == 16 for r in rows[1:])  # full NIK, as text
    assert "'=HYPERLINK" in [r[1] for r in rows[1:]][[r[0] for r in rows[1:]].index(attacker.nik)]

    text_response = client.get("/pekerja/ekspor?format=csv&kecamatan=160304&q=Gunung")
    raw = text_response.data
    assert raw.startswith("\ufeff".encode()) and text_response.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert sorted(line[0] for line in lines[1:]) == sorted(w.nik for w in inside)
    everyone = client.get("/pekerja/ekspor?format=csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in everyone and "'@SUM(1)" in everyone and "Orang Muara Enim" in everyone


@pytest.mark.parametrize("tail", [b"\x00\xd8", b"\x41"], ids=["lone-surrogate", "odd-byte"])
def test_a_utf16_list_with_a_broken_unit_is_read_not_refused_with_an_error(tail):
    """Excel's "Unicode text" is UTF-16; one broken code unit (a lone surrogate, an odd last
    byte) was a UnicodeDecodeError, a 500. The rest of the file is read; that cell shows U+FFFD."""
    from kiosk.imports.reading import read_table

    data = b"\xff\xfe" + "nik;nama\n1603011203850012;Budi Santoso\n".encode("utf-16-le") + tail
    rows = read_table(data, "daftar.txt")
    assert rows[1][1][:2] == ["1603011203850012", "Budi Santoso"]
