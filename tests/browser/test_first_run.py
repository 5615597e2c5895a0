"""First run in a real headless Chromium: setup with the console code, sign in, staff home."""

import pytest

pytestmark = pytest.mark.browser


def test_setup_sign_in_and_home(app, live_server, browser_factory, output_dir):
    context = browser_factory()
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(f"{msg.text} @ {msg.location}") if msg.type == "error" else None)

    page.goto(live_server.url + "/")
    assert page.url.endswith("/setup")
    page.screenshot(path=output_dir / "setup.png", full_page=True)
    from kiosk.auth import setup

    code = setup.new_code()  # as `flask --app kiosk setup-code` prints it

    page.get_by_label("Kode penyiapan").fill("salah-salah")
    page.get_by_label("Nama pengguna admin").fill("admin")
    page.get_by_label("Nama lengkap").fill("Ibu Kepala Dinas")
    page.get_by_label("Kata sandi", exact=True).fill("kata-sandi-kuat")
    page.get_by_label("Ulangi kata sandi").fill("kata-sandi-kuat")
    page.get_by_role("button", name="Buat admin").click()
    page.get_by_text("Kode penyiapan salah atau sudah dipakai").wait_for()

    page.get_by_label("Kode penyiapan").fill(code)
    page.get_by_label("Kata sandi", exact=True).fill("kata-sandi-kuat")
    page.get_by_label("Ulangi kata sandi").fill("kata-sandi-kuat")
    page.get_by_role("button", name="Buat admin").click()
    page.get_by_role("heading", name="Beranda").wait_for()

    page.get_by_role("button", name="Keluar").click()
    page.get_by_role("heading", name="Masuk petugas").wait_for()
    page.get_by_label("Nama pengguna").fill("admin")
    page.get_by_label("Kata sandi").fill("salah")
    page.get_by_role("button", name="Masuk").click()
    page.get_by_text("Nama pengguna atau kata sandi salah").wait_for()
    page.get_by_label("Kata sandi").fill("kata-sandi-kuat")
    page.get_by_role("button", name="Masuk").click()
    page.get_by_role("heading", name="Beranda").wait_for()
    page.screenshot(path=output_dir / "home.png", full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e], errors
