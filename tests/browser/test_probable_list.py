"""The registry's list of probable duplicates in Chromium at 800 px: found from the workers
page, nothing wider than the window, both workers linked, "orang berbeda" with a reason."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from factories import make_staff, make_worker, nik_for
from kiosk.extensions import db
from kiosk.models import AuditEvent, DistinctPair

pytestmark = pytest.mark.browser

BIRTH = date(1985, 7, 14)
LONG_DESA = "Pasar I Muara Enim"


def enrolled(name: str, serial: int, birth=BIRTH, desa="1603021009", sex="L"):
    return make_worker(name=name, birth_date=birth, sex=sex, nik=nik_for(birth, sex, "160302", serial=serial),
                       desa_code=desa, desa_name=LONG_DESA)


def no_wider_than_the_window(page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width


def test_probable_list_at_800_px_links_both_and_confirms_orang_berbeda(app, live_server, browser_factory, sign_in,
                                                                        output_dir):
    make_staff(role="admin")  # setup is closed once an admin exists
    make_staff(role="petugas", username="petugas", password="kata-sandi-kuat")
    a = enrolled("Hj. Siti Noerhajati Binti Muhammad Abdurrahman", 12, sex="P")
    b = enrolled("SITI NURHAYATI BINTI MUHAMMAD ABDURRAHMAN", 510, sex="P")  # name and birth date
    c = enrolled("Rahmat Hidayat", 20, birth=date(1990, 5, 5))
    d = enrolled("Rahmad Hidayad", 21, birth=date(1990, 5, 5))  # NIK stem, birth date and desa
    page = browser_factory(viewport={"width": 800, "height": 900}).new_page()
    problems = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    sign_in(page, live_server.url, "petugas", "kata-sandi-kuat")
    page.goto(live_server.url + "/pekerja/")
    page.get_by_role("link", name="Kemungkinan data ganda").click()
    page.get_by_role("heading", name="Kemungkinan data ganda").wait_for()
    page.get_by_text("2 pasangan perlu diperiksa.").wait_for()
    page.screenshot(path=str(output_dir / "1-list-800px.png"), full_page=True)
    no_wider_than_the_window(page)
    for worker in (a, b, c, d):
        link = page.locator(f'a[href="/pekerja/{worker.id}"]')
        assert link.count() == 1 and link.is_visible()
    for button in page.get_by_role("button", name="Orang berbeda").all():
        box = button.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 800, box

    row = page.locator("tr", has=page.locator(f'a[href="/pekerja/{c.id}"]'))
    row.get_by_role("button", name="Orang berbeda").click()
    page.get_by_role("alert").filter(has_text="Tulis alasannya").wait_for()  # a reason is needed
    no_wider_than_the_window(page)
    page.get_by_label("Alasan").fill("Sudah dicek di KTP, orangnya lain")
    page.get_by_role("button", name="Orang berbeda").click()
    page.get_by_text("Dicatat: Rahmat Hidayat dan Rahmad Hidayad orang berbeda.").wait_for()
    page.get_by_text("1 pasangan perlu diperiksa.").wait_for()
    assert page.locator(f'a[href="/pekerja/{c.id}"]').count() == 0
    page.screenshot(path=str(output_dir / "2-after-orang-berbeda.png"), full_page=True)
    db.session.rollback()  # see what the server wrote
    pair = db.session.scalar(select(DistinctPair))
    assert (pair.worker_id, pair.other_id, pair.reason) == (c.id, d.id, "Sudah dicek di KTP, orangnya lain")
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.entity_type == "distinct_pair")) == 1

    page.locator(f'a[href="/pekerja/{a.id}"]').click()
    page.get_by_role("heading", name=a.name).wait_for()
    no_wider_than_the_window(page)
    assert not problems
