"""Downloads of personal data (issue #12): one rule, enforced in one place
(``kiosk.downloads.personal_data``), and an audit event for every file let out.

The rule: full NIKs in bulk are for admins; a petugas downloads what the day's work needs with
NIKs masked (worker export without birth dates, recipient lists, BAST, cards), and their own
uploaded file's refused rows. The walk below finds every download of the URL map (a CSV, XLSX,
PDF or archive answered to an admin), so a new download route without the decorator fails."""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from datetime import timedelta

import pypdfium2 as pdfium
import pytest
from factories import make_card, make_coverage, make_distribution, make_staff, make_worker
from sqlalchemy import select
from werkzeug.routing import AnyConverter, IntegerConverter

from kiosk import distribution as dist
from kiosk.coverage import today_jakarta
from kiosk.downloads import ACTION
from kiosk.extensions import db
from kiosk.models import AuditEvent

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOWNLOADS = {"text/csv", XLSX, "application/pdf", "application/gzip"}
# Downloads without anyone's data in them.
NOT_PERSONAL = {"workers.import_template"}
# Query strings a download needs to be one.
QUERIES = {
    "workers.export": [{"format": "csv"}, {"format": "xlsx"}],
    "issuing.sheet": [{"pilihan": "terdaftar", "tanggal": "{today}"}],
}
STRINGS = {"fmt": ["csv", "xlsx", "pdf"], "kind": ["penerima", "belum-menerima"], "lang": ["id"],
           "filename": ["css/app.css"], "field": ["nik"], "ticket": ["bukan-tiket"],
           "name": ["{backup}"], "token": ["{token}"], "upload": ["{upload}"]}


def events() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == ACTION).order_by(AuditEvent.id)))


def text_of(response) -> str:
    data = response.get_data()
    if response.mimetype == "application/pdf":
        document = pdfium.PdfDocument(data)
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    if response.mimetype == XLSX:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return "\n".join(book.read(n).decode("utf-8") for n in book.namelist() if n.endswith(".xml"))
    return data.decode("utf-8-sig", "replace")


def full_niks_in(text: str, niks: list[str]) -> list[str]:
    digits = re.sub(r"[\s.\-]", "", text)
    return [nik for nik in niks if nik in digits]


@pytest.fixture
def world(app, runner):
    admin = make_staff(role="admin", username="kepala")
    make_staff(role="petugas", username="siti")
    today = today_jakarta()
    workers = [make_worker(name=f"Pekerja {i}", sex="P" if i % 2 else "L") for i in range(4)]
    for worker in workers:
        make_coverage(worker, start=today - timedelta(days=5), end=today + timedelta(days=60))
    card, _token = make_card(workers[0], staff=admin)
    distribution = make_distribution(packages=10)
    claimed = dist.claim(distribution.id, workers[1].id, request_id="unduh-1", staff=admin, station="Meja 1")
    assert claimed.collected
    ids = {"card_id": card.id, "worker_id": workers[0].id, "distribution_id": distribution.id,
           "staff_id": admin.id, "collection_id": claimed.collection_id, "seq": claimed.seq}
    niks = [w.nik for w in workers]
    clients = {}
    for username in ("kepala", "siti"):
        clients[username] = client = app.test_client()
        assert client.post("/masuk", data={"username": username, "password": "rahasia-123"}).status_code == 302
    # The petugas's own upload with a refused row (a NIK that cannot be one).
    template = clients["siti"].get("/pekerja/impor/templat.csv").get_data().decode("utf-8-sig").splitlines()
    header, example = template[0], template[1]
    bad = f"{header}\n{example}\n123{example}\n".encode()  # the second row's NIK cannot be one
    response = clients["siti"].post("/pekerja/impor", data={"berkas": (io.BytesIO(bad), "daftar.csv")},
                                    content_type="multipart/form-data", follow_redirects=True)
    found = re.search(r"/pekerja/impor/berkas/([A-Za-z0-9_-]+)/ditolak\.xlsx", response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)[-1500:]
    upload = found.group(1)
    backup = runner.invoke(args=["backup"])
    assert backup.exit_code == 0, backup.output
    values = {"today": today.isoformat(), "backup": backup.output.strip().rsplit("/", 1)[-1], "upload": upload,
              "token": "0123456789abcdef0123456789abcdef"}
    return clients, ids, values, niks


