"""Staff home (dashboard), the reports page, downloads and the audit trail page."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from documents import pdf_pages
from factories import make_card, make_coverage, make_distribution, make_staff, make_worker
from openpyxl import load_workbook
from sqlalchemy import func, select

from kiosk import distribution as distribution_service
from kiosk.coverage import JAKARTA, today_jakarta
from kiosk.reports import dashboard
from kiosk.extensions import db
from kiosk.models import Card, Collection, Coverage, Worker

LIVE = {"HX-Request": "true", "HX-Target": "dashboard-live"}
KECAMATAN = {"HX-Request": "true", "HX-Target": "dashboard-kecamatan"}


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert match, name
    return match.group(1)


def run_distribution(covered: int = 12, collecting: int = 8, packages: int = 10):
    """A distribution run through the real claim function: ``collecting`` of ``covered`` workers
    collect (the desk hands each package over), one of them twice (refused), and one uncovered
    worker tries (refused)."""
    day = today_jakarta()
    dist = make_distribution(packages=packages, status="open", day=day)
    workers = [make_worker(name=f"Peserta {i:02d}") for i in range(covered)]
    for w in workers:
        make_coverage(w, start=day - timedelta(days=5), end=day + timedelta(days=85))
    cards = [make_card(w)[0] for w in workers]
    desk = make_staff(role="petugas")
    for i, (w, card) in enumerate(zip(workers[:collecting], cards)):
        result = distribution_service.claim(dist.id, w.id, request_id=f"req-{i}", card_id=card.id, station="Kios 1")
        assert result.collected, result.outcome
        assert distribution_service.hand_over(result.collection_id, staff=desk, request_id=f"desk-{i}").ok
    again = distribution_service.claim(dist.id, workers[0].id, request_id="again", card_id=cards[0].id)
    assert not again.collected
    stranger = make_worker(name="Tanpa Cakupan")
    assert not distribution_service.claim(dist.id, stranger.id, request_id="stranger").collected
    db.session.expire_all()
    return dist, workers


def test_home_figures_equal_database_counts_after_a_scripted_distribution(client, login_as):
    login_as("petugas")
    dist, _ = run_distribution()
    html = client.get("/").get_data(as_text=True)
    day = today_jakarta()
    assert figure(html, "workers") == str(db.session.scalar(select(func.count(Worker.id))))
    assert figure(html, "active") == str(db.session.scalar(
        select(func.count(func.distinct(Coverage.worker_id))).where(Coverage.start_date <= day, Coverage.end_date >= day)))
    assert figure(html, "cards") == str(db.session.scalar(select(func.count(Card.id)).where(Card.revoked_at.is_(None))))
    given = db.session.scalar(select(func.count(Collection.id)).where(
        Collection.distribution_id == dist.id, Collection.voided_at.is_(None)))
    assert (figure(html, "given"), figure(html, "left")) == (str(given), str(dist.packages_total - given)) == ("8", "2")
    assert figure(html, "contribution") == "Rp201.600"  # 12 active × Rp16.800


def test_home_is_a_full_page_with_both_polling_panels(client, login_as):
    login_as("petugas")
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in html and 'id="dashboard-live"' in html and 'id="dashboard-kecamatan"' in html
    assert 'hx-trigger="every 10s"' in html
    assert {"HX-Request", "HX-Target"} <= set(response.vary)
    assert "style=" not in html and "<script>" not in html  # CSP: no inline style or script
    assert "Belum ada penyaluran yang dibuka." in html


@pytest.mark.parametrize("headers, root", [(LIVE, "dashboard-live"), (KECAMATAN, "dashboard-kecamatan")])
def test_each_panel_polls_and_gets_only_itself(client, login_as, headers, root):
    login_as("petugas")
    run_distribution(covered=3, collecting=2, packages=5)
    response = client.get("/", headers=headers)
    html = response.get_data(as_text=True).strip()
    assert response.status_code == 200
    assert html.startswith(f'<section id="{root}"') and "<html" not in html
    assert html.count('<section id="') == 1
    assert {"HX-Request", "HX-Target"} <= set(response.vary)
    if root == "dashboard-live":
        assert figure(html, "given") == "2"
    else:
        assert "<svg" in html and "Status cakupan per kecamatan" in html


def test_the_live_panel_follows_new_collections(client, login_as):
    login_as("petugas")
    dist, workers = run_distribution(covered=5, collecting=1, packages=5)
    assert figure(client.get("/", headers=LIVE).get_data(as_text=True), "given") == "1"
    later = distribution_service.claim(dist.id, workers[3].id, request_id="later")
    # Claimed at a kiosk is not given yet: the desk hands it over.
    assert figure(client.get("/", headers=LIVE).get_data(as_text=True), "given") == "1"
    distribution_service.hand_over(later.collection_id, staff=make_staff(), request_id="desk-later")
    assert figure(client.get("/", headers=LIVE).get_data(as_text=True), "given") == "2"


def test_boosted_navigation_gets_the_full_page(client, login_as):
    login_as("petugas")
    html = client.get("/", headers={"HX-Request": "true", "HX-Boosted": "true", "HX-Target": "dashboard-live"}).get_data(as_text=True)
    assert "<html" in html


def test_home_needs_sign_in_and_htmx_is_told_to_navigate(client):
    make_staff(role="admin")
    assert client.get("/").status_code == 302
    response = client.get("/", headers=LIVE)
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/masuk")


def test_reports_page_lists_distributions_and_coverage(client, login_as):
    login_as("petugas")
    dist, _ = run_distribution(covered=4, collecting=2, packages=5)
    make_distribution(status="draft", name="Masih Rancangan")
    html = client.get("/laporan").get_data(as_text=True)
    assert dist.name in html and "Masih Rancangan" not in html
    assert f"/laporan/penyaluran/{dist.id}/bast.pdf" in html
    assert 'hx-boost="false"' in html  # downloads are not swapped into the page
    assert "Unduh XLSX" not in html  # coverage export (full NIK): admins only
    assert "style=" not in html
    filtered = client.get("/laporan?status=tanpa").get_data(as_text=True)
    assert re.search(r"<strong>1</strong>\s*pekerja sesuai saringan", filtered)  # the stranger


def test_documents_download(client, login_as):
    login_as("petugas")
    dist, workers = run_distribution(covered=5, collecting=3, packages=5)
    bast = client.get(f"/laporan/penyaluran/{dist.id}/bast.pdf")
    assert bast.status_code == 200 and bast.mimetype == "application/pdf" and bast.data.startswith(b"%PDF")
    xlsx = client.get(f"/laporan/penyaluran/{dist.id}/penerima.xlsx")
    assert "attachment" in xlsx.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    assert [r[2] for r in rows[1:]] == ["Peserta 00", "Peserta 01", "Peserta 02"]
    missing = client.get(f"/laporan/penyaluran/{dist.id}/belum-menerima.csv").get_data(as_text=True)
    assert "Peserta 03" in missing and "Peserta 04" in missing and "Peserta 00" not in missing
    assert client.get(f"/laporan/penyaluran/{dist.id}/belum-menerima.pdf").data.startswith(b"%PDF")
    draft = make_distribution(status="draft")
    assert client.get(f"/laporan/penyaluran/{draft.id}/bast.pdf").status_code == 404
    assert client.get(f"/laporan/penyaluran/{dist.id}/penerima.exe").status_code == 404


def test_closed_distribution_bast_comes_from_the_frozen_report(client, login_as):
    admin = login_as("admin")
    dist, workers = run_distribution(covered=4, collecting=2, packages=4)
    distribution_service.close_distribution(dist.id, staff=admin, unhanded="keep")
    db.session.expire_all()
    # A worker renamed after close-out: the filed BAST keeps the name of the day.
    workers[0].name = "Nama Baru"
    db.session.commit()
    text = " ".join(" ".join(pdf_pages(client.get(f"/laporan/penyaluran/{dist.id}/bast.pdf").data)).split())
    assert "Peserta 00" in text and "Nama Baru" not in text
    assert "Sisa paket : 2 paket" in text


def test_coverage_export_is_for_admins_and_holds_the_filtered_rows(client, login_as, app):
    login_as("admin")
    day = today_jakarta()
    soon, later = make_worker(name="Segera", occupation="Ojek"), make_worker(name="Nanti", occupation="Ojek")
    make_coverage(soon, start=day - timedelta(days=80), end=day + timedelta(days=3))
    make_coverage(later, start=day - timedelta(days=10), end=day + timedelta(days=80))
    make_worker(name="Petani Saja", occupation="Petani")
    response = client.get("/laporan/cakupan.xlsx?berakhir_dalam=7&pekerjaan=Ojek")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert [r[3] for r in rows[1:]] == ["Segera"]
    csv_text = client.get("/laporan/cakupan.csv?pekerjaan=Ojek&status=aktif").get_data(as_text=True)
    assert "Segera" in csv_text and "Nanti" in csv_text and "Petani Saja" not in csv_text


def test_petugas_cannot_open_admin_reports(client, login_as):
    login_as("petugas")
    for url in ("/laporan/cakupan.xlsx", "/laporan/cakupan.csv", "/laporan/audit", "/laporan/audit.csv", "/laporan/audit.xlsx"):
        assert client.get(url).status_code == 403, url


def test_audit_page_filters_and_exports(client, login_as):
    admin = login_as("admin")
    ani = make_staff(username="ani", role="petugas")
    client.post("/admin/petugas/baru", data={"username": "baru1", "full_name": "Baru Satu", "role": "petugas",
                                             "password": "Kopi-Semende-Pagi", "confirm": "Kopi-Semende-Pagi",
                                             "admin_password": "rahasia-123"})
    client.post(f"/admin/petugas/{ani.id}/status", data={"active": "0", "admin_password": "rahasia-123"})
    html = client.get(f"/laporan/audit?petugas={admin.id}&jenis=staff&id={ani.id}").get_data(as_text=True)
    assert "staff.deactivate" in html and "staff.create" not in html
    assert re.search(r"<strong>1</strong>\s*kejadian", html)
    today = today_jakarta().isoformat()
    response = client.get(f"/laporan/audit.xlsx?petugas={admin.id}&dari={today}&sampai={today}")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert sorted(r[3] for r in rows[1:]) == ["staff.create", "staff.deactivate"]
    assert all(r[1] == admin.username for r in rows[1:])
    yesterday = (today_jakarta() - timedelta(days=1)).isoformat()
    rows = list(load_workbook(io.BytesIO(client.get(f"/laporan/audit.xlsx?sampai={yesterday}").data)).active.iter_rows(values_only=True))
    assert len(rows) == 1  # the header only
    assert "style=" not in html


def test_audit_page_pages_through_many_events(client, login_as):
    from kiosk.audit import record

    login_as("admin")
    worker = make_worker()
    for i in range(120):
        record("worker.update", worker, before={"n": i}, after={"n": i + 1})
    db.session.commit()
    first = client.get("/laporan/audit?jenis=worker").get_data(as_text=True)
    assert "Halaman 1 dari 3" in first and "halaman=2" in first
    third = client.get("/laporan/audit?jenis=worker&halaman=3").get_data(as_text=True)
    assert third.count("<code>worker.update</code>") == 20


def test_hour_chart_counts_the_collections_of_the_day(client, login_as):
    """By the hour of the handover: claimed before nine, handed over after."""
    login_as("petugas")
    dist, _ = run_distribution(covered=3, collecting=3, packages=3)
    nine = datetime.combine(dist.day, datetime.min.time(), JAKARTA).replace(hour=9, minute=15)
    for c in db.session.scalars(select(Collection).where(Collection.distribution_id == dist.id)):
        c.collected_at = (nine - timedelta(minutes=30)).astimezone(timezone.utc)
        c.handed_over_at = nine.astimezone(timezone.utc)
    db.session.commit()
    html = client.get("/", headers=LIVE).get_data(as_text=True)
    assert "Pukul 09.00: 3 paket" in html and "Paling ramai pukul 09.00 (3 paket)." in html


def test_coverage_figures_are_shared_for_a_while_but_packages_are_always_fresh(client, login_as, app):
    login_as("petugas")
    dist, workers = run_distribution(covered=4, collecting=1, packages=4)
    first = client.get("/", headers=LIVE).get_data(as_text=True)
    make_worker(name="Baru Saja")
    fresh = distribution_service.claim(dist.id, workers[2].id, request_id="fresh")
    distribution_service.hand_over(fresh.collection_id, staff=make_staff(), request_id="desk-fresh")
    cached = client.get("/", headers=LIVE).get_data(as_text=True)
    assert figure(cached, "workers") == figure(first, "workers")  # within DASHBOARD_CACHE_SECONDS
    assert figure(cached, "given") == "2"
    app.config["DASHBOARD_CACHE_SECONDS"] = 0
    fresh = client.get("/", headers=LIVE).get_data(as_text=True)
    assert int(figure(fresh, "workers")) == int(figure(first, "workers")) + 1


def test_pages_in_english(client, login_as):
    login_as("admin")
    run_distribution(covered=2, collecting=1, packages=2)
    client.set_cookie("lang", "en")
    for url in ("/", "/laporan", "/laporan/audit", "/admin/", "/admin/petugas"):
        response = client.get(url)
        assert response.status_code == 200, url
    home = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in home
    # documents stay in Bahasa Indonesia whatever the screen language
    dist_id = dashboard.current_distribution().id
    assert "BERITA ACARA SERAH TERIMA" in pdf_pages(client.get(f"/laporan/penyaluran/{dist_id}/bast.pdf").data)[0]


ODD_REPORT_QUERIES = ["berakhir_dalam=²", "berakhir_dalam=-1", "berakhir_dalam=99999999999999999999",
                      "status=<b>", "pekerjaan=" + "x" * 500]
ODD_AUDIT_QUERIES = ["petugas=²", "id=abc", "dari=2026-13-45", "sampai=kemarin", "halaman=0", "halaman=999999"]


def test_odd_filters_are_ignored_not_500(client, login_as):
    login_as("admin")
    for query in ODD_REPORT_QUERIES:
        assert client.get(f"/laporan?{query}").status_code == 200, query
        assert client.get(f"/laporan/cakupan.csv?{query}").status_code == 200, query
    for query in ODD_AUDIT_QUERIES:
        assert client.get(f"/laporan/audit?{query}").status_code == 200, query
    # A NUL is refused before any view runs, in words (kiosk.web.UnstorableText).
    for url in ("/laporan?kecamatan=%00", "/laporan/cakupan.csv?kecamatan=%00"):
        response = client.get(url)
        assert response.status_code == 400 and "karakter NUL" in response.get_data(as_text=True), url


def test_unknown_document_kinds_and_formats_are_404(client, login_as):
    login_as("admin")
    dist, _ = run_distribution(covered=1, collecting=1, packages=1)
    for url in (f"/laporan/penyaluran/{dist.id}/semua.pdf", f"/laporan/penyaluran/{dist.id}/penerima.docx",
                "/laporan/cakupan.pdf", "/laporan/audit.pdf", "/laporan/penyaluran/9999/penerima.csv"):
        assert client.get(url).status_code == 404, url
