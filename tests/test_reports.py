"""Reports: the BAST PDF, recipient lists, coverage report, dashboard figures and charts."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, time, timedelta, timezone

import pypdfium2 as pdfium
import pytest
from documents import pdf_pages
from factories import make_card, make_coverage, make_distribution, make_staff, make_worker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from flask import render_template
from openpyxl import load_workbook
from sqlalchemy import func, select

from kiosk import card_registry
from kiosk import spreadsheets
from kiosk.coverage import JAKARTA
from kiosk.i18n import hari_tanggal_indonesian
from kiosk.reports import audit as audit_report
from kiosk.reports.bast import bast_pdf
from kiosk.reports import coverage as coverage_report
from kiosk.reports import charts, dashboard, lists
from kiosk.reports import pdf as pdf_report
from kiosk.extensions import db
from kiosk.models import AuditEvent, Card, Collection, Coverage, Worker

DAY = date(2026, 11, 24)  # a Tuesday


def collect(distribution, worker, seq: int, at: datetime, station: str = "Kios 1", proxy=None, voided=False,
            handed_over=True):
    """A Collection row written directly (as kiosk.distribution would), with the count raised;
    handed over at the desk two minutes after the claim unless ``handed_over`` is False."""
    row = Collection(
        distribution_id=distribution.id, worker_id=worker.id, seq=seq, collected_at=at, station=station,
        proxy_name=proxy[0] if proxy else None, proxy_relation=proxy[1] if proxy else None,
        voided_at=at + timedelta(minutes=1) if voided else None,
        handed_over_at=at + timedelta(minutes=2) if handed_over else None,
    )
    db.session.add(row)
    if not voided:
        distribution.packages_given += 1
    distribution.next_seq = max(distribution.next_seq, seq + 1)
    db.session.commit()
    return row


def scripted_distribution(recipients: int = 100, absent: int = 5, packages: int = 120, status: str = "closed"):
    """``recipients`` covered workers who collected (08.00 onwards, one every 3 minutes), ``absent``
    covered workers who did not, one voided collection, and one worker never covered."""
    dist = make_distribution(packages=packages, status=status, day=DAY, name="Penyaluran Sembako Tahap I",
                             bast_number="027/BAST/DISNAKER/XI/2026", official_name="Drs. Hendra Saputra",
                             official_nip="197001011995031001", official_title="Kepala Bidang",
                             receiver_name="Siti Aminah", witness1_name="Budi Santoso", witness2_name="Rina Wati")
    start = datetime.combine(DAY, time(8, 0), JAKARTA).astimezone(timezone.utc)
    workers = []
    for i in range(1, recipients + absent + 1):
        worker = make_worker(name=f"Penerima {i:03d}", desa_name=f"Desa {i % 7}")
        make_coverage(worker, start=DAY - timedelta(days=10), end=DAY + timedelta(days=80))
        workers.append(worker)
    for i, worker in enumerate(workers[:recipients], 1):
        proxy = ("Ahmad Wakil", "anak") if i == 7 else None
        collect(dist, worker, seq=i + 1, at=start + timedelta(minutes=3 * i), proxy=proxy)
    # seq 1 was voided (wrong person) and re-collected as seq 2 by the first worker
    collect(dist, workers[-1], seq=1, at=start, voided=True)
    make_worker(name="Tanpa Cakupan")
    return dist, workers


def test_bast_of_100_recipients_lists_each_once_with_totals(app, output_dir):
    dist, workers = scripted_distribution()
    data = bast_pdf(dist)
    pages = pdf_pages(data)
    text = "\n".join(pages)

    assert len(pages) >= 3
    for number, page in enumerate(pages, 1):
        page = " ".join(page.split())
        assert f"Halaman {number} dari {len(pages)}" in page
        if re.search(r"Penerima \d{3}", page):
            assert "No. Nama NIK Desa Waktu Tempat/ Stasiun Diwakilkan No. paket" in page  # header on every page
    for i in range(1, 101):
        assert len(re.findall(rf"Penerima {i:03d}\b", text)) == 1, i
    for absent in range(101, 106):
        assert f"Penerima {absent:03d}" not in text
    flat = " ".join(text.split())
    assert "BERITA ACARA SERAH TERIMA" in flat
    assert "027/BAST/DISNAKER/XI/2026" in flat
    assert "SEMENTARA" not in flat  # closed: the final document
    assert "Selasa, 24 November 2026" in flat
    assert "100 paket sembako" in flat
    assert "Sisa paket : 20 paket" in flat
    assert "Penerima yang belum mengambil : 5 orang" in flat
    assert "NIP 197001011995031001" in flat and "Budi Santoso" in flat and "Rina Wati" in flat
    assert "Ahmad Wakil (anak)" in flat
    assert workers[0].nik not in flat  # only masked NIKs
    assert f"{workers[0].nik[:4]} •••• •••• {workers[0].nik[-4:]}" in flat

    pdf = pdfium.PdfDocument(data)
    pdf[0].render(scale=1.5).to_pil().save(output_dir / "bast-page-1.png")
    for index in range(1, len(pdf)):
        pdf[index].render(scale=1.5).to_pil().save(output_dir / f"bast-page-{index + 1}.png")
    pdf.close()


def test_bast_reads_the_frozen_report_when_present(engine_app):
    dist = make_distribution(packages=3, status="closed", day=DAY)
    dist.frozen_report = {  # as distribution.build_report writes it
        "recipients": [
            {"seq": 2, "worker_id": 2, "name": "Beku Dua", "nik_masked": "1603 •••• •••• 0002", "desa": "Tanjung",
             "kecamatan_code": "160302", "time": "2026-11-24T02:10:00+00:00", "station": "Meja 1",
             "proxy_name": None, "proxy_relation": None, "by_card": False},
            {"seq": 1, "worker_id": 1, "name": "Beku Satu", "nik_masked": "1603 •••• •••• 0001", "desa": "Lubai",
             "kecamatan_code": "160302", "time": "2026-11-24T01:05:00+00:00", "station": "Kios A",
             "proxy_name": "Wakil", "proxy_relation": "istri", "by_card": True},
        ],
        "non_recipients": [{"worker_id": 3, "name": "Tidak Datang", "nik_masked": "1603 •••• •••• 0003", "desa": "X",
                            "kecamatan_code": "160305"}],
    }
    db.session.commit()
    make_worker(name="Hidup Tapi Tidak Beku")  # live rows are ignored once frozen
    rows = lists.recipients(dist)
    assert [r.seq for r in rows] == [1, 2]
    assert rows[0].proxy == "Wakil (istri)"
    assert lists.clock(rows[0].collected_at) == "08.05"
    flat = " ".join(" ".join(pdf_pages(bast_pdf(dist))).split())
    assert "Beku Satu" in flat and "Beku Dua" in flat and "Hidup Tapi" not in flat
    assert "Sisa paket : 1 paket" in flat
    assert "Penerima yang belum mengambil : 1 orang" in flat


def test_bast_of_an_empty_distribution_still_renders(app):
    dist = make_distribution(packages=50, status="open", day=DAY)
    flat = " ".join(" ".join(pdf_pages(bast_pdf(dist))).split())
    assert "Belum ada paket yang diserahkan." in flat
    assert "SEMENTARA — penyaluran belum ditutup" in flat
    assert "Sisa paket : 50 paket" in flat
    assert "Halaman 1 dari 1" in flat


def test_signing_lists_have_every_name_and_a_signature_column(app, output_dir):
    dist, workers = scripted_distribution(recipients=30, absent=4)
    text = " ".join(" ".join(pdf_pages(pdf_report.signing_list_pdf(dist, "recipients"))).split())
    assert "Tanda tangan / cap jempol" in text
    assert all(text.count(f"Penerima {i:03d}") == 1 for i in range(1, 31))
    missing = pdf_report.signing_list_pdf(dist, "non_recipients")
    text = " ".join(" ".join(pdf_pages(missing)).split())
    assert [i for i in range(1, 35) if f"Penerima {i:03d}" in text] == [31, 32, 33, 34]
    assert "Tanpa Cakupan" not in text  # not eligible: never covered
    pdf = pdfium.PdfDocument(pdf_report.signing_list_pdf(dist, "recipients"))
    pdf[0].render(scale=1.2).to_pil().save(output_dir / "daftar-penerima.png")
    pdf.close()


def test_non_recipients_of_a_list_distribution_are_the_listed_who_did_not_collect(engine_app):
    from kiosk.models import DistributionListEntry

    dist = make_distribution(packages=5, eligibility="list", day=DAY)
    listed = [make_worker(name=f"Daftar {i}") for i in range(3)]
    make_worker(name="Bukan Daftar")
    for w in listed:
        db.session.add(DistributionListEntry(distribution_id=dist.id, worker_id=w.id))
    db.session.commit()
    collect(dist, listed[1], seq=1, at=datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc))
    assert [r.name for r in lists.non_recipients(dist)] == ["Daftar 0", "Daftar 2"]


def test_recipient_exports_hold_exactly_the_rows(engine_app):
    dist, workers = scripted_distribution(recipients=12, absent=3)
    sheet = lists.recipients_sheet(dist)
    book = load_workbook(io.BytesIO(spreadsheets.to_xlsx(sheet)), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("No.", "No. paket", "Nama")
    assert [r[2] for r in rows[1:]] == [f"Penerima {i:03d}" for i in range(1, 13)]
    assert [r[1] for r in rows[1:]] == list(range(2, 14))  # the voided seq 1 is not there
    book.close()
    parsed = list(csv.reader(io.StringIO(spreadsheets.to_csv(lists.non_recipients_sheet(dist)).decode("utf-8-sig"))))
    assert sorted(r[1] for r in parsed[1:]) == ["Penerima 013", "Penerima 014", "Penerima 015"]


def test_spreadsheet_cells_that_look_like_formulas_stay_text(app):
    sheet = spreadsheets.Sheet("x", ["Nama"], [["=HYPERLINK(\"http://evil\")"], ["-5"], ["Budi"]])
    book = load_workbook(io.BytesIO(spreadsheets.to_xlsx(sheet)))
    assert [c.value for c in book.active["A"]][1:] == ["'=HYPERLINK(\"http://evil\")", "'-5", "Budi"]
    assert spreadsheets.to_csv(sheet).decode("utf-8-sig").splitlines()[1].startswith("\"'=HYPERLINK")


def make_population(day: date):
    """Workers in two kecamatan and three occupations, in every coverage status."""
    people = {}
    spec = [
        # name, kecamatan, occupation, coverage periods relative to day
        ("aktif-lama", "160302", "Petani", [(-30, 60)]),
        ("aktif-segera", "160302", "Petani", [(-80, 5)]),
        ("aktif-diperpanjang", "160302", "Ojek", [(-80, 5), (6, 96)]),
        ("belum", "160303", "Ojek", [(3, 93)]),
        ("berakhir", "160303", "Pedagang", [(-120, -30)]),
        ("tanpa", "160303", "Pedagang", []),
        ("aktif-hari-ini-berakhir", "160303", "Petani", [(-90, 0)]),
    ]
    for name, kec, job, periods in spec:
        worker = make_worker(name=name, kecamatan=kec, occupation=job)
        for a, b in periods:
            make_coverage(worker, start=day + timedelta(days=a), end=day + timedelta(days=b))
        people[name] = worker
    return people


def test_coverage_summary_per_kecamatan_and_occupation(engine_app):
    make_population(DAY)
    by_kec = {s.key: s for s in coverage_report.coverage_summary(DAY, by="kecamatan", ending_within=14)}
    assert (by_kec["160302"].aktif, by_kec["160302"].belum_aktif, by_kec["160302"].berakhir, by_kec["160302"].tanpa) == (3, 0, 0, 0)
    assert by_kec["160302"].ending_soon == 1  # the renewed one is not "to renew"
    assert (by_kec["160303"].aktif, by_kec["160303"].belum_aktif, by_kec["160303"].berakhir, by_kec["160303"].tanpa) == (1, 1, 1, 1)
    assert by_kec["160303"].ending_soon == 1
    by_job = {s.key: s for s in coverage_report.coverage_summary(DAY, by="occupation")}
    assert by_job["Petani"].aktif == 3 and by_job["Ojek"].total == 2 and by_job["Pedagang"].tanpa == 1


@pytest.mark.parametrize(
    "filters, expected",
    [
        (coverage_report.CoverageFilter(), {"aktif-lama", "aktif-segera", "aktif-diperpanjang", "belum", "berakhir", "tanpa", "aktif-hari-ini-berakhir"}),
        (coverage_report.CoverageFilter(status="aktif"), {"aktif-lama", "aktif-segera", "aktif-diperpanjang", "aktif-hari-ini-berakhir"}),
        (coverage_report.CoverageFilter(ending_within=14), {"aktif-segera", "aktif-hari-ini-berakhir"}),
        (coverage_report.CoverageFilter(ending_within=0), {"aktif-hari-ini-berakhir"}),
        (coverage_report.CoverageFilter(kecamatan_code="160303", status="berakhir"), {"berakhir"}),
        (coverage_report.CoverageFilter(occupation="Ojek"), {"aktif-diperpanjang", "belum"}),
    ],
)
def test_coverage_xlsx_holds_exactly_the_filtered_rows(engine_app, filters, expected):
    people = make_population(DAY)
    book = load_workbook(io.BytesIO(spreadsheets.to_xlsx(coverage_report.coverage_sheet(DAY, filters))), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    header = rows[0]
    names = [r[header.index("Nama")] for r in rows[1:]]
    assert sorted(names) == sorted(expected)
    for r in rows[1:]:
        assert r[header.index("NIK")] == people[r[header.index("Nama")]].nik
    if filters.ending_within is not None:
        assert all(r[header.index("Sisa hari")] <= filters.ending_within for r in rows[1:])


def test_dashboard_figures_equal_database_counts_after_a_distribution(engine_app):
    dist, workers = scripted_distribution(recipients=40, absent=6, packages=50, status="open")
    make_population(DAY)
    cards = [make_card(w)[0] for w in workers[:25]]
    card_registry.reissue(cards[0], staff=None, reason="hilang")  # the first card is revoked
    figures = dashboard.dashboard_figures(DAY)

    active = db.session.scalar(
        select(func.count(func.distinct(Coverage.worker_id))).where(Coverage.start_date <= DAY, Coverage.end_date >= DAY)
    )
    assert figures.workers == db.session.scalar(select(func.count(Worker.id))) == 46 + 1 + 7
    assert figures.active == active == 46 + 4
    assert figures.cards == db.session.scalar(select(func.count(Card.id)).where(Card.revoked_at.is_(None))) == 25
    given = db.session.scalar(select(func.count(Collection.id)).where(
        Collection.distribution_id == dist.id, Collection.voided_at.is_(None)))
    assert figures.distribution.id == dist.id
    assert figures.distribution.given == given == 40
    assert figures.distribution.left == 10
    assert figures.ending_soon == 2
    hours = dict(dashboard.collections_per_hour(dist))
    assert sum(hours.values()) == given
    assert hours[8] == 19 and hours[9] == 20 and hours[10] == 1  # 08.03 .. 10.00, every 3 minutes


def test_the_open_distribution_is_followed_before_a_closed_one(engine_app):
    make_distribution(status="closed", day=DAY, name="Lama")
    make_distribution(status="draft", day=DAY + timedelta(days=9), name="Rancangan")
    assert dashboard.current_distribution().name == "Lama"
    make_distribution(status="open", day=DAY - timedelta(days=3), name="Buka")
    assert dashboard.current_distribution().name == "Buka"


def svg_tree(markup) -> ET.Element:
    return ET.fromstring(str(markup))


NS = {"s": "http://www.w3.org/2000/svg"}


def test_bar_chart_is_accessible_and_labelled(app):
    make_population(DAY)
    make_worker(name="<script>", kecamatan="160399")
    rows = coverage_report.coverage_summary(DAY)
    with app.test_request_context():
        markup = render_template("dashboard/_chart_kecamatan.html", chart=charts.coverage_bars(rows), chart_id="c")
    root = svg_tree(markup)
    assert root.get("role") == "img"
    assert root.find("s:title", NS).text == "Status cakupan per kecamatan"
    assert "<script>" not in str(markup)  # every text escaped
    assert not [el for el in root.iter() if el.get("style")]
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "3 / 3" in labels and "1 / 4" in labels  # numbers written, not colour alone
    assert {"Aktif", "Belum aktif", "Berakhir", "Belum terdaftar"} <= set(labels)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=14))
def test_line_chart_points_stay_inside_the_plot(app, counts):
    points = [(7 + i, c) for i, c in enumerate(counts)]
    with app.test_request_context():
        root = svg_tree(render_template("dashboard/_chart_hours.html", chart=charts.collections_line(points),
                                        chart_id="c"))
    circles = list(root.iter("{http://www.w3.org/2000/svg}circle"))
    assert len(circles) == len(points)
    ys = [float(c.get("cy")) for c in circles]
    assert all(24 - 0.01 <= y <= 220 + 0.01 for y in ys)
    top = max(counts)
    if top:
        assert min(ys) == pytest.approx(24)  # the busiest hour touches the top
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert all(str(c) in labels for c in counts if c)


def test_audit_filters_by_person_record_and_jakarta_day(engine_app):
    from kiosk.audit import record

    ani, budi = make_staff(username="ani"), make_staff(username="budi")
    worker = make_worker()
    moments = [datetime(2026, 11, 24, 16, 30, tzinfo=timezone.utc),  # 24 Nov 23.30 WIB
               datetime(2026, 11, 24, 17, 30, tzinfo=timezone.utc)]  # 25 Nov 00.30 WIB
    for staff, at in zip((ani, budi), moments):
        event = record("worker.update", worker, before={"name": "a"}, after={"name": "b"}, staff=staff)
        event.at = at
    db.session.commit()
    assert db.session.scalar(select(func.count(AuditEvent.id))) >= 2
    only_ani = audit_report.audit_page(audit_report.AuditFilter(staff_id=ani.id, entity_type="worker"))[0]
    assert [e.staff_id for e in only_ani] == [ani.id]
    on_24th = audit_report.audit_sheet(audit_report.AuditFilter(entity_type="worker", entity_id=worker.id,
                                                      date_from=date(2026, 11, 24), date_to=date(2026, 11, 24)))
    assert [r[1] for r in on_24th.rows] == ["ani"]
    assert on_24th.rows[0][0] == "2026-11-24 23:30:00"
    assert on_24th.rows[0][6] == '{"name": "a"}'


def test_indonesian_dates():
    assert hari_tanggal_indonesian(date(2026, 11, 24)) == "Selasa, 24 November 2026"
    assert lists.clock(datetime(2026, 11, 24, 3, 7, tzinfo=timezone.utc)) == "10.07"


def test_bast_and_lists_count_what_was_handed_over_and_show_the_rest_apart(engine_app):
    """Claimed at a kiosk is not received: the BAST counts handed-over packages; the claimed
    ones are listed apart; the recipient sheet and signing list hold the handed over only — live
    and from the report frozen at close-out."""
    from kiosk import distribution as distribution_service

    dist, workers = scripted_distribution(recipients=6, absent=2, packages=10, status="open")
    start = datetime.combine(DAY, time(11, 0), JAKARTA).astimezone(timezone.utc)
    for n, worker in enumerate(workers[6:8], 1):
        collect(dist, worker, seq=20 + n, at=start + timedelta(minutes=n), handed_over=False)
    for frozen in (False, True):
        if frozen:
            distribution_service.close_distribution(dist.id, staff=None, unhanded="keep")
            db.session.refresh(dist)
            assert [r["seq"] for r in dist.frozen_report["claimed_not_handed_over"]] == [21, 22]
        flat = " ".join(" ".join(pdf_pages(bast_pdf(dist))).split())
        assert "6 paket sembako" in flat and "Paket diserahkan : 6 paket kepada 6 penerima" in flat
        assert "Sisa paket : 4 paket" in flat
        assert "Diambil, belum diserahkan : 2 paket" in flat
        assert "Diambil di kiosk tetapi belum diserahkan" in flat
        table = flat.split("Diambil di kiosk tetapi belum diserahkan")[1]
        assert "Penerima 007" in table and "Penerima 008" in table and "Penerima 006" not in table
        recipients_part = flat.split("Daftar penerima")[1].split("Diambil di kiosk")[0]
        assert "Penerima 007" not in recipients_part and "Penerima 006" in recipients_part
        sheet = lists.recipients_sheet(dist)
        assert [row[1] for row in sheet.rows] == [2, 3, 4, 5, 6, 7]
        signing = " ".join(" ".join(pdf_pages(pdf_report.signing_list_pdf(dist, "recipients"))).split())
        assert "Diambil di kiosk, belum diserahkan: No. paket 21 Penerima 007; No. paket 22 Penerima 008" in signing
