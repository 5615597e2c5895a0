"""The kiosk in real headless Chromium: pair a browser, scan a real card (rendered by the app)
through Chromium's fake camera, the USB-scanner (keyboard) path, the fallback-code keypad, every
refusal, the automatic return to welcome, the language switch, collecting a package, the
reconnect banner and the staff exit. Every screen is photographed at 1280x800 and 800x1280.

``browser_factory`` fails the test on any request that leaves 127.0.0.1.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from factories import make_card, make_coverage, make_distribution, make_worker
from kiosk import card_registry, tokens
from kiosk.cards import CardFace, card_png
from kiosk.coverage import today_jakarta
from kiosk.extensions import db
from kiosk.models import Collection
from kiosk.nik import mask_nik
from kiosk.terminal import pairing
from y4m import png_to_y4m

pytestmark = pytest.mark.browser

LANDSCAPE = {"width": 1280, "height": 800}
PORTRAIT = {"width": 800, "height": 1280}
EXIT_PIN = "24680"
WAIT_MS = 15_000

REFUSE_CAMERA = """
navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
"""

# Measured, not asserted (speed belongs in bench/): from the camera's decode to the answer on screen.
TIMING = """
window.kioskTiming = {};
document.addEventListener("scanner:decoded", (e) => { window.kioskTiming.decoded = e.detail.at; });
document.addEventListener("htmx:afterSettle", () => {
  if (!window.kioskTiming.shown && document.querySelector("#scan-result[data-state=result]"))
    window.kioskTiming.shown = performance.now();
});
"""


@pytest.fixture
def app_config():
    return {"KIOSK_RESULT_SECONDS": 2, "KIOSK_EXIT_PIN": EXIT_PIN, "KIOSK_HELP_DESK": "meja pendaftaran"}


# ---- helpers (also used by test_kiosk_a11y.py) ------------------------------------------------

def portrait_photo() -> bytes:
    """A small drawn portrait (JPEG), stored like an enrolled worker's photo."""
    img = Image.new("RGB", (480, 600), (170, 196, 214))
    draw = ImageDraw.Draw(img)
    draw.ellipse((150, 110, 330, 320), fill=(198, 150, 120))
    draw.rectangle((210, 300, 270, 360), fill=(198, 150, 120))
    draw.ellipse((70, 340, 410, 760), fill=(40, 90, 140))
    draw.ellipse((150, 90, 330, 200), fill=(40, 30, 25))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def enrolled_worker(name="Siti Aminah", *, start=None, end=None, photo=True, coverage=True):
    """A worker with a photo, coverage (active by default) and a valid card: (worker, card, token)."""
    from kiosk.photos import store

    today = today_jakarta()
    worker = make_worker(name=name, sex="P")
    if photo:
        worker.photo = store(portrait_photo())
        db.session.commit()
    if coverage:
        make_coverage(worker, start=start or today - timedelta(days=10), end=end or today + timedelta(days=80))
    card, token = make_card(worker)
    return worker, card, token


def card_y4m(worker, card, token, folder: Path) -> Path:
    """The worker's printed card (the app's own PNG) in front of the fake camera."""
    face = CardFace(
        token=token, fallback_code=card.fallback_code, name=worker.name, masked_nik=mask_nik(worker.nik),
        coverage_start=worker.coverages[0].start_date if worker.coverages else None,
        coverage_end=worker.coverages[0].end_date if worker.coverages else None,
    )
    png = Image.open(io.BytesIO(card_png(face, dpi=200)))
    return png_to_y4m(png, folder / f"card-{card.id}.y4m", scale=0.8, rotate=4)


def tap_digits(page, pad_selector: str, digits: str) -> None:
    for digit in digits:
        page.click(f'{pad_selector} [data-key="{digit}"]')


def open_kiosk(browser_factory, live_server, *, y4m=None, viewport=LANDSCAPE, camera=True, mode="check", distribution=None,
               slip_paper=None):
    """A Chromium page on /kiosk, paired through the on-screen keypad. Returns (page, device)."""
    device, code = pairing.add_device("Kios aula 1", mode, distribution, staff=None, slip_paper=slip_paper)
    context = browser_factory(y4m, viewport=viewport) if y4m else browser_factory(viewport=viewport)
    page = context.new_page()
    page.add_init_script(TIMING)
    if not camera:
        page.add_init_script(REFUSE_CAMERA)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "Content Security Policy" in msg.text else None)
    page.errors = errors
    page.goto(live_server.url + "/kiosk/")
    page.wait_for_selector("text=Pasangkan layar ini sebagai kiosk")
    tap_digits(page, ".k-pairing-form", code)
    assert page.input_value("#pairing-code") == f"{code[:4]} {code[4:]}"
    page.click(".k-pairing-form .k-key-ok")
    page.wait_for_selector("#scan-result[data-state=welcome]")
    return page, device


