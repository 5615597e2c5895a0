"""Headless Chromium for the camera and page-weight benchmarks: Debian's /usr/bin/chromium through
Playwright's Python API (never a downloaded browser), the flags of tests/conftest.py, a fake camera
showing a real printed card, and a paired kiosk device cookie."""

from __future__ import annotations

import os
import secrets
import sqlite3
import sys
from pathlib import Path

from . import dataset
from .common import ROOT, Context, Gunicorn, NotAvailable
from .kiosk_client import DEVICE_COOKIE

CHROMIUM = "/usr/bin/chromium"
# As tests/conftest.py CHROMIUM_ARGS (imported from there when it can be).
FALLBACK_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]


def chromium_args() -> list[str]:
    tests = str(ROOT / "tests")
    try:
        if tests not in sys.path:
            sys.path.insert(0, tests)
        import conftest  # noqa: PLC0415 - the one place the flags are kept

        return list(conftest.CHROMIUM_ARGS)
    except Exception:  # noqa: BLE001 - the suite's conftest may be mid-edit; keep going
        return list(FALLBACK_ARGS)


def require_browser() -> None:
    if not os.path.exists(CHROMIUM):
        raise NotAvailable(f"{CHROMIUM} is missing (make chromium installs Debian's)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        raise NotAvailable("the playwright package is not installed (pip install -e '.[dev]')") from error


def y4m_module():
    """tests/browser/y4m.py (frame_image, write_y4m, DESK)."""
    path = str(ROOT / "tests" / "browser")
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        import y4m
    except ImportError as error:
        raise NotAvailable("tests/browser/y4m.py is missing") from error
    return y4m


class KioskSite:
    """The app under gunicorn on a loaded population, with a paired collect kiosk."""

    def __init__(self, ctx: Context, name: str):
        population = ctx.shared.get("scan_population")
        if population is None:
            count = ctx.size(10_000, 1_000)
            instance = dataset.make_instance(ctx, f"site-{count}")
            ring = dataset.key_ring(instance)
            dataset.load_sqlite(instance / "kiosk.sqlite3", count, ring.current_id)
            population = {"instance": instance, "count": count}
            ctx.shared["scan_population"] = population
        self.instance: Path = population["instance"]
        self.count = population["count"]
        db = self.instance / "kiosk.sqlite3"
        con = sqlite3.connect(db)
        try:
            row = con.execute("SELECT id FROM distribution WHERE status = 'open' ORDER BY id LIMIT 1").fetchone()
        finally:
            con.close()
        distribution = row[0] if row else dataset.add_distribution_sqlite(db, packages=self.count)
        self.credential = secrets.token_urlsafe(32)
        dataset.add_device_sqlite(db, f"Kiosk {name}", self.credential, mode="collect", distribution_id=distribution)
        self.server = Gunicorn("wsgi:app", dataset.server_env(self.instance), ctx.work / "logs" / f"{name}.log")

    def __enter__(self) -> "KioskSite":
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return f"{self.server.url}/kiosk/"

    def cookie(self) -> dict:
        return {"name": DEVICE_COOKIE, "value": self.credential, "url": self.server.url}

    def card(self, worker_id: int = 1):
        """The real printed card of ``worker_id`` as a PIL image (kiosk.cards.card_png)."""
        import io

        from PIL import Image

        from kiosk.cards import CardFace, card_png
        from kiosk.nik import mask_nik

        con = sqlite3.connect(self.instance / "kiosk.sqlite3")
        try:
            name, nik, code = con.execute(
                "SELECT w.name, w.nik, c.fallback_code FROM worker w JOIN card c ON c.worker_id = w.id WHERE w.id = ?",
                (worker_id,)).fetchone()
        finally:
            con.close()
        token = dataset.tokens_for(self.instance, [worker_id])[0]
        face = CardFace(token=token, fallback_code=code, name=name, masked_nik=mask_nik(nik))
        return Image.open(io.BytesIO(card_png(face, dpi=200))).convert("RGB"), token


def launch(playwright, y4m_path: Path | None):
    """Headless Debian Chromium with the suite's flags (and the fake camera file)."""
    args = chromium_args()
    if y4m_path is not None:
        args.append(f"--use-file-for-fake-video-capture={Path(y4m_path).resolve()}")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
