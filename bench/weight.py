"""Kiosk page weight: the bytes of HTML, CSS, JS, wasm (and images, audio) the kiosk screen loads
in headless Chromium, from the CDP Network events: ``encodedDataLength`` of ``loadingFinished``
is what crossed the wire (headers included), the response body is what the browser got after
decoding. Three loads, each with its goal:

- **first load, native QR detector** (a fresh browser context, empty cache) where the browser
  reads QR codes itself (Chrome on Android/ChromeOS). Debian's Chromium has no such detector, so
  a stand-in with its shape (``BarcodeDetector.getSupportedFormats`` answering ``qr_code``) is
  added to the page: what it changes is only which files static/js/scanner.js fetches, which is
  what this measures. Goal ≤ 300 kB.
- **first load, no native detector** (another fresh context): the ponyfill and the zxing wasm
  are fetched. Goal ≤ 600 kB.
- **repeat load** (the second context again): goal ≤ 15 kB.

The fake camera shows an empty desk, so the scanner starts and loads its decoder but nothing is
scanned. For each resource the bench also computes what gzip (level 6) would make of it.
"""

from __future__ import annotations

import base64
import gzip
import time
from urllib.parse import urlsplit

from .browser import KioskSite, launch, require_browser, y4m_module
from .common import BenchResult, Context

GOAL_NATIVE_KB = 300
GOAL_WASM_KB = 600
GOAL_REPEAT_KB = 15
NATIVE_STAND_IN = """
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ["qr_code"]; }
  async detect() { return []; }
};
"""
KB = 1000  # the goal is in kB as browsers' devtools show them


def kind_of(url: str, mime: str) -> str:
    path = urlsplit(url).path
    for ext, kind in ((".wasm", "wasm"), (".js", "js"), (".css", "css"), (".svg", "image"), (".png", "image"),
                      (".jpg", "image"), (".wav", "audio"), (".woff2", "font")):
        if path.endswith(ext):
            return kind
    if "html" in (mime or ""):
        return "html"
    return "other"