def scan_by_keyboard(page, code: str) -> None:
    """What a USB/HID QR scanner does: type into the focused input, then Enter."""
    page.wait_for_function("() => document.activeElement?.id === 'scan-code'")
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def wait_state(page, state: str, timeout: int = WAIT_MS):
    return page.wait_for_selector(f"#scan-result[data-state={state}][data-seen]", timeout=timeout)


def assert_fits(page) -> None:
    """Nothing on the screen is cut off: the panel (or page) needs no scrolling."""
    sizes = page.evaluate(
        """() => [document.getElementById('scan-result'), document.scrollingElement]
             .filter(Boolean).map(el => [el.id || 'page', el.scrollHeight, el.clientHeight])"""
    )
    for name, scroll, client in sizes:
        assert scroll <= client + 1, f"{name} overflows: {scroll} > {client}"


def shot(page, folder: Path, name: str) -> Path:
    page.wait_for_function("() => [...document.images].every(img => img.complete)")
    try:
        assert_fits(page)
    except AssertionError as error:
        page.screenshot(path=folder / f"{name}-OVERFLOW.png")
        raise AssertionError(f"{name}: {error}") from None
    path = folder / f"{name}.png"
    page.screenshot(path=path)
    return path


# ---- the tests ----------------------------------------------------------------------------------

def test_pair_and_scan_by_camera(browser_factory, live_server, tmp_path, output_dir):
    worker, card, token = enrolled_worker()
    y4m = card_y4m(worker, card, token, tmp_path)
    page, device = open_kiosk(browser_factory, live_server, y4m=y4m)

    panel = wait_state(page, "result")
    text = panel.inner_text()
    assert "Siti Aminah" in text
    assert mask_nik(worker.nik) in text
    assert worker.nik not in page.content()
    assert "AKTIF" in text and "80 hari lagi" in text
    assert "kecelakaan kerja" in text and "ahli waris" in text
    assert page.get_attribute("#scan-result", "data-tone") == "ok"
    # The photo came through the short-lived, device-bound URL and really loaded.
    assert page.eval_on_selector(".k-photo", "img => img.complete && img.naturalWidth") == 480
    assert "/kiosk/foto/" in page.get_attribute(".k-photo", "src")
    assert page.get_attribute("[data-scanner]", "data-camera") == "on"
    shot(page, output_dir, "result-aktif-1280x800")
    assert not page.errors, page.errors
    timing = page.evaluate("window.kioskTiming")
    if timing.get("decoded") and timing.get("shown"):
        ms = round(timing["shown"] - timing["decoded"])
        (output_dir / "timing.json").write_text(f'{{"decode_to_answer_ms": {ms}}}\n')
        print(f"\nkiosk: camera decode to answer on screen {ms} ms")


def test_usb_scanner_path_and_auto_return(browser_factory, live_server, output_dir):
    worker, card, token = enrolled_worker("Budi Santoso")
    page, _device = open_kiosk(browser_factory, live_server, camera=False)
    page.wait_for_selector('[data-scanner][data-camera="unavailable"]')
    shot(page, output_dir, "welcome-no-camera-1280x800")

    scan_by_keyboard(page, token)
    panel = wait_state(page, "result")
    assert "Budi Santoso" in panel.inner_text()
    # The countdown is on screen (read from the element even if it has been swapped out since).
    assert panel.query_selector("[data-countdown]").inner_text() in {"2", "1", "0"}
    assert "Kembali ke awal dalam" in panel.inner_text()
    # KIOSK_RESULT_SECONDS = 2: back to welcome by itself.
    wait_state(page, "welcome")
    assert "Tempelkan kartu QR Anda ke kamera" in page.inner_text("#scan-result")
    # The scanner input has the focus again for the next card.
    page.wait_for_function("() => document.activeElement?.id === 'scan-code'")
    assert not page.errors, page.errors


def test_next_scan_replaces_the_answer_at_once(browser_factory, live_server):
    _w1, _c1, first = enrolled_worker("Pekerja Pertama")
    _w2, _c2, second = enrolled_worker("Pekerja Kedua")
    page, _device = open_kiosk(browser_factory, live_server, camera=False)
    scan_by_keyboard(page, first)
    page.wait_for_selector("#scan-result:has-text('Pekerja Pertama')")
    scan_by_keyboard(page, second)
    page.wait_for_selector("#scan-result:has-text('Pekerja Kedua')")


