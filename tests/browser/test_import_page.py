"""The workers import in Chromium: upload, preview page, confirm."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from factories import make_staff
from import_files import as_xlsx, person
from kiosk.extensions import db
from kiosk.models import Worker

pytestmark = pytest.mark.browser


def workers() -> int:
    db.session.rollback()  # end this thread's read snapshot: see what the server wrote
    return db.session.scalar(select(func.count()).select_from(Worker))


def test_import_in_chromium_upload_preview_page_and_confirm(app, live_server, browser_factory, sign_in, output_dir, tmp_path):
    make_staff(role="admin", username="admin", password="kata-sandi-kuat")
    rows = [person(n, sex="LP"[n % 2]) for n in range(1, 4)] + [person(9, kecamatan="Atlantis")]
    path = tmp_path / "daftar pekerja.xlsx"
    path.write_bytes(as_xlsx(rows, above=[["DAFTAR CALON PESERTA BPU"], []]))
    context = browser_factory(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server.url, "admin", "kata-sandi-kuat")
    page.goto(live_server.url + "/pekerja/")
    page.get_by_role("link", name="Impor").click()
    page.get_by_role("heading", name="Impor pekerja dari Excel atau CSV").wait_for()
    page.screenshot(path=str(output_dir / "1-form.png"), full_page=True)
    page.get_by_label("Berkas Excel (.xlsx) atau CSV").set_input_files(str(path))
    page.get_by_role("button", name="Lihat pratinjau").click()
    page.get_by_role("heading", name="Pratinjau impor: daftar pekerja.xlsx").wait_for()
    assert page.get_by_text("Atlantis").count() >= 1
    page.screenshot(path=str(output_dir / "2-preview.png"), full_page=True)
    assert workers() == 0
    page.get_by_role("button", name="Simpan 3 baris").click()
    page.get_by_text("3 pekerja ditambahkan").wait_for()
    page.screenshot(path=str(output_dir / "3-done.png"), full_page=True)
    assert workers() == 3 and not problems


def test_office_list_in_chromium_columns_duplicate_and_refused_rows(app, live_server, browser_factory, sign_in,
                                                                    output_dir, tmp_path):
    """Issue 16 in a real browser: a village list with column names the app does not know is
    mapped by the clerk, a probable duplicate is confirmed "orang berbeda", the refused rows
    are downloaded as XLSX with their reasons, and nothing is written before Simpan."""
    import csv
    import io
    from datetime import date

    from openpyxl import load_workbook

    from factories import make_worker, nik_for
    from kiosk.models import DistinctPair

    make_staff(role="admin", username="admin", password="kata-sandi-kuat")
    birth = date(1985, 7, 14)
    make_worker(name="Budi Santoso", birth_date=birth, nik=nik_for(birth, "L", serial=12),
                desa_code="1603021009", desa_name="Pasar I Muara Enim")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Urut", "No. Induk", "Nama Anggota", "Kelamin", "Lahir Tgl", "Kampung", "Usaha"])
    writer.writerow(["1", nik_for(birth, "L", serial=10), "Budi Santoso", "L", "14/07/1985", "Ds. Pasar 1", "Petani"])
    writer.writerow(["2", nik_for(date(1990, 1, 2), "P", serial=3), "Ani", "P", "02/01/1990", "Pasar II", "Pedagang"])
    writer.writerow(["3", nik_for(date(1991, 3, 4), "L", serial=4), "Dedi", "L", "04/03/1991", "Pasar", "Petani"])
    path = tmp_path / "daftar desa.csv"
    path.write_bytes(out.getvalue().encode("cp1252"))

    page = browser_factory(viewport={"width": 1100, "height": 900}, accept_downloads=True).new_page()
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server.url, "admin", "kata-sandi-kuat")
    page.get_by_role("link", name="Pekerja").first.click()
    page.get_by_role("link", name="Impor").click()
    page.get_by_label("Berkas Excel (.xlsx) atau CSV").set_input_files(str(path))
    page.get_by_role("button", name="Lihat pratinjau").click()

    page.get_by_role("heading", name="Atur kolom: daftar desa.csv").wait_for()
    for label, field in (("No. Induk", "NIK"), ("Nama Anggota", "Nama Lengkap"), ("Kelamin", "Jenis Kelamin"),
                         ("Lahir Tgl", "Tanggal Lahir"), ("Kampung", "Desa/Kelurahan"), ("Usaha", "Pekerjaan")):
        page.get_by_label(label, exact=True).select_option(label=field)
    page.screenshot(path=str(output_dir / "office-1-columns.png"), full_page=True)
    page.get_by_role("button", name="Lihat pratinjau").click()

    page.get_by_role("heading", name="Pratinjau impor: daftar desa.csv").wait_for()
    page.get_by_text("1 baris mungkin orang yang sudah ada").wait_for()
    page.get_by_text("1 baris tanpa penghasilan").wait_for()
    page.screenshot(path=str(output_dir / "office-2-preview.png"), full_page=True)
    row = page.locator("#baris-2")
    assert row.get_by_role("link", name="Buka data Budi Santoso").count() == 1
    row.get_by_label("Alasan orang berbeda").fill("Orang lain, KTP dicek")
    row.get_by_role("button", name="Orang berbeda").click()
    page.get_by_text("dicatat sebagai orang berbeda").wait_for()

    with page.expect_download() as download:
        page.get_by_role("link", name="Unduh 1 baris yang ditolak (.xlsx)").click()
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert values[0][-1] == "Alasan" and values[1][2] == "Dedi" and "Pasar I Muara Enim" in values[1][-1]
    assert workers() == 1

    page.get_by_role("button", name="Simpan 2 baris").click()
    page.get_by_text("2 pekerja ditambahkan").wait_for()
    page.screenshot(path=str(output_dir / "office-3-done.png"), full_page=True)
    assert workers() == 3 and db.session.scalar(select(func.count()).select_from(DistinctPair)) == 1
    assert not problems, problems
