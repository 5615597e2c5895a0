"""The staff pages on the office's tablets (800×1280 portrait, 1024×768 landscape): the header,
the lists, the tap targets."""

from __future__ import annotations

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
