"""The staff pages on the office's tablets (800×1280 portrait, 1024×768 landscape): the header,
the lists, the tap targets."""

from __future__ import annotations

import re

import pytest
from factories import make_staff

pytestmark = pytest.mark.browser

PORTRAIT = {"width": 800, "height": 1280}
LANDSCAPE = {"width": 1024, "height": 768}


@pytest.mark.parametrize("lang", ["id", "en"])
def test_menu_is_one_row_on_landscape_and_a_button_on_portrait(app, live_server, browser_factory, sign_in, lang):
    make_staff(role="admin", username="kepala")
    page = browser_factory(viewport=LANDSCAPE).new_page()
    sign_in(page, live_server.url, "kepala")
    if lang == "en":
        page.get_by_role("button", name="English").click()
        page.get_by_role("heading", name="Home").wait_for()
    page.goto(live_server.url + "/laporan/audit")  # a report page marks Laporan
    header = page.locator("header.topbar")
    row = page.get_by_role("navigation", name="Menu utama" if lang == "id" else "Main menu")
    links = row.get_by_role("link")
    assert links.count() == 6
    tops = {round(links.nth(i).bounding_box()["y"]) for i in range(6)}
    assert len(tops) == 1, "the menu wraps"
    assert header.bounding_box()["height"] <= 72
    assert row.locator('[aria-current="page"]').inner_text() == ("Laporan" if lang == "id" else "Reports")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")

    page.set_viewport_size(PORTRAIT)
    assert header.bounding_box()["height"] <= 72
    assert not page.locator(".mainnav-row").is_visible()
    menu = page.locator("details.navmenu > summary")
    assert menu.is_visible() and ("Laporan" if lang == "id" else "Reports") in menu.inner_text()
    panel = page.locator(".mainnav-panel")
    assert not panel.is_visible()
    menu.focus()
    page.keyboard.press("Enter")  # keyboard opens it
    assert panel.is_visible()
    assert panel.locator('[aria-current="page"]').count() == 1
    page.keyboard.press("Escape")  # and closes it, focus back on the button
    assert not panel.is_visible()
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    menu.click()
    panel.get_by_role("link", name="Pekerja" if lang == "id" else "Workers").click()
    page.get_by_role("heading", name="Pekerja" if lang == "id" else "Workers", exact=True).wait_for()
    assert not panel.is_visible()  # the new page starts with the menu closed
    assert "Pekerja" in menu.inner_text() or "Workers" in menu.inner_text()


def test_menu_opens_without_script(app, live_server, browser_factory, sign_in):
    make_staff(role="admin", username="kepala")
    page = browser_factory(viewport=PORTRAIT, java_script_enabled=False).new_page()
    page.goto(live_server.url + "/masuk")
    page.get_by_label("Nama pengguna").fill("kepala")
    page.get_by_label("Kata sandi").fill("rahasia-123")
    page.locator("main").get_by_role("button", name="Masuk").click()
    page.locator("details.navmenu > summary").click()
    page.locator(".mainnav-panel").get_by_role("link", name="Kartu").click()
    assert page.locator('.mainnav-panel [aria-current="page"]').text_content() == "Kartu"


def test_lists_become_cards_and_the_whole_row_is_the_target(app, live_server, browser_factory, sign_in):
    from factories import make_coverage, make_distribution, make_worker

    make_staff(role="admin", username="kepala")
    for i in range(3):
        make_coverage(make_worker(name=f"Pekerja Daftar {i}", kpj=f"2509876543{i}", income=2_509_000))
    make_distribution(name="Penyaluran Sembako Tahap I Kecamatan Tanjung Agung")
    page = browser_factory(viewport=PORTRAIT).new_page()
    sign_in(page, live_server.url, "kepala")
    for path in ("/pekerja/", "/penyaluran/"):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), path
        row = page.locator("table.rows tbody tr").first
        assert page.evaluate("r => getComputedStyle(r).display", row.element_handle()) == "grid"  # a card
        assert row.locator("td[data-label]").count() >= 3
    # money on the dashboard stays on one line
    page.goto(live_server.url + "/")
    money = page.locator('[data-figure="contribution"]')
    assert money.inner_text().startswith("Rp")
    box = money.bounding_box()
    assert box["height"] < 60 and page.evaluate("e => e.scrollWidth <= e.clientWidth + 1", money.element_handle())
    # a tap on the card's empty corner opens the worker
    page.goto(live_server.url + "/pekerja/")
    row = page.locator("table.rows tbody tr").filter(has_text="Pekerja Daftar 1")
    box = row.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 8, box["y"] + box["height"] - 8)
    page.get_by_role("heading", name="Pekerja Daftar 1").wait_for()
    assert "/pekerja/" in page.url and page.url.rstrip("/").split("/")[-1].isdigit()


