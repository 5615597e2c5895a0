"""The pickup desk in real headless Chromium: a real card (rendered by the app) in front of the
fake camera, "Serahkan paket", confirm, the count goes up; the same card again (USB scanner
path) says "Sudah diambil" with the time. Also the live page updating by itself.

``browser_factory`` fails the test on any request that leaves 127.0.0.1.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image, ImageDraw

from factories import make_card, make_coverage, make_distribution, make_staff, make_worker
from kiosk import card_registry
from kiosk import distribution as dist
from kiosk.cards import card_png
from kiosk.coverage import today_jakarta
from kiosk.extensions import db
from kiosk.models import Collection
from y4m import png_to_y4m

pytestmark = pytest.mark.browser

PASSWORD = "rahasia-123"
WAIT_MS = 20_000


def portrait() -> bytes:
    img = Image.new("RGB", (480, 600), (176, 200, 190))
    draw = ImageDraw.Draw(img)
    draw.ellipse((150, 110, 330, 320), fill=(190, 140, 110))
    draw.ellipse((70, 340, 410, 760), fill=(120, 40, 60))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def enrolled(name: str):
    from kiosk.photos import store

    today = today_jakarta()
    worker = make_worker(name=name, sex="P")
    worker.photo = store(portrait())
    worker.phone = "081234567890"
    db.session.commit()
    make_coverage(worker, start=today - timedelta(days=10), end=today + timedelta(days=80))
    card, token = make_card(worker)
    return worker, card, token


def test_scan_confirm_and_scan_again(app, live_server, browser_factory, sign_in, output_dir, tmp_path):
    staff = make_staff(role="petugas", password=PASSWORD)
    make_staff(role="admin")
    distribution = make_distribution(packages=5, day=today_jakarta(), name="Penyaluran Sembako Tahap I")
    worker, card, token = enrolled("Siti Aminah")
    frame = Image.open(io.BytesIO(card_png(card_registry.card_face(card))))
    camera = png_to_y4m(frame, tmp_path / "card.y4m", scale=0.8)
    distribution_id, worker_id, username = distribution.id, worker.id, staff.username
    db.session.remove()

    context = browser_factory(y4m=camera)
    page = context.new_page()
    sign_in(page, live_server.url, username, PASSWORD)
    # The way staff get there: the menu and the distribution (boosted), then the desk.
    page.locator(".mainnav").get_by_role("link", name="Penyaluran").click()
    page.get_by_role("link", name="Penyaluran Sembako Tahap I").click()
    # The list has a "Meja pengambilan" link of its own: the distribution's page must be the one
    # shown before its link is clicked (a slow boosted swap let the list's be clicked, and the
    # swap then ended where the desk's navigation had begun).
    page.wait_for_url(f"**/penyaluran/{distribution_id}")
    page.get_by_role("link", name="Meja pengambilan").click()
    page.wait_for_url(f"**/penyaluran/{distribution_id}/meja")
    counter = page.locator("#desk-counter")
    assert "0 dari 5 paket diserahkan" in counter.inner_text()

    # The camera reads the card by itself: the worker, her photo, and the button.
    result = page.locator('#desk-result[data-outcome="eligible"]')
    result.wait_for(timeout=WAIT_MS)
    assert "Siti Aminah" in result.inner_text() and "Dengan kartu" in result.inner_text()
    photo = page.locator("#desk-result img.person-photo")
    assert photo.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=str(output_dir / "1-serahkan-paket.png"))

    page.get_by_role("button", name="Serahkan paket").click()
    done = page.locator('#desk-result[data-outcome="collected"]')
    done.wait_for(timeout=WAIT_MS)
    assert "Paket ke-1 dari 5" in done.inner_text()
    page.wait_for_function(
        "() => document.querySelector('#desk-counter').innerText.includes('1 dari 5 paket diserahkan')",
        timeout=WAIT_MS,
    )
    page.screenshot(path=str(output_dir / "2-paket-ke-1.png"))

    # The same card again, from the USB scanner (a keyboard typing the token and Enter).
    page.fill("[data-scan-input]", token)
    page.press("[data-scan-input]", "Enter")
    again = page.locator('#desk-result[data-outcome="already_collected"]')
    again.wait_for(timeout=WAIT_MS)
    text = again.inner_text()
    assert re.search(r"Sudah diambil pada \d{1,2} \w+ \d{4} \d{2}\.\d{2} di Meja petugas", text), text
    page.screenshot(path=str(output_dir / "3-sudah-diambil.png"))

    with app.app_context():
        rows = db.session.query(Collection).all()
        assert [(r.worker_id, r.seq, r.card_id is not None) for r in rows] == [(worker_id, 1, True)]
        db.session.remove()


def test_lost_card_and_live_page(app, live_server, browser_factory, sign_in, output_dir):
    admin = make_staff(role="admin", password=PASSWORD)
    distribution = make_distribution(packages=3, day=today_jakarta())
    worker, _card, _token = enrolled("Rahmat Hidayat")
    other, _c, _t = enrolled("Nur Aini")
    distribution_id, other_id, username = distribution.id, other.id, admin.username
    db.session.remove()

    context = browser_factory()  # no camera needed
    desk = context.new_page()
    sign_in(desk, live_server.url, username, PASSWORD)
    live = context.new_page()
    live.goto(f"{live_server.url}/penyaluran/{distribution_id}")
    assert live.locator('[data-figure="given"]').inner_text() == "0"

    desk.goto(f"{live_server.url}/penyaluran/{distribution_id}/meja")
    desk.fill("#desk-q", "rahmat")
    desk.press("#desk-q", "Enter")
    desk.get_by_role("link", name=re.compile("Rahmat Hidayat")).click()
    desk.locator('#desk-result[data-outcome="eligible"]').wait_for(timeout=WAIT_MS)
    assert "Tanpa kartu" in desk.locator("#desk-result").inner_text()
    desk.get_by_text("Diwakilkan keluarga?").click()
    desk.fill("#proxy_name", "Wati")
    desk.fill("#proxy_relation", "istri")
    desk.get_by_role("button", name="Serahkan paket").click()
    desk.locator('#desk-result[data-outcome="collected"]').wait_for(timeout=WAIT_MS)
    assert "Diwakilkan: Wati (istri)" in desk.locator("#desk-result").inner_text()
    desk.screenshot(path=str(output_dir / "1-tanpa-kartu.png"))

    # The live page polls by itself: the new collection appears without a reload.
    live.wait_for_function(
        "() => document.querySelector('[data-figure=\"given\"]').innerText.trim() === '1'", timeout=WAIT_MS
    )
    assert "Rahmat Hidayat" in live.locator("#distribution-live").inner_text()
    live.screenshot(path=str(output_dir / "2-live.png"), full_page=True)

    with app.app_context():
        assert dist.claim(distribution_id, other_id, request_id="kiosk-1", station="Kiosk Aula 1").collected
        db.session.remove()
    # A kiosk claim: claimed 2, handed over still 1 (the desk has not handed it over).
    live.wait_for_function(
        "() => document.querySelector('[data-figure=\"claimed\"]').innerText.trim() === '2'", timeout=WAIT_MS
    )
    assert live.locator('[data-figure="given"]').inner_text() == "1"
    assert live.locator('[data-figure="waiting-handover"]').inner_text() == "1"
    assert "Kiosk Aula 1" in live.locator("#distribution-live").inner_text()
