"""The worker's cards panel in Chromium: issue (after a declined confirmation), reissue, print page."""

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

    answers = [False]  # the first confirmation is declined, later ones accepted

    def confirm(dialog):
        dialogs.append(dialog.message)
        dialog.accept() if (answers.pop() if answers else True) else dialog.dismiss()

    page.on("dialog", confirm)
    sign_in(page, live_server.url, "petugas", "kata-sandi-kuat")

    page.goto(live_server.url + f"/pekerja/{worker.id}")
    panel = page.locator("#worker-cards")
    panel.get_by_role("button", name="Terbitkan kartu").click()  # declined: nothing happens
    assert dialogs == ["Terbitkan kartu peserta untuk Sri Wahyuni?"]
    assert valid_cards(worker) == []
    page.wait_for_timeout(300)  # let a wrongly sent request land before looking again
    assert valid_cards(worker) == [] and panel.get_by_text("Belum punya kartu berlaku").is_visible()
    panel.get_by_role("button", name="Terbitkan kartu").click()
    panel.get_by_text("Kartu diterbitkan").wait_for()
    assert len(dialogs) == 2
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
    assert second.id != first.id and len(dialogs) == 3

    open_section(page, "Kartu")
    page.get_by_role("heading", name="Cetak kartu").wait_for()
    page.get_by_text("kartu siap dicetak").wait_for()
    # The page's own stylesheet is there after a boosted navigation too.
    page.wait_for_function("() => [...document.styleSheets].some(s => (s.href || '').includes('/css/issuing.'))")
    page.screenshot(path=output_dir / "3-print-page.png", full_page=True)
    assert not problems, problems