def test_fallback_code_on_the_keypad(browser_factory, live_server, output_dir):
    worker, card, _token = enrolled_worker("Ahmad Fauzi")
    page, _device = open_kiosk(browser_factory, live_server, camera=False)
    page.click(".k-button-keypad")
    page.wait_for_selector("#keypad-dialog[open]")
    tap_digits(page, "#keypad-dialog", card.fallback_code)
    code = card.fallback_code
    assert page.input_value("#keypad-code") == f"{code[:4]} {code[4:8]} {code[8:]}"
    shot(page, output_dir, "keypad-1280x800")
    page.click("#keypad-dialog .k-key-ok")
    wait_state(page, "result")
    assert "Ahmad Fauzi" in page.inner_text("#scan-result")
    assert page.eval_on_selector("#keypad-dialog", "d => d.open") is False


def _refusal_codes(card, ring) -> dict[str, str]:
    """A code for each refusal the kiosk can meet."""
    good = card_registry.token_for(card)
    body = good[2:]
    forged = good[:-1] + ("A" if good[-1] != "A" else "B")
    unknown_card = tokens.sign(999_999, ring)
    return {
        "malformed": "hello world",
        "wrong_version": "Z" + good[1:],
        "unknown_key": good[0] + "Z" + body,
        "bad_signature": forged,
        "unknown_card": unknown_card,
        "fallback_unknown": tokens.new_fallback_code(),
    }


REFUSAL_TITLES = {
    "malformed": "Kartu tidak terbaca",
    "wrong_version": "Bukan kartu peserta",
    "unknown_key": "Kartu tidak sah",
    "bad_signature": "Kartu tidak sah",
    "unknown_card": "Kartu tidak terdaftar",
    "fallback_unknown": "Kode tidak terdaftar",  # typed: words about the code
    "revoked": "Kartu sudah tidak berlaku",
    "retired_key": "Kartu sudah tidak berlaku",
}


def test_every_refusal_says_what_to_do(browser_factory, live_server, output_dir):
    worker, card, token = enrolled_worker("Kartu Dicabut")
    codes = _refusal_codes(card, card_registry.keyring())
    page, _device = open_kiosk(browser_factory, live_server, camera=False)
    for kind, code in codes.items():
        scan_by_keyboard(page, code)
        panel = page.wait_for_selector(f"#scan-result[data-state=refused]:has-text('{REFUSAL_TITLES[kind]}')")
        assert "Hubungi petugas di meja pendaftaran" in panel.inner_text(), kind
        assert page.get_attribute("#scan-result", "data-sound") == "refusal"
        if kind == "bad_signature":
            shot(page, output_dir, "refused-1280x800")
        page.click(".k-button-done")
        page.wait_for_selector("#scan-result[data-state=welcome]")

    card_registry.revoke(card, staff=None, reason="hilang")
    scan_by_keyboard(page, token)
    page.wait_for_selector("#scan-result[data-state=refused]:has-text('Kartu sudah tidak berlaku')")
    wait_state(page, "welcome")

    # A genuine card whose key was retired.
    _w, _c, old_token = enrolled_worker("Kunci Lama")
    ring = card_registry.keyring()
    old_key = ring.current_id
    card_registry.rotate_key()
    card_registry.retire_key(old_key)
    scan_by_keyboard(page, old_token)
    page.wait_for_selector("#scan-result[data-state=refused]:has-text('Kartu sudah tidak berlaku')")
    assert not page.errors, page.errors


def test_coverage_states_read_in_words(browser_factory, live_server, output_dir):
    today = today_jakarta()
    _w1, _c1, future = enrolled_worker("Belum Mulai", start=today + timedelta(days=5), end=today + timedelta(days=95))
    _w2, _c2, ended = enrolled_worker("Sudah Lewat", start=today - timedelta(days=120), end=today - timedelta(days=30))
    _w3, _c3, none = enrolled_worker("Tanpa Kepesertaan", coverage=False, photo=False)
    page, _device = open_kiosk(browser_factory, live_server, camera=False)
    for token, word, tone, name in (
        (future, "BELUM AKTIF", "warn", "result-belum-aktif"),
        (ended, "BERAKHIR", "bad", "result-berakhir"),
        (none, "TIDAK TERDAFTAR", "bad", "result-tanpa-kepesertaan"),
    ):
        scan_by_keyboard(page, token)
        page.wait_for_selector(f"#scan-result[data-tone={tone}] .k-verdict-word:text-is('{word}')")
        shot(page, output_dir, f"{name}-1280x800")
        wait_state(page, "welcome")


def test_language_switch_is_one_tap(browser_factory, live_server, output_dir):
    _worker, _card, token = enrolled_worker()
    page, _device = open_kiosk(browser_factory, live_server, camera=False)
    assert page.get_attribute("html", "lang") == "id"
    page.click("button:has-text('English')")
    page.wait_for_selector("html[lang=en]")
    page.wait_for_selector("#scan-result[data-state=welcome]")
    assert page.is_visible("button:has-text('Bahasa Indonesia')")
    shot(page, output_dir, "welcome-english-1280x800")
    scan_by_keyboard(page, token)
    wait_state(page, "result")
    page.click("button:has-text('Bahasa Indonesia')")
    page.wait_for_selector("html[lang=id]")
    assert "Tempelkan kartu QR Anda ke kamera" in page.inner_text("#scan-result")


