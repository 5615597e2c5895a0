"""Kiosk page weight: the bytes of HTML, CSS, JS, wasm (and images, audio) the kiosk screen loads,
on first load (empty cache) and on the next load (same browser), in headless Chromium, from the
CDP Network events: ``encodedDataLength`` of ``loadingFinished`` is what crossed the wire (headers
included), the response body is what the browser got after decoding.

The fake camera shows an empty desk, so the scanner starts and loads its decoder (the zxing wasm)
but nothing is scanned. For each resource the bench also computes what gzip (level 6) would make
of it, since the app may serve it uncompressed.
"""

from __future__ import annotations

import base64
import gzip
import time
from urllib.parse import urlsplit

from .browser import KioskSite, launch, require_browser, y4m_module
from .common import BenchResult, Context

GOAL_KB = 300
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


def run(ctx: Context) -> BenchResult:
    require_browser()
    from PIL import Image
    from playwright.sync_api import sync_playwright

    result = BenchResult("weight")
    y4m = y4m_module()
    desk = y4m.write_y4m([Image.new("RGB", (640, 480), y4m.DESK)], ctx.work / "camera" / "desk.y4m")
    raw: dict = {}
    with KioskSite(ctx, "weight") as site, sync_playwright() as p:
        browser = launch(p, desk)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800}, permissions=["camera"])
            context.add_cookies([site.cookie()])
            page = context.new_page()
            outside: list[str] = []
            page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(
                ("http://127.0.0.1", "data:", "blob:")) else None)

            def wasm_done(records):
                return any(r.get("url", "").endswith(".wasm") and "done" in r for r in records.values())

            loads = {}
            for label in ("first", "next"):
                cdp = context.new_cdp_session(page)
                net = NetworkLog(cdp)
                page.goto(site.url, wait_until="load")
                net.wait(page, wasm_done if label == "first" else (lambda r: True), timeout=25, quiet=1.5)
                items = []
                for rid, r in _page_resources(net.records):
                    body = net.body(rid) if label == "first" else None
                    items.append({
                        "url": urlsplit(r["url"]).path, "kind": kind_of(r["url"], r.get("mime")),
                        "status": r.get("status"), "transferred": r.get("encoded", 0), "body": r.get("decoded", 0),
                        "content_encoding": r.get("encoding"), "cache_control": r.get("cache_control"),
                        "from_cache": bool(r.get("from_cache") or r.get("from_disk") or r.get("from_memory")),
                        "gzip": len(gzip.compress(body, 6)) if body else None,
                        "raw": len(body) if body else None,
                    })
                loads[label] = items
                cdp.detach()
            raw["loads"] = loads
            raw["outside_requests"] = outside
            context.close()
        finally:
            browser.close()

    first, nxt = loads["first"], loads["next"]
    by_kind: dict[str, dict[str, int]] = {}
    for it in first:
        k = by_kind.setdefault(it["kind"], {"raw": 0, "transferred": 0, "gzip": 0, "count": 0})
        k["raw"] += it["raw"] or it["body"]
        k["transferred"] += it["transferred"]
        k["gzip"] += it["gzip"] or it["transferred"]
        k["count"] += 1
    raw["first_by_kind"] = by_kind
    result.raw = raw
    total_raw = sum(k["raw"] for k in by_kind.values())
    total_wire = sum(k["transferred"] for k in by_kind.values())
    total_gzip = sum(k["gzip"] for k in by_kind.values())
    compressed = [it for it in first if it["content_encoding"]]
    wasm = [it for it in first if it["kind"] == "wasm"]
    wasm_gzip = sum(it["gzip"] or 0 for it in wasm)
    breakdown = ", ".join(f"{k} {v['transferred'] / KB:.0f}" for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1]["transferred"]))
    served = "served compressed" if compressed else "served uncompressed (no Content-Encoding)"
    result.add("first load: bytes over the wire", total_wire / KB, "kB", goal=f"< {GOAL_KB} kB compressed",
               met=total_wire / KB < GOAL_KB,
               note=f"{len(first)} requests, {served}; kB by kind: {breakdown}")
    result.add("first load: raw (decoded) bytes", total_raw / KB, "kB")
    result.add("first load if every response were gzip -6", total_gzip / KB, "kB", goal=f"< {GOAL_KB} kB",
               met=total_gzip / KB < GOAL_KB,
               note=f"the zxing wasm alone: {sum(it['raw'] or 0 for it in wasm) / KB:.0f} kB raw, {wasm_gzip / KB:.0f} kB gzip")
    result.add("first load without the wasm, gzip -6", (total_gzip - wasm_gzip) / KB, "kB", goal=f"< {GOAL_KB} kB",
               met=(total_gzip - wasm_gzip) / KB < GOAL_KB)
    next_wire = sum(it["transferred"] for it in nxt)
    # CDP reports a revalidated response with the cached 200's status: tell it by its size.
    revalidated = sum(1 for it in nxt if it["status"] == 304 or (
        not it["from_cache"] and it["body"] and it["transferred"] < min(it["body"], 2000)))
    cached = sum(1 for it in nxt if it["from_cache"])
    result.add("next load (cached): bytes over the wire", next_wire / KB, "kB",
               note=f"{len(nxt)} requests: {revalidated} revalidated (304), {cached} from cache without asking; "
                    + ", ".join(f"{it['url'].rstrip('/').rsplit('/', 1)[-1]} {it['transferred'] / KB:.0f} kB"
                                for it in nxt if it["transferred"] > 2000))
    if raw["outside_requests"]:
        result.add("requests leaving 127.0.0.1", len(raw["outside_requests"]), "", goal="0", met=False,
                   note=", ".join(raw["outside_requests"][:3]))
    return result
