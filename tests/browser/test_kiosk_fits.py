"""English must fit: every kiosk screen state, in Bahasa Indonesia and in English, at 1280x800
(all-in-one PC), 800x1280 (portrait tablet) and 1920x1080 (a PC screen), in real Chromium.
Every visible element and every line of text must stay inside its panel (the answer panel, the
camera column, the top bar, an open dialog, the pairing form, an overlay) and inside the screen;
the text of a button inside that button. A screenshot of each state is kept in test-output/.

States: pairing (and its refusal), welcome, the code keypad (and a wrong check digit), the
staff-exit PIN pad, offline welcome (and a code kept), the answers of a check kiosk (AKTIF,
BELUM AKTIF, BERAKHIR, TIDAK TERDAFTAR, refused card, refused typed code), of a sembako kiosk
(TERSEDIA with AMBIL, another card held back, the package number with its slip printed,
SUDAH DIAMBIL, SUDAH DITERIMA, TIDAK TERSEDIA) and the last seconds counted down."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from factories import make_distribution, make_staff
from kiosk import distribution as pickup
from kiosk.coverage import today_jakarta
from kiosk.extensions import db
from kiosk.models import Device, Distribution
from kiosk.terminal import pairing
from test_kiosk import LANDSCAPE, PORTRAIT, enrolled_worker, scan_by_keyboard, tap_digits

pytestmark = pytest.mark.browser

FULL_HD = {"width": 1920, "height": 1080}
EXIT_PIN = "13579"
WAIT_MS = 15_000

# The boxes things must stay in: an element belongs to the nearest of these around it (a
# position:fixed element is its own box, held to the screen only).
PANELS = ("#scan-result, .k-camera, .k-top, dialog[open], .k-pairing-form, .k-pairing-intro, "
          ".k-offline, .k-checking, .k-main > .k-panel")

OVERFLOWS = """
(panels) => {
  const screen = {left: 0, top: 0, right: document.documentElement.clientWidth, bottom: window.innerHeight};
  const problems = [];
  const shown = el => {
    const s = getComputedStyle(el);
    return s.display !== 'none' && s.visibility !== 'hidden' && parseFloat(s.opacity) > 0;
  };
  const skipped = el => Boolean(el.closest('.sr-only, .k-scanform, script, style, template'));
  const name = el => {
    const cls = typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls;
  };
  const box = r => [r.left, r.top, r.right, r.bottom].map(Math.round);
  const panelOf = el => {
    for (let p = el; p; p = p.parentElement) {
      if (getComputedStyle(p).position === 'fixed') return p === el ? null : p;
      if (p !== el && p.matches(panels)) return p;
    }
    return null;
  };
  // A line of text is measured by its glyphs' box, which is taller than its line when the
  // line height is tight (a big heading at 1.1): that much above and below is no overflow.
  const slack = (el, r, text) => {
    if (!text) return 1;
    const s = getComputedStyle(el);
    const line = s.lineHeight === 'normal' ? 1.2 * parseFloat(s.fontSize) : parseFloat(s.lineHeight);
    return Math.max(1, (r.height - line) / 2 + 1);
  };
  const inside = (r, b, v = 1) => r.left >= b.left - 1 && r.top >= b.top - v && r.right <= b.right + 1 && r.bottom <= b.bottom + v;
  const judge = (el, r, what, text = false) => {
    if (r.width < 1 || r.height < 1) return;
    const v = slack(el, r, text);
    if (!inside(r, screen, v)) problems.push(`${what} leaves the screen ${box(r)}`);
    const panel = panelOf(el);
    if (panel && !inside(r, panel.getBoundingClientRect(), v))
      problems.push(`${what} leaves its panel ${name(panel)} ${box(r)} ⊄ ${box(panel.getBoundingClientRect())}`);
    const button = el.closest('button, .k-button, a[href]');
    if (button && button !== el && !inside(r, button.getBoundingClientRect(), v))
      problems.push(`${what} leaves its button ${name(button)} ${box(r)} ⊄ ${box(button.getBoundingClientRect())}`);
  };
  for (const el of document.body.querySelectorAll('*')) {
    if (skipped(el) || (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') || !shown(el)) continue;
    judge(el, el.getBoundingClientRect(), name(el));
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || skipped(el) || !shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) judge(el, r, `text "${node.textContent.trim().slice(0, 40)}" in ${name(el)}`, true);
  }
  return [...new Set(problems)];
}
"""


@pytest.fixture
def app_config():
    return {"KIOSK_RESULT_SECONDS": 600, "KIOSK_EXIT_PIN": EXIT_PIN, "KIOSK_HELP_DESK": "meja pendaftaran di aula"}


class Walk:
    """Checks and photographs each state, collecting what does not fit (all states, then fail)."""

    def __init__(self, page, output_dir: Path, size: str):
        self.page, self.output_dir, self.size = page, output_dir, size
        self.problems: list[str] = []
        self.seen: list[str] = []

    def check(self, state: str) -> None:
        page = self.page
        page.wait_for_function("() => [...document.images].every(img => img.complete)")
        lang = page.evaluate("document.documentElement.lang")
        name = f"{lang}-{state}"
        self.seen.append(name)
        page.screenshot(path=self.output_dir / f"{name}-{self.size}.png")
        found = page.evaluate(OVERFLOWS, PANELS)
        for problem in found[:3]:  # the first few say where; the screenshot shows the rest
            self.problems.append(f"{name} at {self.size}: {problem}")
        if len(found) > 3:
            self.problems.append(f"{name} at {self.size}: … and {len(found) - 3} more")


def answer(page, code: str) -> None:
    """Scan ``code`` (a USB scanner) and wait for the new answer on the screen."""
    page.evaluate("document.getElementById('scan-result').setAttribute('data-old', '')")
    scan_by_keyboard(page, code)
    page.wait_for_selector("#scan-result[data-seen]:not([data-old])", timeout=WAIT_MS)


def switch_language(page, lang: str) -> None:
    if page.evaluate("document.documentElement.lang") != lang:
        page.click(".k-button-lang")
        page.wait_for_function(f"() => document.documentElement.lang === '{lang}'", timeout=WAIT_MS)


def walk_screens(page, walk: Walk, people: dict, base: str, device_id: int, distribution_id: int) -> None:
    """Every state of the kiosk screen in the page's language (a check kiosk, then a sembako kiosk)."""
    page.goto(base + "/kiosk/")
    page.wait_for_selector("#scan-result[data-state=welcome][data-seen]")
    walk.check("welcome")

    page.click(".k-button-keypad")
    page.wait_for_selector("#keypad-dialog[open]")
    tap_digits(page, "#keypad-dialog", "1234")
    walk.check("keypad")
    tap_digits(page, "#keypad-dialog", "5678901")  # 11 digits, a wrong check digit
    page.click("#keypad-dialog .k-key-ok")
    page.wait_for_selector("#keypad-dialog [data-pad-error]")
    walk.check("keypad-wrong-check-digit")
    page.click("#keypad-dialog [data-close-dialog]")

    page.evaluate("document.getElementById('exit-dialog').showModal()")
    walk.check("exit-pin")
    page.evaluate("document.getElementById('exit-dialog').close()")

    for who, state in (("active", "aktif"), ("future", "belum-aktif"), ("ended", "berakhir"), ("none", "tidak-terdaftar")):
        answer(page, people[who][2])
        walk.check(f"check-{state}")
    answer(page, "KAAAAAAAABCDEFGHIJKLMN2345")
    walk.check("refused-card")
    answer(page, "12345678901")  # digits: a typed code, with a wrong check digit
    walk.check("refused-typed-code")
    page.evaluate("document.getElementById('scan-result').setAttribute('data-urgent', '')")
    walk.check("refused-last-seconds")

    # Offline: the welcome itself says so, and a code sent meanwhile is kept.
    page.goto(base + "/kiosk/")
    page.wait_for_selector("#scan-result[data-state=welcome][data-seen]")
    page.route("**/kiosk/ping*", lambda route: route.abort())
    page.route("**/kiosk/pindai", lambda route: route.abort())
    page.wait_for_selector("body[data-offline]", timeout=20_000)
    scan_by_keyboard(page, people["active"][2])
    page.wait_for_selector("body[data-pending]", timeout=WAIT_MS)
    walk.check("offline")
    page.unroute("**/kiosk/pindai")
    page.unroute("**/kiosk/ping*")
    page.wait_for_selector("#scan-result[data-state=result][data-seen]", timeout=WAIT_MS)

    # The sembako kiosk.
    with _app_context():
        pairing.update_device(db.session.get(Device, device_id), "Kios sembako aula", "collect",
                              db.session.get(Distribution, distribution_id), staff=None, slip_paper="80")
    page.goto(base + "/kiosk/")
    page.wait_for_selector("#scan-result[data-state=welcome][data-seen]")
    for who, state in (("received", "sudah-diterima"), ("ended", "tidak-tersedia")):
        answer(page, people[who][2])
        walk.check(f"collect-{state}")
    claimant = people[f"claims-{page.evaluate('document.documentElement.lang')}"]
    answer(page, claimant[2])
    walk.check("collect-tersedia")
    scan_by_keyboard(page, people["future"][2])  # another card while the offer is open: held back
    page.wait_for_selector("[data-hold-notice]:not([hidden])", timeout=WAIT_MS)
    walk.check("collect-tersedia-card-held")
    page.click(".k-button-take")
    page.wait_for_selector("#scan-result[data-state=collected][data-seen]", timeout=WAIT_MS)
    walk.check("collect-nomor")
    answer(page, claimant[2])
    page.wait_for_selector("[data-sembako=waiting]")
    walk.check("collect-sudah-diambil")
    page.evaluate("document.getElementById('scan-result').setAttribute('data-urgent', '')")
    walk.check("collect-sudah-diambil-last-seconds")

    with _app_context():
        pairing.update_device(db.session.get(Device, device_id), "Kios aula", "check", None, staff=None)


_APP = {}


def _app_context():
    return _APP["app"].app_context()


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT, FULL_HD], ids=["1280x800", "800x1280", "1920x1080"])
def test_every_kiosk_screen_fits_in_both_languages(app, browser_factory, live_server, output_dir, viewport):
    _APP["app"] = app
    size = f"{viewport['width']}x{viewport['height']}"
    today = today_jakarta()
    distribution = make_distribution(packages=100, day=today, name="Penyaluran Sembako Tahap I Kecamatan Lawang Kidul")
    long_name = "Siti Nurhaliza Binti Muhammad Abdurrahman Wahid"
    people = {
        "active": enrolled_worker(long_name),
        "future": enrolled_worker("Belum Mulai Hidayat", start=today + timedelta(days=3), end=today + timedelta(days=93)),
        "ended": enrolled_worker("Sudah Lewat Santoso", start=today - timedelta(days=120), end=today - timedelta(days=20)),
        "none": enrolled_worker("Tanpa Masa Perlindungan", coverage=False),
        "received": enrolled_worker("Sudah Terima Rahmawati"),
        "claims-id": enrolled_worker("Ambil Sekarang Indonesia"),
        "claims-en": enrolled_worker("Ambil Sekarang English"),
    }
    received = people["received"][0]
    pickup.claim(distribution.id, received.id, request_id="before", station="Meja penyerahan", hand_over=True,
                 staff=make_staff(role="petugas"))
    device, code = pairing.add_device("Kios aula", "check", None, staff=None)
    device_id, distribution_id = device.id, distribution.id

    context = browser_factory(viewport=viewport)
    page = context.new_page()
    page.add_init_script(
        "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('no', 'NotAllowedError'));"
    )
    page.add_init_script("window.print = () => {};")  # the slip printer of the sembako kiosk
    # No camera, so no decoder: and no half-read decoder download when the test moves on.
    page.route("**/vendor/zxing_reader*", lambda route: route.abort())
    page.route("**/vendor/barcode-detector*", lambda route: route.abort())
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    walk = Walk(page, output_dir, size)

    page.goto(live_server.url + "/kiosk/")
    page.wait_for_selector(".k-pairing")
    for lang in ("en", "id"):
        switch_language(page, lang)
        page.wait_for_selector(".k-pairing")
        walk.check("pairing")
        page.fill("#pairing-code", "")
        tap_digits(page, ".k-pairing-form", "11112222")
        page.click(".k-pairing-form .k-key-ok")
        page.wait_for_selector(".k-pairing-message .k-form-error")
        walk.check("pairing-refused")
        page.fill("#pairing-code", "")
    tap_digits(page, ".k-pairing-form", code)
    page.click(".k-pairing-form .k-key-ok")
    page.wait_for_selector("#scan-result[data-state=welcome]")

    for lang in ("id", "en"):
        switch_language(page, lang)
        walk_screens(page, walk, people, live_server.url, device_id, distribution_id)

    assert len(walk.seen) == 2 * 2 + 2 * 19, walk.seen
    assert not errors, errors
    assert not walk.problems, "\n".join(walk.problems[:60]) + f"\n({len(walk.problems)} problems)"
