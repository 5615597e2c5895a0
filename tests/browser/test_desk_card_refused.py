"""A card the kiosk refuses, at the desk, in real Chromium: the desk is where such cards end up,
so it never says "ask the officer". A revoked card shows whose it was — photo, the full NIK for
staff to confirm the person — and the desk's own action (hand over without a card, the reason
filled in); a card the desk cannot read at all offers the search by name or NIK right in the
answer. On a portrait tablet (800 x 1280) and at 1280 x 800 the answer and its action are on the
screen without scrolling. Screenshots of each state in both orientations."""

from __future__ import annotations

import pytest

from factories import make_distribution, make_staff
from kiosk import card_registry
from kiosk.coverage import today_jakarta
from kiosk.extensions import db
from kiosk.models import Collection
from kiosk.nik import format_nik
from test_desk import enrolled
from test_kiosk import LANDSCAPE, PORTRAIT

pytestmark = pytest.mark.browser

PASSWORD = "rahasia-123"
WAIT_MS = 20_000

IN_VIEW = """el => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
    && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
}"""


def scan(page, code: str) -> None:
    """A USB scanner: keys into the focused scan input, then Enter."""
    page.wait_for_function("() => document.activeElement?.matches('[data-scan-input]')")
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def assert_in_view(locator, what: str) -> None:
    assert locator.evaluate(IN_VIEW), f"{what} is not on the screen without scrolling: {locator.bounding_box()}"


@pytest.mark.parametrize("viewport", [PORTRAIT, LANDSCAPE], ids=["800x1280", "1280x800"])
def test_a_refused_card_at_the_desk_offers_the_desks_own_actions(app, live_server, browser_factory, sign_in,
                                                                   output_dir, viewport):
    size = f"{viewport['width']}x{viewport['height']}"
    clerk = make_staff(role="petugas", password=PASSWORD)
    make_staff(role="admin")
    distribution = make_distribution(packages=5, day=today_jakarta(), name="Penyaluran Sembako Tahap I")
    siti, old_card, old_token = enrolled("Siti Aminah")
    card_registry.revoke(old_card, staff=None, reason="kartu hilang, diganti")
    budi, _card, _token = enrolled("Budi Santoso")
    siti_id, siti_nik, budi_nik = siti.id, siti.nik, budi.nik
    distribution_id, username = distribution.id, clerk.username
    db.session.remove()

    page = browser_factory(viewport=viewport).new_page()
    sign_in(page, live_server.url, username, PASSWORD)
    page.goto(f"{live_server.url}/penyaluran/{distribution_id}/meja")

    # 1. A revoked card: whose it was, with the full NIK, and the hand-over without a card.
    scan(page, old_token)
    result = page.locator('#desk-result[data-outcome="eligible"]')
    result.wait_for(timeout=WAIT_MS)
    text = result.inner_text()
    assert "Siti Aminah" in text and format_nik(siti_nik) in text and "sudah dicabut" in text
    assert "petugas" not in text.lower().replace("tanpa kartu: petugas yang memastikan orangnya", "")
    assert page.input_value("#no_card_reason") == "kartu sudah dicabut"
    button = page.get_by_role("button", name="Serahkan paket", exact=True)
    assert_in_view(button, "Serahkan paket")
    assert_in_view(page.locator("#desk-result .person-nik"), "the NIK")
    page.screenshot(path=output_dir / f"1-revoked-card-{size}.png")
    button.click()
    page.locator('#desk-result[data-outcome="collected"]').wait_for(timeout=WAIT_MS)
    page.screenshot(path=output_dir / f"2-handed-over-without-card-{size}.png")

    # 2. A card the desk cannot read at all: the search by name or NIK is in the answer itself.
    scan(page, "KXYZ")
    refused = page.locator('#desk-result[data-outcome="malformed"]')
    refused.wait_for(timeout=WAIT_MS)
    assert "Tanya petugas" not in refused.inner_text() and "ke petugas" not in refused.inner_text()
    search = page.locator("#desk-result input[type=search]")
    assert_in_view(search, "the search in the answer")
    page.screenshot(path=output_dir / f"3-unreadable-card-{size}.png")
    search.click()
    page.keyboard.type(budi_nik[:10])
    page.keyboard.press("Enter")
    pick = page.locator("#desk-result .pick", has_text="Budi Santoso")
    pick.wait_for(timeout=WAIT_MS)
    assert format_nik(budi_nik) in pick.inner_text()
    assert_in_view(pick, "the person found")
    page.screenshot(path=output_dir / f"4-found-by-nik-{size}.png")
    pick.click()
    page.locator('#desk-result[data-outcome="eligible"]:has-text("Budi Santoso")').wait_for(timeout=WAIT_MS)
    assert_in_view(page.get_by_role("button", name="Serahkan paket", exact=True), "Serahkan paket")
    page.screenshot(path=output_dir / f"5-without-card-{size}.png")

    with app.app_context():
        row = db.session.query(Collection).filter_by(worker_id=siti_id).one()
        assert row.card_id is None and row.no_card_reason == "kartu sudah dicabut" and row.handed_over_at is not None
        db.session.remove()
