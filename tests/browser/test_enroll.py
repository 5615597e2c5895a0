"""The enroll form in a real headless Chromium: the live NIK check, the desa list that follows
the kecamatan, a photo from Chromium's fake camera, saving, and the worker page."""

from __future__ import annotations

import io
import sys
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from factories import make_staff, nik_for

sys.path.insert(0, str(Path(__file__).resolve().parent))
from y4m import png_to_y4m  # noqa: E402



pytestmark = pytest.mark.browser

BIRTH = date(1985, 7, 14)
ORANGE = (235, 120, 20)


def fake_face(path: Path) -> Path:
    """A camera frame: an orange "face" filling the middle of a green wall."""
    img = Image.new("RGB", (640, 480), (40, 150, 60))
    ImageDraw.Draw(img).rectangle((160, 40, 480, 440), fill=ORANGE)
    return png_to_y4m(img, path, scale=1.0)


def test_enroll_with_live_nik_check_and_camera_photo(app, live_server, browser_factory, sign_in, open_section, output_dir,
                                                     tmp_path):
    from kiosk.extensions import db
    from kiosk.models import Worker
    from kiosk.photos import load
    from kiosk.wilayah import desa_list, kecamatan_by_code

    context = browser_factory(y4m=fake_face(tmp_path / "face.y4m"), viewport={"width": 900, "height": 1100})
    page = context.new_page()
    problems = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    make_staff(role="admin", username="admin", password="kata-sandi-kuat")
    sign_in(page, live_server.url, "admin", "kata-sandi-kuat")

    open_section(page, "Pekerja")
    page.get_by_role("heading", name="Pekerja").wait_for()
    page.get_by_role("link", name="Daftarkan pekerja").first.click()
    page.get_by_role("heading", name="Daftarkan pekerja").wait_for()

    nik = page.get_by_label("NIK")
    nik.press_sequentially("1603021407")
    feedback = page.locator("#feedback-nik")
    feedback.get_by_text("NIK harus 16 angka").wait_for()
    page.screenshot(path=output_dir / "1-nik-too-short.png", full_page=True)

    nik.press_sequentially("850012")
    feedback.get_by_text("Sudah benar").wait_for()
    assert nik.evaluate("el => el === document.activeElement")  # the input kept the focus

    page.get_by_label("Nama lengkap").fill("Budi Santoso")
    page.get_by_label("Perempuan").check()
    page.get_by_label("Tanggal lahir").fill("14/07/1985")
    page.get_by_label("Tanggal lahir").press("Tab")  # a typed field is checked on leaving it too
    feedback.get_by_text("NIK ini milik laki-laki").wait_for()  # sex disagrees with the NIK
    page.screenshot(path=output_dir / "2-nik-disagrees.png", full_page=True)
    page.get_by_label("Laki-laki").check()
    feedback.get_by_text("Sudah benar").wait_for()

    page.get_by_label("Tempat lahir").fill("Muara Enim")
    kec = kecamatan_by_code("160302")
    desa = desa_list("160302")[1]
    page.get_by_label("Kecamatan").select_option(label=kec.name)
    page.locator("#f-desa option", has_text=desa.name).wait_for(state="attached")
    page.get_by_label("Desa / kelurahan").select_option(label=desa.name)
    page.get_by_label("Pekerjaan", exact=True).select_option("lainnya")
    page.get_by_label("Pekerjaan lainnya").fill("Pembuat tempe")
    page.get_by_label("Nomor HP").fill("0812-3456-7890")
    page.get_by_label("Penghasilan per bulan").fill("Rp2.000.000")
    page.locator("#contribution").get_by_text("Rp26.800").wait_for()  # JKK 20.000 + JKM 6.800

    page.get_by_role("button", name="Nyalakan kamera").click()
    video = page.locator("[data-camera-video]")
    video.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('[data-camera-video]').videoWidth > 0")
    page.screenshot(path=output_dir / "3-camera.png", full_page=True)
    page.get_by_role("button", name="Ambil foto").click()
    page.get_by_text("Foto diambil").wait_for()
    assert page.locator("[data-photo-preview]").is_visible()
    assert page.evaluate("() => document.querySelector('[data-photo-file]').files.length") == 1
    page.screenshot(path=output_dir / "4-form-filled.png", full_page=True)

    page.get_by_role("button", name="Daftarkan", exact=True).click()
    page.get_by_role("heading", name="Budi Santoso").wait_for()
    page.get_by_text("Budi Santoso sudah terdaftar.").wait_for()
    assert page.get_by_text(nik_for(BIRTH, "L", serial=12)[:4] + " 0214 0785 0012").is_visible()
    photo = page.locator("#photo-panel img[data-photo-preview]")
    page.wait_for_function("() => document.querySelector('#photo-panel img').naturalWidth > 0")
    assert photo.evaluate("img => img.naturalWidth") == 480
    page.locator("#coverage-panel .badge").first.wait_for()
    page.screenshot(path=output_dir / "5-worker-page.png", full_page=True)

    page.get_by_role("link", name="Daftar pekerja").click()
    page.get_by_label("Cari").press_sequentially("santo")
    results = page.locator("#worker-results")
    results.get_by_role("link", name="Budi Santoso").wait_for()
    assert "1603 •••• •••• 0012" in results.inner_text()  # the list masks the NIK
    page.get_by_label("Cari").fill("siapa-saja")
    results.get_by_text("Tidak ada pekerja yang cocok").wait_for()
    page.screenshot(path=output_dir / "6-search-nothing.png", full_page=True)
    page.get_by_label("Cari").fill("1603 0214")
    results.get_by_role("link", name="Budi Santoso").wait_for()
    page.screenshot(path=output_dir / "7-search-nik.png", full_page=True)

    page.get_by_role("link", name="Perpanjang massal").click()
    page.get_by_label("Perpanjang semua yang cakupannya berakhir sebelum").fill("01/01/2030")
    page.get_by_role("button", name="Lihat siapa saja").click()
    page.get_by_role("heading", name="1 pekerja akan diperpanjang").wait_for()
    page.screenshot(path=output_dir / "8-bulk-renewal-preview.png", full_page=True)

    with app.app_context():
        worker = db.session.query(Worker).one()
        assert worker.occupation == "Pembuat tempe"
        assert worker.desa_code == desa.code
        stored = load(worker.photo)
        assert stored is not None
        with Image.open(io.BytesIO(stored)) as img:
            centre = img.convert("RGB").getpixel((img.width // 2, img.height // 2))
    assert all(abs(a - b) < 40 for a, b in zip(centre, ORANGE)), centre  # the camera's frame
    assert not problems, problems


def test_form_agrees_with_itself_and_asks_about_a_probable_duplicate(app, live_server, browser_factory, sign_in, open_section,
                                                                    output_dir):
    """Issue 16: a field the NIK contradicts never says "Sudah benar" at the same moment; a NIK
    of another kecamatan warns; the same person enrolled under another NIK is shown, linked, and
    saving needs "orang berbeda" with a reason."""
    from factories import make_worker
    from kiosk.extensions import db
    from kiosk.models import DistinctPair, Worker

    with app.app_context():
        other = make_worker(name="Budi Santoso", birth_date=BIRTH, nik=nik_for(BIRTH, "L", serial=12))
        other_id = other.id
    page = browser_factory(viewport={"width": 900, "height": 1100}).new_page()
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    with app.app_context():
        make_staff(role="admin", username="admin", password="kata-sandi-kuat")
    sign_in(page, live_server.url, "admin", "kata-sandi-kuat")
    open_section(page, "Pekerja")
    page.get_by_role("link", name="Daftarkan pekerja").first.click()
    page.get_by_role("heading", name="Daftarkan pekerja").wait_for()

    page.get_by_label("NIK").press_sequentially(nik_for(BIRTH, "L", serial=10))  # Excel cut 0012 to 0010
    page.locator("#feedback-nik").get_by_text("Sudah benar").wait_for()
    page.get_by_label("Nama lengkap").fill("BUDI SANTOSO")
    page.get_by_label("Perempuan").check()
    page.get_by_label("Tanggal lahir").fill("15/07/1985")
    page.get_by_label("Tanggal lahir").press("Tab")  # a typed field is checked on leaving it too
    birth, sex = page.locator("#feedback-birth_date"), page.locator("#feedback-sex")
    birth.get_by_text("Tidak sama dengan tanggal lahir di NIK (14-07-1985)").wait_for()
    sex.get_by_text("NIK ini milik laki-laki").wait_for()
    page.locator("#feedback-nik").get_by_text("tidak sama dengan tanggal lahir").wait_for()
    assert "Sudah benar" not in birth.inner_text() and "Sudah benar" not in sex.inner_text()
    page.screenshot(path=output_dir / "agree-1-contradicted.png", full_page=True)

    page.get_by_label("Laki-laki").check()
    page.get_by_label("Tanggal lahir").fill("14/07/1985")
    page.get_by_label("Tanggal lahir").press("Tab")  # a typed field is checked on leaving it too
    birth.get_by_text("Sudah benar").wait_for()
    sex.get_by_text("Sudah benar").wait_for()
    panel = page.locator("#probable-duplicates")
    panel.get_by_text("Mungkin orang yang sama").wait_for()
    assert panel.get_by_role("link", name="Buka data Budi Santoso").get_attribute("href") == f"/pekerja/{other_id}"

    page.get_by_label("Kecamatan").select_option(label="Lawang Kidul")
    page.locator("#feedback-kecamatan").get_by_text("diterbitkan di Kecamatan Muara Enim").wait_for()
    page.get_by_label("Kecamatan").select_option(label="Muara Enim")
    page.locator("#f-desa option", has_text="Pasar I Muara Enim").wait_for(state="attached")
    page.get_by_label("Desa / kelurahan").select_option(label="Pasar I Muara Enim")
    page.get_by_label("Pekerjaan", exact=True).select_option("Petani")
    page.get_by_label("Penghasilan per bulan").fill("Rp1.000.000")
    page.get_by_label("Daftarkan periode cakupan sekarang").uncheck()
    page.get_by_role("button", name="Daftarkan", exact=True).click()
    page.get_by_text("Periksa dulu kemungkinan data ganda").wait_for()
    page.screenshot(path=output_dir / "agree-2-probable-duplicate.png", full_page=True)

    page.get_by_label("Sudah saya periksa: ini orang berbeda").check()
    page.get_by_label("Alasan").fill("Kembar, KTP dicek")
    page.get_by_role("button", name="Daftarkan", exact=True).click()
    page.get_by_text("BUDI SANTOSO sudah terdaftar.").wait_for()
    with app.app_context():
        assert db.session.query(Worker).count() == 2
        assert db.session.query(DistinctPair).one().reason == "Kembar, KTP dicek"
    assert not problems, problems
