"""Every staff page on the office's tablets: each GET page of the URL map (with data, as an
admin) at 800×1280 portrait and 1024×768 landscape, in one browser. A page fails on sideways
scrolling, on a visible tap target under 44×44 px, or on an axe violation. Screenshots of every
page at both sizes are kept in test-output/ to look at."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from factories import make_card, make_coverage, make_staff, make_worker

from kiosk import distribution as distribution_service
from kiosk.coverage import today_jakarta

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core-4.14.1.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SIZES = {"portrait": {"width": 800, "height": 1280}, "landscape": {"width": 1024, "height": 768}}
MIN_TARGET = 44

# Everything the page offers to a finger: measured where the finger lands (a radio or checkbox by
# its label, a stretched link by the row it covers). Links inside a sentence are exempt (WCAG 2.5.8).
MEASURE = r"""
() => {
  const min = %d;
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex]:not([tabindex="-1"])';
  const small = [];
  for (const el of document.querySelectorAll(sel)) {
    if (el.closest('[hidden], [inert], [aria-hidden="true"]')) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    let box = el.getBoundingClientRect();
    if (box.width <= 1 && box.height <= 1) continue;  // visually hidden (sr-only), not a target
    if (style.opacity === '0') continue;  // sits under a visible control that is measured itself
    if ((el.type === 'radio' || el.type === 'checkbox') && el.closest('label')) box = el.closest('label').getBoundingClientRect();
    if (el.matches('.stretched') && el.closest('.row-card, tr')) box = el.closest('.row-card, tr').getBoundingClientRect();
    if (el.tagName === 'A' && style.display === 'inline') {
      const block = el.closest('p, li, dd, td, th, div, small');
      const text = block ? block.textContent.replace(el.textContent, '').trim() : '';
      if (text.length > 0 && block.tagName !== 'TD' && block.tagName !== 'TH') continue;  // a link in a sentence
    }
    if (box.width + 0.5 < min || box.height + 0.5 < min) {
      const label = (el.getAttribute('aria-label') || el.textContent || el.name || el.id || '').trim().replace(/\s+/g, ' ').slice(0, 40);
      small.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${label}" ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return small;
}
""" % MIN_TARGET

OVERFLOW = """
() => {
  const doc = document.documentElement;
  if (doc.scrollWidth <= window.innerWidth) return null;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 1 && r.width > 0 && getComputedStyle(el).position !== 'fixed') {
      wide.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''} right=${Math.round(r.right)}`);
    }
  }
  return {scrollWidth: doc.scrollWidth, innerWidth: window.innerWidth, widest: wide.slice(0, 6)};
}
"""


def populate_world():
    """The access matrix's rows plus a busy day: many workers in every status, cards, an open
    distribution with handovers, a long name and big amounts. Returns the ids for the URL map."""
    from kiosk.terminal import pairing

    day = today_jakarta()
    admin = make_staff(role="admin", username="kepala")
    victim = make_staff(role="petugas", username="petugas.meja")
    from factories import make_distribution

    dist = make_distribution(packages=60, status="open", day=day, name="Penyaluran Sembako Tahap I Kecamatan Tanjung Agung")
    make_distribution(packages=40, status="draft", day=day + timedelta(days=14), name="Penyaluran Sembako Tahap II")
    worker = make_worker(name="Siti Aminah binti Muhammad Abdurrahman Syafei", sex="P", kpj="25098765432", income=12_509_000)
    make_coverage(worker, start=day - timedelta(days=5), end=day + timedelta(days=60))
    card, _ = make_card(worker, staff=admin)
    covered = []
    for i in range(30):
        w = make_worker(name=f"Peserta Nomor {i:02d}", kecamatan=("160301", "160302", "160303")[i % 3], income=2_509_000)
        if i % 5 != 4:
            make_coverage(w, start=day - timedelta(days=10), end=day + timedelta(days=80))
            covered.append(w)
    claimed = covered[0]
    result = distribution_service.claim(dist.id, claimed.id, request_id="sweep-claim", staff=admin, station="Meja 1")
    assert result.collected, result
    for i, w in enumerate(covered[1:12]):
        c, _ = make_card(w, staff=admin)
        got = distribution_service.claim(dist.id, w.id, request_id=f"s{i}", card_id=c.id, station="Kios 1")
        distribution_service.hand_over(got.collection_id, staff=admin, request_id=f"h{i}")
    device, _code = pairing.add_device("Kios aula depan", "check", None, staff=admin)
    return {
        "staff_id": victim.id, "device_id": device.id, "card_id": card.id, "worker_id": worker.id,
        "distribution_id": dist.id, "collection_id": result.collection_id, "line": 2,
        "first_id": worker.id, "second_id": claimed.id, "seq": result.seq,
    }


def staff_pages(app, ids) -> list[str]:
    """The staff and admin GET pages of the URL map, built with real ids; files and fragments
    (pdf, png, xlsx, photos, htmx partials) are left out by their answer, not by a list."""
    from test_access_matrix import ROUTES, build_url

    client = app.test_client()
    assert client.post("/masuk", data={"username": "kepala", "password": "rahasia-123"}).status_code == 302
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or ROUTES[rule.endpoint] not in ("staff", "admin"):
            continue
        url = build_url(app, rule, ids)
        response = client.get(url)
        html = response.status_code == 200 and response.mimetype == "text/html"
        body = response.get_data(as_text=True) if html else ""
        response.close()
        if html and "<main" in body:
            urls.append(url)
    return urls


def test_every_staff_page_fits_the_tablets(app, live_server, browser_factory, sign_in, output_dir):
    ids = populate_world()
    urls = staff_pages(app, ids)
    assert len(urls) >= 20, urls  # the URL map really was walked
    context = browser_factory(bypass_csp=True, locale="en-US")  # axe is injected as a script tag
    page = context.new_page()
    sign_in(page, live_server.url, "kepala")
    failures = []
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        for url in urls:
            page.goto(live_server.url + url)
            page.wait_for_load_state("load")
            name = re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-") or "beranda"
            page.screenshot(path=output_dir / f"{size}-{name}.png", full_page=True)
            overflow = page.evaluate(OVERFLOW)
            if overflow:
                failures.append(f"{size} {url}: scrolls sideways {overflow}")
            small = page.evaluate(MEASURE)
            if small:
                failures.append(f"{size} {url}: targets under {MIN_TARGET} px: {small[:8]}")
            page.add_script_tag(path=str(AXE))
            result = page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS)
            violations = [(v["id"], [n["target"] for n in v["nodes"]][:4]) for v in result["violations"]]
            if violations:
                failures.append(f"{size} {url}: axe {violations}")
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)