def test_collect_a_package_once(browser_factory, live_server, output_dir):
    distribution = make_distribution(packages=100)
    worker, card, token = enrolled_worker("Rahmat Hidayat")
    page, device = open_kiosk(browser_factory, live_server, camera=False, mode="collect", distribution=distribution)
    scan_by_keyboard(page, token)
    wait_state(page, "result")
    assert page.get_attribute("[data-sembako]", "data-sembako") == "available"
    assert "TERSEDIA" in page.inner_text("#scan-result")
    assert page.is_visible("button:has-text('AMBIL')")
    shot(page, output_dir, "collect-available-1280x800")
    # A double tap: the second request carries the same request id.
    page.evaluate("() => { const b = document.querySelector('.k-button-take'); b.click(); b.click(); }")
    ticket = wait_state(page, "collected")
    assert page.inner_text(".k-seq") == "1"
    assert "dari 100" in ticket.inner_text()
    shot(page, output_dir, "collected-1280x800")
    db.session.expire_all()
    assert db.session.query(Collection).filter_by(worker_id=worker.id).count() == 1
    wait_state(page, "welcome")
    scan_by_keyboard(page, token)
    page.wait_for_selector("[data-sembako=waiting]")
    text = page.inner_text("#scan-result")
    assert "SUDAH DIAMBIL" in text and "tunjukkan kartu ini di meja penyerahan" in text
    assert page.inner_text("[data-sembako=waiting] .k-seq") == "1"
    shot(page, output_dir, "collect-waiting-1280x800")


def test_reconnect_banner_comes_and_goes(browser_factory, live_server, output_dir):
    page, _device = open_kiosk(browser_factory, live_server, camera=False)
    page.route("**/kiosk/ping*", lambda route: route.abort())
    banner = page.wait_for_selector("#offline:not([hidden])", timeout=WAIT_MS)
    assert "Sedang menghubungkan" in banner.inner_text()
    shot(page, output_dir, "offline-1280x800")
    page.unroute("**/kiosk/ping*")
    page.wait_for_selector("#offline", state="hidden", timeout=WAIT_MS)


def test_revoked_device_falls_back_to_pairing(browser_factory, live_server):
    page, device = open_kiosk(browser_factory, live_server, camera=False)
    pairing.revoke(device, staff=None)
    page.wait_for_selector("text=Pasangkan layar ini sebagai kiosk", timeout=WAIT_MS)


def test_staff_exit_long_press_and_pin(browser_factory, live_server, output_dir):
    page, device = open_kiosk(browser_factory, live_server, camera=False)
    box = page.locator("[data-exit-hold]").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.down()
    page.wait_for_selector("#exit-dialog[open]", timeout=6000)
    page.mouse.up()
    tap_digits(page, "#exit-dialog", "1111")
    page.click("#exit-dialog .k-key-ok")
    page.wait_for_selector("#exit-dialog .k-form-error:has-text('PIN salah')")
    shot(page, output_dir, "exit-pin-1280x800")
    tap_digits(page, "#exit-dialog", EXIT_PIN)
    page.click("#exit-dialog .k-key-ok")
    page.wait_for_selector("text=Pasangkan layar ini sebagai kiosk")
    db.session.refresh(device)
    assert device.credential_hash is None and device.revoked_at is None


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT], ids=["1280x800", "800x1280"])
def test_screenshots_of_every_screen(browser_factory, live_server, tmp_path, output_dir, viewport):
    """Photograph each screen (the docs use these) with the result held on screen."""
    live_server.app.config["RESULT_SECONDS"] = 30
    size = f"{viewport['width']}x{viewport['height']}"
    distribution = make_distribution(packages=100)
    worker, card, token = enrolled_worker()
    y4m = card_y4m(worker, card, token, tmp_path)

    context = browser_factory(y4m, viewport=viewport)
    page = context.new_page()
    page.goto(live_server.url + "/kiosk/")
    page.wait_for_selector(".k-pairing")
    shot(page, output_dir, f"pairing-{size}")

    device, code = pairing.add_device("Kios sembako", "collect", distribution, staff=None)
    tap_digits(page, ".k-pairing-form", code)
    page.click(".k-pairing-form .k-key-ok")
    # The camera sees the card at once; hold the welcome screen by hiding the card first.
    result = wait_state(page, "result")
    shot(page, output_dir, f"collect-available-{size}")
    page.click(".k-button-take")
    wait_state(page, "collected")
    shot(page, output_dir, f"collected-{size}")
    page.click(".k-button-done")
    page.wait_for_selector("#scan-result[data-state=welcome]")
    shot(page, output_dir, f"welcome-{size}")
    assert result is not None
