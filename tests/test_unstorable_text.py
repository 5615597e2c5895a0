"""A NUL character anywhere a person's text enters (a query string, a URL part, a form field) is
refused before any view runs: 400, the reason in words, nothing written (``web.UnstorableText``).

PostgreSQL cannot store a NUL in text: psycopg refuses the whole statement, so before this a
NUL typed into, say, the desk's proxy name reached the claim's INSERT and ended as a server
error. Every route is swept (read from ``app.url_map``, so a new route is covered the day it is
added), on SQLite and on PostgreSQL."""

from __future__ import annotations

import io

import pytest

from factories import covered_worker, make_distribution, make_staff
from kiosk.extensions import db
from test_access_matrix import ROUTES, build_url, world  # noqa: F401  (world is a fixture)
from test_fuzz_routes import row_counts

SAID = "karakter NUL"  # in the message of kiosk.errors.UNSTORABLE_TEXT


@pytest.fixture
def app(engine_app):
    """``world`` (test_access_matrix) on each engine."""
    return engine_app


def _client_for(rule, clients):
    return clients["device"] if ROUTES[rule.endpoint] in ("device", "kiosk", "ping") else clients["admin"]


def test_a_nul_in_any_form_field_or_query_is_refused_on_every_route(app, world):
    ids, clients = world
    before = row_counts()
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)
    tried = 0
    for rule in rules:
        url = build_url(app, rule, ids)
        client = _client_for(rule, clients)
        answers = []
        if "POST" in rule.methods:
            answers.append(client.post(url, data={"catatan": "Siti\x00Aminah"}))
        if "GET" in rule.methods:
            answers.append(client.get(url + ("&" if "?" in url else "?") + "q=1603%00"))
        for response in answers:
            tried += 1
            html = response.get_data(as_text=True)
            assert response.status_code == 400 and SAID in html, (rule.rule, response.status_code)
            if rule.endpoint.startswith("terminal."):  # a kiosk screen: no staff menu, no way out
                assert "k-top" in html and "topbar" not in html, rule.rule
    assert tried > 60
    assert row_counts() == before


def test_a_nul_in_a_url_part_is_refused(app, world):
    _ids, clients = world
    response = clients["device"].get("/kiosk/foto/abc%00def")
    assert response.status_code == 400 and SAID in response.get_data(as_text=True)


def test_the_desk_refuses_a_nul_in_the_proxy_name_and_writes_nothing(engine_app):
    """The bug as found: on PostgreSQL this was a server error from the claim's INSERT."""
    import uuid

    from sqlalchemy import func, select

    from kiosk.models import Collection

    make_staff(role="admin")  # setup is closed once an admin exists
    make_staff(role="petugas", username="meja")
    distribution = make_distribution(packages=10)
    worker = covered_worker(name="Siti Aminah", sex="P")
    client = engine_app.test_client()
    assert client.post("/masuk", data={"username": "meja", "password": "rahasia-123"}).status_code == 302
    form = {"worker_id": str(worker.id), "request_id": uuid.uuid4().hex, "proxy_name": "Budi\x00",
            "proxy_relation": "suami", "no_card_reason": "kartu hilang"}
    response = client.post(f"/penyaluran/{distribution.id}/meja/serahkan", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 400 and SAID in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Collection)) == 0
    response = client.post(f"/penyaluran/{distribution.id}/meja/serahkan", data={**form, "proxy_name": "Budi"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and 'data-outcome="collected"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Collection)) == 1


def test_the_message_is_in_english_when_switched(client):
    client.post("/bahasa/en", data={"next": "/masuk"})
    response = client.get("/masuk?next=%00")
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)


def test_an_uploaded_file_name_is_kept_without_a_nul_or_a_control(app, login_as, client):
    """A NUL or a control in the name of an uploaded file (the form fields are refused above;
    a file name is not a field): PostgreSQL refused to store the NUL with the upload, a 500.
    The name is kept without them (``web.Request``, ``characters.typed``)."""
    login_as("petugas")
    template = client.get("/pekerja/impor/templat.csv").get_data()
    response = client.post("/pekerja/impor", data={"berkas": (io.BytesIO(template), "daf\x00tar\x07.csv")},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 302, 303), response.status_code
    from sqlalchemy import select

    from kiosk.models import ImportUpload

    names = db.session.scalars(select(ImportUpload.filename)).all()
    assert names == ["daftar .csv"], names
