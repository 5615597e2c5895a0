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
