"""Characters typed text must not carry (``kiosk.characters``): control characters, the two
noncharacters U+FFFE/U+FFFF and invisible format characters.

- **Coming in**, every form field and uploaded file name is cleaned before any view reads it
  (``web.Request``), and every imported cell a worker's text is read from: a control becomes a
  space, a format character goes. A name of only invisible characters is then an empty name.
- **Going out**, every download still opens when such characters were stored anyway (before this
  cleaning, or by a path that misses it): planted into every typed text column of every table
  (those ``test_taint.NOT_TYPED`` does not name), every download of the URL map is fetched
  (``test_downloads.download_urls``). One ``\\x07`` in a name made every XLSX export that
  includes it a server error, the audit log's for good."""

from __future__ import annotations

import io
import zipfile

import pypdfium2 as pdfium
import pytest
from sqlalchemy import JSON, String, Text, select, update

from kiosk.extensions import db
from kiosk.models import Worker
from test_downloads import DOWNLOADS, XLSX, download_urls, world  # noqa: F401  (world is a fixture)
from test_taint import NOT_TYPED
from test_workers_views import enroll_form, staff  # noqa: F401  (staff is a fixture)

UNTYPED = "\x07\x0b\x1b\u200b\ufeff\u202e\uffff"


def _planted(value):
    if isinstance(value, str):
        return value + UNTYPED
    if isinstance(value, dict):
        return {key: _planted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_planted(item) for item in value]
    return value


def test_stored_characters_no_document_holds_break_no_download(app, world):
    clients, ids, values, _niks = world
    planted = []
    for table in db.metadata.sorted_tables:
        texts = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))
                 and f"{table.name}.{c.name}" not in NOT_TYPED and not c.primary_key]
        if not texts:
            continue
        keys = list(table.primary_key.columns)
        if table.name == "audit_event":  # append-only (a trigger): a planted copy of each event instead
            for row in db.session.execute(select(table)).mappings().all():
                copy = {name: value for name, value in row.items() if name != "id"}
                db.session.execute(table.insert().values({**copy, **{c.name: _planted(row[c.name]) for c in texts}}))
            planted.extend(f"audit_event.{c.name}" for c in texts)
            continue
        for row in db.session.execute(select(*keys, *texts)).all():
            where = [key == row[i] for i, key in enumerate(keys)]
            changes = {c.name: _planted(row[len(keys) + i]) for i, c in enumerate(texts) if row[len(keys) + i]}
            if changes:
                db.session.execute(update(table).where(*where).values(changes))
                planted.extend(f"{table.name}.{name}" for name in changes)
    db.session.commit()
    assert {"worker.name", "collection.station", "distribution.name", "audit_event.after"} <= set(planted)

    fetched, broken = 0, []
    for endpoint, url, query in download_urls(app, ids, values):
        response = clients["kepala"].get(url, query_string=query)
        if response.status_code >= 500:
            broken.append(f"{endpoint} {url} {query}: {response.status_code}")
        elif response.status_code == 200 and response.mimetype in DOWNLOADS:
            fetched += 1
            data = response.get_data()
            if response.mimetype == XLSX:
                from openpyxl import load_workbook

                load_workbook(io.BytesIO(data))  # opens: no character XML cannot hold
                with zipfile.ZipFile(io.BytesIO(data)) as book:
                    xml = "".join(book.read(n).decode("utf-8") for n in book.namelist() if n.endswith(".xml"))
                assert "\x07" not in xml and "\uffff" not in xml, url
            elif response.mimetype == "application/pdf":
                assert len(pdfium.PdfDocument(data)) >= 1, url
        response.close()
    assert not broken, broken
    assert fetched >= 15


def test_a_name_is_cleaned_of_controls_and_invisibles_as_it_comes_in(client, staff):
    form = enroll_form(name="Siti\x07Aminah\u200b", address="Jl. Merdeka\x0b1")
    response = client.post("/pekerja/baru", data=form)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[-1500:]
    worker = db.session.scalar(select(Worker).where(Worker.nik == form["nik"]))
    assert (worker.name, worker.address) == ("Siti Aminah", "Jl. Merdeka 1")


@pytest.mark.parametrize("name", ["\u200b\u200b", "\ufeff", " \u200b \u2060 "])
def test_a_name_of_only_invisible_characters_is_no_name(client, staff, name):
    form = enroll_form(name=name)
    response = client.post("/pekerja/baru", data=form)
    assert response.status_code == 422
    assert "Isi nama lengkap sesuai KTP." in response.get_data(as_text=True)
    assert db.session.scalar(select(Worker).where(Worker.nik == form["nik"])) is None


def test_an_imported_name_is_cleaned_too(app, login_as, client):
    login_as("petugas")
    template = client.get("/pekerja/impor/templat.csv").get_data().decode("utf-8-sig").splitlines()
    header, example = template[0], template[1]
    separator = ";" if header.count(";") > header.count(",") else ","
    at = next(i for i, title in enumerate(header.split(separator)) if "nama" in title.lower())
    cells = example.split(separator)
    cells[at] = "Budi\x07Santoso\u200b"
    data = f"{header}\n{separator.join(cells)}\n".encode()
    response = client.post("/pekerja/impor", data={"berkas": (io.BytesIO(data), "daftar.csv")},
                           content_type="multipart/form-data", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[-1500:]
    assert "Budi Santoso" in html and "Budi\x07" not in html and "\u200b" not in html
