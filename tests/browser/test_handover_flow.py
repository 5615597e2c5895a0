"""Distribution day in real Chromium: three workers press AMBIL at a collect kiosk; at the desk
the clerk finds each in the handover queue — by scanning the card again (fake camera), by
package number, by name — and hands the package over once. The live page counts claimed,
handed over and left. Screenshots of each desk state in landscape and portrait."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from factories import make_distribution, make_staff
from kiosk import card_registry
from kiosk.cards import card_png
from kiosk.coverage import today_jakarta
from kiosk.extensions import db
from kiosk.models import Collection
from test_desk_card_refused import IN_VIEW
from test_kiosk import LANDSCAPE, PORTRAIT, enrolled_worker, open_kiosk, scan_by_keyboard, wait_state
from y4m import png_to_y4m

pytestmark = pytest.mark.browser

PASSWORD = "rahasia-123"
WAIT_MS = 20_000


@pytest.fixture
def app_config():
    return {"KIOSK_RESULT_SECONDS": 30}


def claim_at_kiosk(page, token: str) -> str:
    """Scan a card at the kiosk, press AMBIL, return the package number shown."""
    scan_by_keyboard(page, token)
    wait_state(page, "result")
    page.click(".k-button-take")
    wait_state(page, "collected")
    number = page.inner_text(".k-seq")
    page.click(".k-button-done")
    page.wait_for_selector("#scan-result[data-state=welcome]")
    return number


def hand_over_shown(desk, seq: int) -> None:
    """Tap "Serahkan paket nomor N" and wait for the answer."""
    desk.get_by_role("button", name=f"Serahkan paket nomor {seq}").click()
    desk.locator('#desk-result[data-outcome="handed_over"]').wait_for(timeout=WAIT_MS)


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT], ids=["1280x800", "800x1280"])
def test_claim_at_the_kiosk_hand_over_at_the_desk(app, live_server, browser_factory, sign_in, output_dir, tmp_path, viewport):
    size = f"{viewport['width']}x{viewport['height']}"
    distribution = make_distribution(packages=50, day=today_jakarta(), name="Penyaluran Sembako Tahap I")
    people = [enrolled_worker(name) for name in ("Siti Aminah", "Budi Santoso", "Rahmat Hidayat")]
    clerk = make_staff(role="petugas", password=PASSWORD, full_name="Ani Petugas")
    make_staff(role="admin")
    siti, siti_card, _siti_token = people[0]
    frame = Image.open(io.BytesIO(card_png(card_registry.card_face(siti_card))))
    camera = png_to_y4m(frame, tmp_path / "siti.y4m", scale=0.8)

    kiosk, _device = open_kiosk(browser_factory, live_server, camera=False, mode="collect", distribution=distribution)
    assert [claim_at_kiosk(kiosk, token) for _w, _c, token in people] == ["1", "2", "3"]

    # The desk: the camera holds Siti's card up; the other two are found in the queue.
    context = browser_factory(y4m=camera, viewport=viewport)
    desk = context.new_page()
    sign_in(desk, live_server.url, clerk.username, PASSWORD)
    desk.goto(f"{live_server.url}/penyaluran/{distribution.id}/meja")
    queue = desk.locator("#desk-queue")
    assert [queue.locator(".queue-item").nth(i).get_attribute("data-seq") for i in range(3)] == ["1", "2", "3"]

    # 1. By scanning the card again (the fake camera shows it).
    waiting = desk.locator('#desk-result[data-outcome="waiting"]')
    waiting.wait_for(timeout=WAIT_MS)
    assert "Siti Aminah" in waiting.inner_text() and "Dengan kartu" in waiting.inner_text()
    # The answer and its action on the screen without scrolling, the portrait tablet too.
    assert desk.get_by_role("button", name="Serahkan paket nomor 1").evaluate(IN_VIEW)
    desk.screenshot(path=output_dir / f"1-rescan-waiting-{size}.png")
    hand_over_shown(desk, 1)
    desk.screenshot(path=output_dir / f"2-handed-over-{size}.png")
    desk.wait_for_function("() => !document.querySelector('#desk-queue [data-seq=\"1\"]')", timeout=WAIT_MS)

    # 2. By number.
    desk.fill("#queue-q", "2")
    desk.wait_for_function("() => document.querySelectorAll('#desk-queue .queue-item').length === 1", timeout=WAIT_MS)
    desk.screenshot(path=output_dir / f"3-queue-number-{size}.png")
    desk.locator('#desk-queue .queue-item[data-seq="2"]').click()
    desk.locator('#desk-result[data-outcome="waiting"]:has-text("Budi Santoso")').wait_for(timeout=WAIT_MS)
    hand_over_shown(desk, 2)

    # 3. By name.
    desk.fill("#queue-q", "rahmat")
    desk.locator('#desk-queue .queue-item[data-seq="3"]').click()
    desk.locator('#desk-result[data-outcome="waiting"]:has-text("Rahmat Hidayat")').wait_for(timeout=WAIT_MS)
    desk.screenshot(path=output_dir / f"4-found-by-name-{size}.png")
    hand_over_shown(desk, 3)
    desk.fill("#queue-q", "")
    desk.locator("#desk-queue .queue-empty").wait_for(timeout=WAIT_MS)
    desk.wait_for_function(
        "() => document.querySelector('#desk-counter').innerText.includes('3 dari 50 paket diserahkan')", timeout=WAIT_MS)
    desk.screenshot(path=output_dir / f"5-queue-empty-{size}.png")

    # A second tap from another desk is told who was first.
    with app.app_context():
        rows = db.session.query(Collection).order_by(Collection.seq).all()
        assert [(r.seq, r.handed_over_by_id) for r in rows] == [(1, clerk.id), (2, clerk.id), (3, clerk.id)]
        db.session.remove()

    live = context.new_page()
    live.goto(f"{live_server.url}/penyaluran/{distribution.id}")
    assert live.locator('[data-figure="claimed"]').inner_text() == "3"
    assert live.locator('[data-figure="given"]').inner_text() == "3"
    assert live.locator('[data-figure="left"]').inner_text() == "47"
    live.screenshot(path=output_dir / f"6-live-{size}.png", full_page=True)
