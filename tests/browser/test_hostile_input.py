"""The reproduction of issue #12 in a real Chromium: a petugas enrolls a worker whose name is an
htmx element that, if it ever became markup in an admin's browser, would make the petugas an
admin (``hx-post`` to the role change with ``hx-trigger="load"``; the admin's page would add its
own CSRF header). An admin then saves that worker's edit form (the name comes back in the flash)
and types the worker's NIK into the enroll form (the live check answers "NIK ini sudah terdaftar
atas nama …"). The name must show as text, no request may leave for the role change, and the
petugas stays a petugas with no role change in the audit trail.

Defence in depth: even if such markup ever did act, the role change needs the admin's own
password in the same request. The last step makes the admin's page send exactly what the
payload would (htmx, the page's CSRF header, no password) and the role stays."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from factories import make_staff, nik_for

pytestmark = pytest.mark.browser

BIRTH = date(1985, 7, 14)


def payload(staff_id: int) -> str:
    return (f'<b hx-post="/admin/petugas/{staff_id}/peran" hx-vals=\'{{"role":"admin"}}\' '
            f'hx-trigger="load">Siti</b>')


def test_a_worker_named_as_an_htmx_element_never_acts_in_an_admins_browser(app, live_server, browser_factory,
                                                                           output_dir):
    from kiosk.extensions import db
    from kiosk.models import AuditEvent, Staff, Worker
    from kiosk.wilayah import desa_list

    make_staff(role="admin", username="admin", password="kata-sandi-kuat")
    petugas_id = make_staff(role="petugas", username="petugas", password="kata-sandi-kuat").id
    name = payload(petugas_id)
    nik = nik_for(BIRTH, "P", serial=77)

    # The petugas enrolls the worker through the real form (their own session).
    clerk = app.test_client()
    assert clerk.post("/masuk", data={"username": "petugas", "password": "kata-sandi-kuat"}).status_code == 302
    response = clerk.post("/pekerja/baru", data={
        "nik": nik, "name": name, "sex": "P", "birth_place": "Muara Enim", "birth_date": BIRTH.isoformat(),
        "address": "Jl. Merdeka 1", "kecamatan": "160302", "desa": desa_list("160302")[0].code,
        "occupation": "Petani", "occupation_other": "", "phone": "", "kpj": "", "income": "Rp1.500.000",
    })
    assert response.status_code == 303, response.get_data(as_text=True)[-500:]
    worker = db.session.scalar(select(Worker).where(Worker.nik == nik))
    assert worker.name == name  # stored as typed: it is data
    worker_id = worker.id

    context = browser_factory(viewport={"width": 1000, "height": 1100})
    page = context.new_page()
    role_changes: list[str] = []
    page.on("request", lambda req: role_changes.append(req.url) if "/peran" in req.url else None)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(live_server.url + "/masuk")
    page.get_by_label("Nama pengguna").fill("admin")
    page.get_by_label("Kata sandi").fill("kata-sandi-kuat")
    page.get_by_role("button", name="Masuk").click()
    page.get_by_role("heading", name="Beranda").wait_for()

    # 1. The admin saves the worker's edit form: the flash names the worker.
    page.goto(f"{live_server.url}/pekerja/{worker_id}/ubah")
    page.get_by_role("button", name="Simpan").first.click()
    flash = page.locator(".flash-success")
    flash.wait_for()
    assert name in flash.inner_text()  # shown as the text it is
    assert page.locator("#messages b[hx-post]").count() == 0
    page.screenshot(path=output_dir / "1-flash.png", full_page=True)

    # 2. The admin types the worker's NIK into the enroll form: the live check names the worker.
    page.goto(live_server.url + "/pekerja/baru")
    page.get_by_label("Nama lengkap").fill("Orang lain")
    page.get_by_label("Perempuan").check()
    page.get_by_label("Tanggal lahir").fill(BIRTH.isoformat())
    page.get_by_label("NIK").press_sequentially(nik)
    feedback = page.locator("#feedback-nik")
    feedback.get_by_text("sudah terdaftar").wait_for()
    assert name in feedback.inner_text()
    assert page.locator("#feedback-nik b[hx-post]").count() == 0
    page.screenshot(path=output_dir / "2-live-check.png", full_page=True)

    # htmx would have fired "load" at once; give a stray request time to land all the same.
    page.wait_for_timeout(500)
    assert role_changes == [], role_changes
    assert not problems, problems
    db.session.remove()
    assert db.session.get(Staff, petugas_id).role == "petugas"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.role")) is None

    # 3. As if the markup had acted: the admin's own page sends the payload's request through
    # htmx, CSRF header included, without the admin's password. It is refused; nothing changes.
    with page.expect_response(lambda r: r.url.endswith(f"/admin/petugas/{petugas_id}/peran")) as forged:
        page.evaluate("""id => htmx.ajax("POST", `/admin/petugas/${id}/peran`,
                                          {values: {role: "admin"}, target: "#feedback-nik", swap: "none"})""",
                      petugas_id)
    assert forged.value.status == 422
    assert forged.value.request.header_value("x-csrftoken")
    db.session.remove()
    assert db.session.get(Staff, petugas_id).role == "petugas"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.role")) is None
