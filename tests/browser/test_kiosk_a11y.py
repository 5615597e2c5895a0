"""Accessibility of every kiosk screen in real Chromium: axe-core (vendored in tests/vendor) finds
no WCAG 2.2 A/AA violation, and every touch target is at least 48 x 48 CSS px — in landscape
(1280x800) and on a portrait tablet (800x1280), in Bahasa Indonesia and in English."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from factories import make_distribution
from kiosk.coverage import today_jakarta
from kiosk.terminal import pairing
from test_kiosk import LANDSCAPE, PORTRAIT, assert_fits, enrolled_worker, scan_by_keyboard, tap_digits

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core-4.14.1.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
MIN_TARGET = 48
EXIT_PIN = "13579"

TARGETS_JS = """
() => [...document.querySelectorAll('button, a[href], input:not([type=hidden]), select, textarea, [role=button]')]
  .filter(el => !el.classList.contains('k-scan-input'))
  .filter(el => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
                  return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 0 && r.height > 0; })
  .map(el => { const r = el.getBoundingClientRect();
               return {what: el.outerHTML.slice(0, 90), width: r.width, height: r.height}; })
"""


@pytest.fixture
def app_config():
    return {"KIOSK_RESULT_SECONDS": 600, "KIOSK_EXIT_PIN": EXIT_PIN}


def check(page, screen: str, output_dir: Path, size: str) -> None:
    """axe-core at WCAG 2.2 AA and the 48 px touch-target rule on what is on screen now."""
    page.wait_for_function("() => [...document.images].every(img => img.complete)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", TAGS
    )
    assert len(result["passes"]) > 10, "axe did not run its rules"
    violations = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5]) for v in result["violations"]
    ]
    assert not violations, f"{screen} at {size}: {violations}"
    small = [t for t in page.evaluate(TARGETS_JS) if t["width"] < MIN_TARGET or t["height"] < MIN_TARGET]
    assert not small, f"{screen} at {size}: touch targets under {MIN_TARGET}px: {small}"
    page.screenshot(path=output_dir / f"{screen}-{size}.png")
    try:
        assert_fits(page)
    except AssertionError as error:
        raise AssertionError(f"{screen} at {size}: {error}") from None


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT], ids=["1280x800", "800x1280"])
def test_every_kiosk_screen_is_accessible(browser_factory, live_server, output_dir, viewport, lang):
    size = f"{viewport['width']}x{viewport['height']}-{lang}"
    today = today_jakarta()
    distribution = make_distribution(packages=100)
    _w, _c, active = enrolled_worker("Siti Aminah")
    _w2, _c2, future = enrolled_worker("Belum Mulai", start=today + timedelta(days=3), end=today + timedelta(days=93))
    _w3, _c3, ended = enrolled_worker("Sudah Lewat", start=today - timedelta(days=120), end=today - timedelta(days=20))

    context = browser_factory(viewport=viewport, bypass_csp=True)  # axe is injected as a script tag
    page = context.new_page()
    page.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('no', 'NotAllowedError'));"
    )
    page.goto(live_server.url + "/kiosk/")
    page.wait_for_selector(".k-pairing")
    if lang != "id":  # the language stays for the whole walk: no screen goes back to welcome by itself
        page.click(".k-button-lang")
        page.wait_for_function(f"() => document.documentElement.lang === '{lang}'")
    check(page, "pairing", output_dir, size)
    tap_digits(page, ".k-pairing-form", "11112222")
    page.click(".k-pairing-form .k-key-ok")
    page.wait_for_selector(".k-pairing-message .k-form-error")
    check(page, "pairing-refused", output_dir, size)

    _device, code = pairing.add_device("Kios sembako", "collect", distribution, staff=None)
    page.fill("#pairing-code", "")
    tap_digits(page, ".k-pairing-form", code)
    page.click(".k-pairing-form .k-key-ok")
    page.wait_for_selector("#scan-result[data-state=welcome]")
    check(page, "welcome", output_dir, size)

    page.click(".k-button-keypad")
    page.wait_for_selector("#keypad-dialog[open]")
    check(page, "keypad", output_dir, size)
    fits = page.evaluate("() => { const d = document.getElementById('keypad-dialog'); return d.scrollHeight <= d.clientHeight + 1; }")
    assert fits, f"the keypad dialog needs scrolling at {size}"
    page.click("#keypad-dialog [data-close-dialog]")

    for token, screen in ((future, "belum-aktif"), (ended, "berakhir"), (active, "collect-available")):
        scan_by_keyboard(page, token)
        page.wait_for_selector(f"#scan-result[data-seen]:has-text('{'Siti Aminah' if token == active else ''}')")
        page.wait_for_selector("#scan-result[data-state=result][data-seen]")
        check(page, screen, output_dir, size)

    page.click(".k-button-take")
    page.wait_for_selector("#scan-result[data-state=collected][data-seen]")
    check(page, "collected", output_dir, size)
    scan_by_keyboard(page, active)
    page.wait_for_selector("[data-sembako=waiting]")
    check(page, "collect-waiting", output_dir, size)

    scan_by_keyboard(page, "KAAAAAAAABCDEFGHIJKLMN2345")
    page.wait_for_selector("#scan-result[data-state=refused][data-seen]")
    check(page, "refused", output_dir, size)

    page.route("**/kiosk/ping*", lambda route: route.abort())
    page.wait_for_selector("#offline:not([hidden])", timeout=15_000)
    check(page, "offline", output_dir, size)
    page.unroute("**/kiosk/ping*")
    page.wait_for_selector("#offline", state="hidden", timeout=15_000)

    page.evaluate("document.getElementById('exit-dialog').showModal()")
    check(page, "exit-pin", output_dir, size)

    assert page.evaluate("document.documentElement.lang") == lang
    page.goto(live_server.url + "/kiosk/foto/tidak-ada")  # a kiosk error page
    check(page, "error", output_dir, size)
