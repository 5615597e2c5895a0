"""The worker's cards panel in Chromium: issue (asked in the page, first cancelled), what else on the
worker page follows the card, reissue, print page."""

from __future__ import annotations

import pytest

from factories import make_coverage, make_staff, make_worker, valid_cards

pytestmark = pytest.mark.browser


def test_staff_issue_and_reissue_in_the_browser(app, live_server, browser_factory, sign_in, open_section, output_dir):
    make_staff(role="petugas", username="petugas", password="kata-sandi-kuat")
    make_staff(role="admin")
    worker = make_worker(name="Sri Wahyuni", sex="P", kpj="25098765432")
    make_coverage(worker)
    page = browser_factory(viewport={"width": 1000, "height": 1200}).new_page()
    problems, dialogs = [], []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))  # reissue still asks natively
    sign_in(page, live_server.url, "petugas", "kata-sandi-kuat")

    page.goto(live_server.url + f"/pekerja/{worker.id}")
    panel = page.locator("#worker-cards")
    assert page.get_by_role("button", name="Hapus pekerja ini").is_visible()  # no card yet: deletable
    panel.get_by_text("Terbitkan kartu", exact=True).click()  # asks in the page
    question = panel.get_by_text("Terbitkan kartu peserta untuk Sri Wahyuni?")
    assert question.is_visible() and dialogs == []
    page.screenshot(path=output_dir / "0-asked.png", full_page=True)
    panel.get_by_role("button", name="Batal").click()  # cancelled: nothing happens
    assert not question.is_visible()
    page.wait_for_timeout(300)  # let a wrongly sent request land before looking again
    assert valid_cards(worker) == [] and panel.get_by_text("Belum punya kartu berlaku").is_visible()
    panel.get_by_text("Terbitkan kartu", exact=True).click()
    panel.get_by_role("button", name="Ya, terbitkan kartu").click()
    panel.get_by_text("Kartu diterbitkan").wait_for()
    assert dialogs == []
    # the rest of the page follows: the history names the card, the delete button is gone
    page.locator("#worker-history").get_by_text("Kartu diterbitkan", exact=True).first.wait_for()
    page.locator("#worker-delete").get_by_text("Data ini tidak bisa dihapus").wait_for()
    assert page.get_by_role("button", name="Hapus pekerja ini").count() == 0
    (issued,) = valid_cards(worker)
    assert panel.get_by_role("link", name="Unduh kartu (PDF)").get_attribute("href") == f"/kartu/{issued.id}.pdf"
    assert panel.get_by_role("link", name="Unduh gambar kartu (PNG)").get_attribute("href") == f"/kartu/{issued.id}.png"
    preview = panel.locator("img.card-preview")
    preview.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    page.screenshot(path=output_dir / "1-issued.png", full_page=True)
    (first,) = valid_cards(worker)

    panel.get_by_text("Ganti kartu (hilang / rusak)").click()
    panel.get_by_label("Rusak").check()
    panel.get_by_label("Keterangan").fill("terendam banjir")
    panel.get_by_role("button", name="Cabut kartu lama dan terbitkan kartu baru").click()
    panel.get_by_text("kartu baru diterbitkan").wait_for()
    panel.get_by_text("Rusak: terendam banjir").wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=panel.locator("img.card-preview").element_handle())
    page.screenshot(path=output_dir / "2-reissued.png", full_page=True)
    (second,) = valid_cards(worker)
    assert second.id != first.id and len(dialogs) == 1

    open_section(page, "Kartu")
    page.get_by_role("heading", name="Cetak kartu").wait_for()
    page.get_by_text("kartu siap dicetak").wait_for()
    # The page's own stylesheet is there after a boosted navigation too.
    page.wait_for_function("() => [...document.styleSheets].some(s => (s.href || '').includes('/css/issuing.'))")
    page.screenshot(path=output_dir / "3-print-page.png", full_page=True)
    assert not problems, problems
