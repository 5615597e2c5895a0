"""The slip of a kiosk set to print, in real Chromium: AMBIL on a device with 58 or 80 mm thermal
paper asks the browser to print once (with --kiosk-printing that is the default printer, no
dialog); the page printed with print media is the slip alone, on one page of the paper's width,
with the number (big), the name, the masked NIK, the distribution, the date and time — read back
from the PDF Chromium makes of it. A kiosk that does not print never asks."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest

from factories import make_distribution
from kiosk import distribution as pickup
from kiosk.coverage import today_jakarta
from kiosk.nik import mask_nik
from test_kiosk import enrolled_worker, open_kiosk, scan_by_keyboard, wait_state

pytestmark = pytest.mark.browser

MM = 72 / 25.4  # PDF points per millimetre

# window.print() counted instead of printed (headless Chromium has no printer).
COUNT_PRINTS = "() => { window.kioskPrints = 0; window.print = () => { window.kioskPrints += 1; }; }"


@pytest.fixture
def app_config():
    return {"KIOSK_RESULT_SECONDS": 30}


def claim(page, token: str) -> None:
    scan_by_keyboard(page, token)
    wait_state(page, "result")
    page.click(".k-button-take")
    wait_state(page, "collected")


def big_and_small(pdf_bytes: bytes) -> tuple[str, str]:
    """The characters on the PDF's first page at least three times as tall as the name's
    letters (what a person sees first), and the others (spaces squeezed)."""
    pdf = pdfium.PdfDocument(pdf_bytes)
    try:
        textpage = pdf[0].get_textpage()
        chars = textpage.get_text_range()
        heights = []
        for i, char in enumerate(chars):
            _left, bottom, _right, top = textpage.get_charbox(i)
            heights.append(top - bottom if char.strip() else 0)
        name_height = heights[chars.index("Siti")]
        big = "".join(c for c, h in zip(chars, heights) if h > 3 * name_height)
        small = "".join(c for c, h in zip(chars, heights) if h <= 3 * name_height)
        # pdfium marks a hyphen that ends a line with U+FFFE (and drops the line break).
        return big, " ".join(small.replace("\ufffe", "-").split())
    finally:
        pdf.close()


@pytest.mark.parametrize("paper", ["58", "80"])
def test_a_claim_prints_its_slip(app, live_server, browser_factory, output_dir, paper):
    distribution = make_distribution(packages=100, day=today_jakarta(), name="Penyaluran Sembako Tahap I Kecamatan Lawang Kidul Desember 2026")
    for name in ("Budi Santoso", "Rahmat Hidayat"):  # two claims first: the slip's number is 3
        other = enrolled_worker(name)[0]
        pickup.claim(distribution.id, other.id, request_id=f"before-{other.id}", station="Meja")
    worker, _card, token = enrolled_worker("Siti Nurhaliza Binti Muhammad Abdurrahman Wahid Al-Banjari")

    page, _device = open_kiosk(browser_factory, live_server, camera=False, mode="collect",
                               distribution=distribution, slip_paper=paper)
    page.evaluate(COUNT_PRINTS)  # htmx swaps the answers: the page (and the stub) stays
    claim(page, token)
    page.wait_for_function("() => window.kioskPrints === 1")
    assert page.inner_text("#scan-result .k-seq") == "3"
    assert page.locator(".k-slip-note").is_visible() and not page.locator(".k-slip").is_visible()
    page.screenshot(path=output_dir / f"kiosk-collected-slip-{paper}.png")

    pdf = page.pdf(prefer_css_page_size=True)
    (output_dir / f"slip-{paper}mm.pdf").write_bytes(pdf)
    document = pdfium.PdfDocument(pdf)
    try:
        assert len(document) == 1  # the whole slip on one piece of paper
        width, _height = document[0].get_size()
        document[0].render(scale=3).to_pil().save(output_dir / f"slip-{paper}mm.png")
    finally:
        document.close()
    assert abs(width - int(paper) * MM) < 1
    big, text = big_and_small(pdf)
    assert big == "3"  # the number, and nothing else, big
    assert "Siti Nurhaliza Binti Muhammad Abdurrahman Wahid Al-Banjari" in text
    assert "Nomor paket" in text and "100 paket" in text
    assert mask_nik(worker.nik) in text and worker.nik not in text
    assert "Penyaluran Sembako Tahap I Kecamatan Lawang Kidul Desember 2026" in text and "Kios aula 1" in text
    # Nothing of the screen around it.
    assert "Selesai" not in text and "Ketik kode kartu" not in text

    # AMBIL answered again (a double tap, the page reloaded) prints nothing more.
    page.click(".k-button-done")
    wait_state(page, "welcome")
    assert page.evaluate("window.kioskPrints") == 1


def test_a_kiosk_without_a_printer_prints_nothing(app, live_server, browser_factory):
    distribution = make_distribution(packages=10, day=today_jakarta())
    _worker, _card, token = enrolled_worker()
    page, _device = open_kiosk(browser_factory, live_server, camera=False, mode="collect", distribution=distribution)
    page.evaluate(COUNT_PRINTS)  # htmx swaps the answers: the page (and the stub) stays
    claim(page, token)
    assert page.locator("[data-slip]").count() == 0 and page.locator(".k-slip-note").count() == 0
    assert page.evaluate("window.kioskPrints") == 0
