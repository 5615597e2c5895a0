"""What a kiosk downloads, seen from the server: in real headless Chromium (its HTTP cache on:
no request interception), every request that reaches the app is recorded.

- First load: the decoder wasm only where the browser has no QR detector of its own, each sound
  once.
- The next load: only the page itself; every file it links (versioned names) and the decoder
  files come from the browser's cache without asking.

How many bytes that is lives in ``make bench`` (weight); here: which requests.
"""

from __future__ import annotations

import threading

import pytest

from kiosk.terminal import pairing

pytestmark = pytest.mark.browser

WAIT_MS = 20_000
# The browser's own QR detector (Chrome on Android/ChromeOS), which Debian's Chromium lacks: a
# stand-in with its shape that finds nothing. It shows what is downloaded, not what is decoded
# (tests/browser/test_scanner_fixture.py decodes through a stand-in).
NATIVE_STAND_IN = """
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ["qr_code"]; }
  async detect() { return []; }
};
"""


class Recorder:
    """WSGI middleware: the paths of the requests that reached the server."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.paths: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.paths.append(environ.get("PATH_INFO", ""))
        return self.wsgi_app(environ, start_response)

    def take(self) -> list[str]:
        with self.lock:
            paths, self.paths = self.paths, []
        return [p for p in paths if p != "/kiosk/ping"]


@pytest.fixture
def kiosk_browser(app, live_server, browser_factory):
    """(new page, recorder): a paired kiosk's browser context with its HTTP cache working."""
    device, code = pairing.add_device("Kios aula 1", "check", None, staff=None)
    _device, credential = pairing.pair(code)
    recorder = Recorder(app.wsgi_app)
    app.wsgi_app = recorder
    routed = browser_factory()  # its request guard turns the HTTP cache off: a context of our own
    context = routed.browser.new_context(viewport={"width": 1280, "height": 800}, permissions=["camera"])
    context.add_cookies([{"name": pairing.COOKIE, "value": credential, "url": live_server.url}])
    outside: list[str] = []
    context.on("request", lambda request: outside.append(request.url) if not request.url.startswith(
        (live_server.url, "data:", "blob:")) else None)
    yield context, recorder
    context.close()
    assert not outside, outside


def load(page, url: str, decoder: str) -> None:
    page.goto(url + "/kiosk/")
    page.wait_for_selector(f"[data-scanner][data-decoder={decoder}]", timeout=WAIT_MS)


def wait_for(recorder: Recorder, seen: list[str], *parts: str) -> None:
    for _ in range(100):
        if all(any(part in p for p in seen) for part in parts):
            return
        threading.Event().wait(0.1)
        seen.extend(recorder.take())
    raise AssertionError(f"never requested {parts}: {seen}")


def test_first_load_fetches_each_sound_once_and_the_next_load_only_the_page(kiosk_browser, live_server):
    context, recorder = kiosk_browser
    page = context.new_page()
    load(page, live_server.url, "wasm")
    first = recorder.take()
    wait_for(recorder, first, "/audio/success.", "/audio/refusal.")
    page.wait_for_timeout(1000)
    first += recorder.take()
    assert first[0] == "/kiosk/"
    assert sum(p.endswith("/zxing_reader-3.1.3.wasm") for p in first) == 1, first
    for sound in ("success", "refusal"):
        assert sum(f"/audio/{sound}." in p for p in first) == 1, first  # not again as ranges
    assert len(first) == len(set(first)), first

    load(page, live_server.url, "wasm")
    page.wait_for_timeout(1500)
    assert recorder.take() == ["/kiosk/"]


def test_where_the_browser_reads_qr_codes_itself_no_decoder_is_downloaded(kiosk_browser, live_server):
    context, recorder = kiosk_browser
    page = context.new_page()
    page.add_init_script(NATIVE_STAND_IN)
    load(page, live_server.url, "native")
    page.wait_for_timeout(1500)
    first = recorder.take()
    assert any("/static/js/scanner." in p for p in first), first
    assert not [p for p in first if "/static/vendor/" in p and "htmx" not in p], first