def test_dates_are_day_month_year_in_an_english_browser(app, live_server, browser_factory, sign_in):
    from datetime import date

    from factories import make_worker
    from kiosk.extensions import db
    from kiosk.models import Distribution

    make_staff(role="admin", username="kepala")
    worker = make_worker(name="Lahir Maret", birth_date=date(1985, 3, 9))
    page = browser_factory(viewport=PORTRAIT, locale="en-US", timezone_id="America/New_York").new_page()
    sign_in(page, live_server.url, "kepala")
    page.goto(live_server.url + f"/pekerja/{worker.id}/ubah")
    born = page.locator("#f-birth_date")
    assert born.input_value() == "09/03/1985" and born.get_attribute("placeholder") == "hh/bb/tttt"
    assert page.evaluate("e => e.type", born.element_handle()) == "text"

    page.goto(live_server.url + "/penyaluran/baru")
    day = page.get_by_label("Tanggal", exact=True)
    calendar = page.get_by_role("button", name="Pilih tanggal dari kalender")
    assert calendar.is_visible()
    box = calendar.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    # typed in any of the usual ways, it is tidied to dd/mm/yyyy
    day.fill("1-12-2026")
    day.press("Tab")
    assert day.input_value() == "01/12/2026"
    # the calendar's choice (the browser's own picker, here chosen by script) lands as dd/mm/yyyy
    calendar.click()
    page.locator("[data-date-native]").first.evaluate(
        "e => { e.value = '2026-12-24'; e.dispatchEvent(new Event('change', {bubbles: true})); }")
    assert day.input_value() == "24/12/2026"
    page.get_by_label("Nama penyaluran").fill("Penyaluran Natal")
    page.get_by_label("Jumlah paket").fill("10")
    page.locator("main form").get_by_role("button", name=re.compile("Simpan|Buat")).first.click()
    page.wait_for_url(re.compile(r"/penyaluran/\d+"))
    db.session.commit()  # see what the server wrote
    made = db.session.scalar(db.select(Distribution).where(Distribution.name == "Penyaluran Natal"))
    assert made.day == date(2026, 12, 24)
    assert page.get_by_text("24 Desember 2026").first.is_visible()  # Indonesian month names in text


def test_file_fields_speak_the_page_language_in_an_english_browser(app, live_server, browser_factory, sign_in, tmp_path):
    make_staff(role="admin", username="kepala")
    page = browser_factory(viewport=PORTRAIT, locale="en-US").new_page()
    sign_in(page, live_server.url, "kepala")
    page.goto(live_server.url + "/pekerja/impor")
    assert page.evaluate("document.documentElement.lang") == "id"
    field = page.locator(".file-input")
    assert field.locator(".file-button").inner_text().strip() == "Pilih berkas"
    assert field.locator("[data-file-chosen]").inner_text() == "Belum ada berkas dipilih"
    box = field.locator(".file-button").bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    sheet = tmp_path / "daftar-pekerja.csv"
    sheet.write_text("NIK,Nama\n", encoding="utf-8")
    page.get_by_label("Berkas Excel (.xlsx) atau CSV").set_input_files(sheet)
    assert field.locator("[data-file-chosen]").inner_text() == "daftar-pekerja.csv"
