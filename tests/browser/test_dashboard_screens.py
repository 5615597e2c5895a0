"""The staff dashboard and reports in a real headless Chromium: figures, charts, live update,
and a screenshot of each to look at."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import expect
from factories import make_card, make_coverage, make_distribution, make_staff, make_worker

from kiosk import distribution as distribution_service
from kiosk.coverage import JAKARTA, today_jakarta
from kiosk.extensions import db
from kiosk.models import Collection

pytestmark = pytest.mark.browser

KECAMATAN = ["160301", "160302", "160303", "160304", "160305", "160306"]


def populate():
    """Workers in six kecamatan in every coverage status, and an open distribution in progress."""
    day = today_jakarta()
    dist = make_distribution(packages=60, status="open", day=day, name="Penyaluran Sembako Tahap I")
    covered = []
    for i in range(48):
        kec = KECAMATAN[i % len(KECAMATAN)]
        worker = make_worker(name=f"Peserta {i:02d}", kecamatan=kec, occupation=("Petani", "Ojek", "Pedagang")[i % 3])
        if i % 8 == 7:
            make_coverage(worker, start=day - timedelta(days=120), end=day - timedelta(days=30))
        elif i % 8 == 6:
            make_coverage(worker, start=day + timedelta(days=3))
        elif i % 8 != 5:
            make_coverage(worker, start=day - timedelta(days=85 if i % 4 == 0 else 10))
            covered.append(worker)
    start = datetime.combine(day, datetime.min.time(), JAKARTA).replace(hour=8)
    desk = make_staff()
    for i, worker in enumerate(covered[:24]):
        card, _ = make_card(worker)
        claimed = distribution_service.claim(dist.id, worker.id, request_id=f"r{i}", card_id=card.id, station="Kios 1")
        assert distribution_service.hand_over(claimed.collection_id, staff=desk, request_id=f"d{i}").ok
    # spread the handovers over the morning, busier at ten
    minutes = [5, 20, 40, 62, 75, 90, 105, 118, 121, 125, 128, 131, 134, 137, 140, 150, 160, 170, 185, 200, 215, 230, 260, 290]
    for c, m in zip(db.session.scalars(db.select(Collection).order_by(Collection.seq)), minutes):
        c.collected_at = (start + timedelta(minutes=m - 2)).astimezone(timezone.utc)
        c.handed_over_at = (start + timedelta(minutes=m)).astimezone(timezone.utc)
    db.session.commit()
    return dist, covered


def test_dashboard_shows_the_day_and_updates_itself(app, live_server, browser_factory, sign_in, output_dir):
    dist, covered = populate()
    make_staff(role="admin", username="kepala")
    context = browser_factory()
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    sign_in(page, live_server.url, "kepala")

    # reached through a boosted form post: the area stylesheet must still be there
    assert page.locator('link[href*="css/reports."]').count() == 1
    given = page.locator('#dashboard-live [data-figure="given"]')
    assert given.inner_text() == "24"
    assert page.locator('#dashboard-live [data-figure="left"]').inner_text() == "36"
    assert page.get_by_role("img", name="Paket diserahkan per jam").is_visible()
    assert page.get_by_role("img", name="Status cakupan per kecamatan").is_visible()
    page.screenshot(path=output_dir / "dashboard.png", full_page=True)

    # Someone collects (kiosk, then the desk) while the page stays open: the panel catches up by itself.
    claimed = distribution_service.claim(dist.id, covered[25].id, request_id="while-open", station="Kios 2")
    distribution_service.hand_over(claimed.collection_id, staff=make_staff(), request_id="desk-while-open")
    expect(given).to_have_text("25", timeout=25_000)  # polling every 10 s
    assert page.locator('#dashboard-live [data-figure="left"]').inner_text() == "35"
    assert page.locator("main h1").count() == 1  # the panel was swapped, not the page nested in it

    page.get_by_role("link", name="Laporan").click()
    page.get_by_role("heading", name="Laporan", exact=True).wait_for()
    page.screenshot(path=output_dir / "laporan.png", full_page=True)
    with page.expect_download() as download:
        page.locator(".download-group").first.get_by_role("link", name="XLSX").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_staff_admin_screens(app, live_server, browser_factory, sign_in, output_dir):
    make_staff(role="admin", username="kepala")
    make_staff(username="petugas.meja")
    context = browser_factory()
    page = context.new_page()
    sign_in(page, live_server.url, "kepala")
    page.get_by_role("link", name="Admin", exact=True).click()
    page.get_by_role("heading", name="Admin", exact=True).wait_for()
    page.screenshot(path=output_dir / "admin.png", full_page=True)
    page.get_by_role("link", name="Akun petugas").click()
    page.get_by_role("heading", name="Akun petugas").wait_for()
    page.get_by_role("link", name="Tambah petugas", exact=True).click()
    page.get_by_role("heading", name="Tambah petugas").wait_for()
    page.get_by_label("Nama pengguna").fill("dewi")
    page.get_by_label("Nama lengkap").fill("Dewi Lestari")
    page.get_by_label("Kata sandi", exact=True).fill("Kopi-Semende-Pagi")
    page.get_by_label("Ulangi kata sandi").fill("Kopi-Semende-Pagi")
    page.get_by_label("Kata sandi Anda (untuk konfirmasi)").fill("rahasia-123")
    page.get_by_role("button", name="Simpan akun").click()
    page.get_by_text("Akun dewi dibuat.").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#active-admin-password").fill("rahasia-123")
    page.get_by_role("button", name="Nonaktifkan akun").click()
    page.get_by_text("dinonaktifkan dan semua sesinya diakhiri").wait_for()
    page.screenshot(path=output_dir / "staff-edit.png", full_page=True)
    page.get_by_role("link", name="Semua akun petugas").click()
    page.get_by_role("link", name="dewi", exact=True).wait_for()
    page.screenshot(path=output_dir / "staff-list.png", full_page=True)
    page.get_by_role("link", name="Laporan", exact=True).click()
    page.get_by_role("link", name="Jejak audit").click()
    page.get_by_role("heading", name="Jejak audit").wait_for()
    assert page.get_by_role("cell", name="staff.deactivate").is_visible()
    page.screenshot(path=output_dir / "audit.png", full_page=True)


AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core-4.14.1.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def test_report_and_admin_pages_pass_axe(app, live_server, browser_factory, sign_in):
    populate()
    kepala = make_staff(role="admin", username="kepala")
    context = browser_factory(bypass_csp=True)  # axe is injected as a script tag
    page = context.new_page()
    sign_in(page, live_server.url, "kepala")
    for path in ("/", "/laporan", "/laporan/audit", "/admin/", "/admin/petugas", "/admin/petugas/baru",
                 f"/admin/petugas/{kepala.id}"):
        page.goto(live_server.url + path)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
        assert len(result["passes"]) > 10, "axe did not run its rules"
        violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5]) for v in result["violations"]]
        assert not violations, f"{path}: {violations}"