def download_urls(app, ids: dict, values: dict):
    """Every GET URL of the map, with each value its arguments and query strings can take."""
    adapter = app.url_map.bind("localhost")
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        choices = []
        for name, converter in rule._converters.items():
            if isinstance(converter, IntegerConverter):
                choices.append([(name, ids.get(name, 1))])
            elif isinstance(converter, AnyConverter):
                choices.append([(name, item) for item in sorted(converter.items)])
            else:
                choices.append([(name, v.format(**values)) for v in STRINGS.get(name, ["x"])])
        for combo in itertools.product(*choices):
            for query in QUERIES.get(rule.endpoint, [{}]):
                query = {k: v.format(**values) for k, v in query.items()}
                yield rule.endpoint, adapter.build(rule.endpoint, dict(combo), force_external=False), query


def test_every_download_follows_the_rule_and_is_audited(app, world):
    clients, ids, values, niks = world
    before = len(events())
    downloaded = {"kepala": {}, "siti": {}}  # who -> endpoint -> [(url, text)]
    refused_to_petugas = set()
    for endpoint, url, query in download_urls(app, ids, values):
        for who, client in clients.items():
            response = client.get(url, query_string=query)
            if response.status_code == 200 and response.mimetype in DOWNLOADS:
                text = text_of(response) if who == "siti" else ""
                downloaded[who].setdefault(endpoint, []).append((f"{url}?{query}", text))
            elif who == "siti" and response.status_code == 403:
                refused_to_petugas.add(endpoint)
            response.close()
    found = set(downloaded["kepala"]) | set(downloaded["siti"])
    marked = {endpoint for endpoint, view in app.view_functions.items() if hasattr(view, "personal_data")}
    rules = {endpoint: app.view_functions[endpoint].personal_data for endpoint in marked}

    # 1. Every download of personal data goes through the one rule, and the walk reaches them all.
    assert found - NOT_PERSONAL <= marked, f"downloads without @personal_data: {sorted(found - NOT_PERSONAL - marked)}"
    assert marked <= found, f"@personal_data views the walk never downloaded: {sorted(marked - found)}"
    # 2. A petugas: full NIKs in bulk are refused; every other download of theirs has no full NIK
    # (but their own uploaded file, theirs alone).
    admin_only = {endpoint for endpoint, rule in rules.items() if rule.admin_only}
    assert admin_only >= {"dashboard.coverage_export", "dashboard.audit_export", "admin.backup_download"}
    assert admin_only <= refused_to_petugas and not admin_only & set(downloaded["siti"])
    for endpoint, files in downloaded["siti"].items():
        if endpoint in marked and not rules[endpoint].own:
            for url, text in files:
                assert not full_niks_in(text, niks), url
    assert set(downloaded["siti"]) >= {"workers.export", "dashboard.bast", "dashboard.distribution_list",
                                       "issuing.card_pdf", "issuing.sheet", "workers.import_refused"}
    # 3. Each file let out wrote its audit event: who, which, filter, format, rows.
    let_out = sum(len(files) for who in downloaded.values() for endpoint, files in who.items() if endpoint in marked)
    written = events()[before:]
    assert len(written) == let_out
    assert all(e.staff_id is not None and e.after["which"] and "filter" in e.after and e.after["format"]
               for e in written)
    assert all(e.after["rows"] is not None for e in written if e.after["which"] not in ("import_refused", "backup"))


def test_the_worker_export_masks_niks_for_a_petugas_and_says_so_in_the_audit(app, world):
    clients, _ids, _values, niks = world
    query = {"format": "csv", "kecamatan": "160302"}
    admin_rows = list(csv.reader(io.StringIO(clients["kepala"].get("/pekerja/ekspor", query_string=query)
                                             .get_data().decode("utf-8-sig"))))
    petugas_rows = list(csv.reader(io.StringIO(clients["siti"].get("/pekerja/ekspor", query_string=query)
                                               .get_data().decode("utf-8-sig"))))
    assert len(admin_rows) == len(petugas_rows) == len(niks) + 1
    header = admin_rows[0]
    nik_col, birth_col = 0, header.index(next(h for h in header if "Lahir" in h and "Tanggal" in h))
    assert sorted(r[nik_col] for r in admin_rows[1:]) == sorted(niks)
    assert all("••••" in r[nik_col] and r[nik_col][-4:] in {n[-4:] for n in niks} for r in petugas_rows[1:])
    assert all(r[birth_col] == "" for r in petugas_rows[1:]) and all(r[birth_col] for r in admin_rows[1:])
    *_, by_admin, by_petugas = events()
    assert by_admin.after == {"which": "workers", "path": "/pekerja/ekspor", "filter": query, "format": "csv",
                              "rows": len(niks), "nik": "full"}
    assert by_petugas.after["nik"] == "masked" and by_petugas.after["rows"] == len(niks)
    assert by_admin.staff.username == "kepala" and by_petugas.staff.username == "siti"
    # The page to choose a format is no download: not audited.
    count = len(events())
    assert clients["siti"].get("/pekerja/ekspor").status_code == 200
    assert len(events()) == count