class NetworkLog:
    """Every request of one page, from CDP Network events."""

    def __init__(self, cdp):
        self.cdp = cdp
        self.records: dict[str, dict] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.dataReceived", self._data)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.send("Network.enable")

    def _rec(self, event) -> dict:
        return self.records.setdefault(event["requestId"], {"decoded": 0, "from_cache": False})

    def _sent(self, e):
        self._rec(e).update(url=e["request"]["url"], type=e.get("type"))

    def _response(self, e):
        r = e["response"]
        headers = {k.lower(): v for k, v in (r.get("headers") or {}).items()}
        self._rec(e).update(status=r.get("status"), mime=r.get("mimeType"), encoding=headers.get("content-encoding"),
                            cache_control=headers.get("cache-control"), from_disk=r.get("fromDiskCache"),
                            from_memory=r.get("fromMemoryCache"))

    def _data(self, e):
        self._rec(e)["decoded"] += e.get("dataLength", 0)

    def _finished(self, e):
        self._rec(e).update(encoded=e.get("encodedDataLength", 0), done=time.monotonic())

    def _from_cache(self, e):
        self._rec(e)["from_cache"] = True

    def body(self, request_id: str) -> bytes | None:
        try:
            got = self.cdp.send("Network.getResponseBody", {"requestId": request_id})
        except Exception:  # noqa: BLE001 - a body the browser no longer keeps
            return None
        data = got.get("body", "")
        return base64.b64decode(data) if got.get("base64Encoded") else data.encode()

    def wait(self, page, predicate, timeout: float = 20, quiet: float = 1.0) -> None:
        """Until ``predicate(records)`` holds and no request has finished for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            page.wait_for_timeout(100)
            done = [r.get("done", 0) for r in self.records.values()]
            pending = [r for r in self.records.values() if "done" not in r and r.get("url", "").startswith("http")]
            if predicate(self.records) and not pending and (not done or time.monotonic() - max(done) > quiet):
                return


def _page_resources(records: dict) -> list[tuple[str, dict]]:
    out = []
    for rid, r in records.items():
        url = r.get("url", "")
        if not url.startswith("http"):
            continue
        path = urlsplit(url).path
        if path.startswith("/kiosk/") and path not in ("/kiosk/", "/kiosk"):
            continue  # the kiosk's own API calls (ping), not page weight
        out.append((rid, r))
    return out


def _load(context, page, url: str, label: str, done, quiet: float = 1.5) -> list[dict]:
    """Load ``url`` in ``page`` and return its resources as the network saw them."""
    cdp = context.new_cdp_session(page)
    net = NetworkLog(cdp)
    page.goto(url, wait_until="load")
    net.wait(page, done, timeout=25, quiet=quiet)
    items = []
    for rid, r in _page_resources(net.records):
        body = net.body(rid) if label != "repeat" else None
        items.append({
            "url": urlsplit(r["url"]).path, "kind": kind_of(r["url"], r.get("mime")),
            "status": r.get("status"), "transferred": r.get("encoded", 0), "body": r.get("decoded", 0),
            "content_encoding": r.get("encoding"), "cache_control": r.get("cache_control"),
            "from_cache": bool(r.get("from_cache") or r.get("from_disk") or r.get("from_memory")),
            "gzip": len(gzip.compress(body, 6)) if body else None,
            "raw": len(body) if body else None,
        })
    cdp.detach()
    return items


def _by_kind(items: list[dict]) -> dict[str, dict[str, int]]:
    kinds: dict[str, dict[str, int]] = {}
    for it in items:
        k = kinds.setdefault(it["kind"], {"raw": 0, "transferred": 0, "gzip": 0, "count": 0})
        k["raw"] += it["raw"] or it["body"]
        k["transferred"] += it["transferred"]
        k["gzip"] += it["gzip"] or it["transferred"]
        k["count"] += 1
    return kinds


def _breakdown(kinds: dict) -> str:
    return ", ".join(f"{k} {v['transferred'] / KB:.0f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]["transferred"]))


def run(ctx: Context) -> BenchResult:
    require_browser()
    from PIL import Image
    from playwright.sync_api import sync_playwright

    result = BenchResult("weight")
    y4m = y4m_module()
    desk = y4m.write_y4m([Image.new("RGB", (640, 480), y4m.DESK)], ctx.work / "camera" / "desk.y4m")
    raw: dict = {}
    loads: dict[str, list[dict]] = {}
    with KioskSite(ctx, "weight") as site, sync_playwright() as p:
        browser = launch(p, desk)
        try:
            outside: list[str] = []

            def fresh_context():
                context = browser.new_context(viewport={"width": 1280, "height": 800}, permissions=["camera"])
                context.add_cookies([site.cookie()])
                context.on("request", lambda req: outside.append(req.url) if not req.url.startswith(
                    ("http://127.0.0.1", "data:", "blob:")) else None)
                return context

            def wasm_done(records):
                return any(r.get("url", "").endswith(".wasm") and "done" in r for r in records.values())

            def decoder(page, kind):
                return lambda _records: page.get_attribute("[data-scanner]", "data-decoder") == kind

            native = fresh_context()
            page = native.new_page()
            page.add_init_script(NATIVE_STAND_IN)
            loads["native"] = _load(native, page, site.url, "native", decoder(page, "native"))
            native.close()
            plain = fresh_context()
            page = plain.new_page()
            loads["wasm"] = _load(plain, page, site.url, "wasm", wasm_done)
            loads["repeat"] = _load(plain, page, site.url, "repeat", decoder(page, "wasm"))
            plain.close()
            raw["loads"] = loads
            raw["outside_requests"] = outside
        finally:
            browser.close()

    raw["by_kind"] = {label: _by_kind(items) for label, items in loads.items()}
    result.raw = raw
    for label, goal, what in (("native", GOAL_NATIVE_KB, "first load, browser reads QR itself"),
                              ("wasm", GOAL_WASM_KB, "first load, no native QR detector (wasm)")):
        items, kinds = loads[label], raw["by_kind"][label]
        wire = sum(k["transferred"] for k in kinds.values())
        compressed = sum(1 for it in items if it["content_encoding"])
        result.add(f"{what}: bytes over the wire", wire / KB, "kB", goal=f"≤ {goal} kB", met=wire / KB <= goal,
                   note=f"{len(items)} requests, {compressed} compressed; kB by kind: {_breakdown(kinds)}; "
                        f"raw {sum(k['raw'] for k in kinds.values()) / KB:.0f} kB")
    repeat = loads["repeat"]
    wire = sum(it["transferred"] for it in repeat)
    asked = [it for it in repeat if not it["from_cache"]]
    result.add("repeat load: bytes over the wire", wire / KB, "kB", goal=f"≤ {GOAL_REPEAT_KB} kB",
               met=wire / KB <= GOAL_REPEAT_KB,
               note=f"{len(repeat)} requests, {len(repeat) - len(asked)} from the browser's cache without asking; "
                    "asked: " + ", ".join(f"{it['url'].rstrip('/').rsplit('/', 1)[-1]} {it['transferred'] / KB:.1f} kB"
                                          for it in asked))
    if raw["outside_requests"]:
        result.add("requests leaving 127.0.0.1", len(raw["outside_requests"]), "", goal="0", met=False,
                   note=", ".join(raw["outside_requests"][:3]))
    return result
