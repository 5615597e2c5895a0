"""Bad input everywhere: hypothesis sends random forms (known and unknown field names; huge,
unicode, NUL-bearing, wrong-typed and repeated values; random bytes as uploads) to every POST
route of the app — as an admin, and the kiosk routes as a paired kiosk device. Never a 500,
always an answer a person can read (a page, a fragment or a redirect), and nothing written when
the answer is a refusal (every table's row count unchanged for status >= 400). Without a CSRF
token every POST route refuses and writes nothing. All of it on SQLite and on PostgreSQL.

Also hypothesis on the parsers not already covered in tests/unit: uploaded photos (random
bytes), typed dates, desk/kiosk card codes through the registry, the setup code.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kiosk.extensions import db
from test_access_matrix import ROUTES, build_url, world  # noqa: F401  (world is a fixture)

KNOWN_FIELDS = [
    "nik", "name", "sex", "birth_place", "birth_date", "address", "kecamatan", "desa", "occupation",
    "occupation_other", "phone", "kpj", "income", "with_coverage", "start", "end", "funder", "jht",
    "code", "ticket", "pin", "username", "password", "confirm", "full_name", "role", "active", "reason",
    "worker_id", "card_id", "request_id", "proxy_name", "proxy_relation", "day", "place",
    "packages_total", "contents", "eligibility", "niks", "q", "sebelum", "mode", "distribution",
    "detail", "penyaluran", "pilihan", "tanggal", "bast_number", "official_name", "official_nip",
    "official_title", "receiver_name", "receiver_title", "witness1_name", "witness2_name", "next",
    "photo_file", "worker_ids", "berkas", "tampil", "hal", "format",
]
UPLOAD_FIELDS = ["photo", "handover_photo", "photo_file", "berkas"]

nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
    st.sampled_from(["", " ", "\x00", "A\x00B", "-1", "0", "1", "99999999999999999999", "1e309", "NaN",
                     "2026-02-30", "31-12-9999", "0000-00-00", "Rp-5", "<script>alert(1)</script>",
                     "' OR 1=1 --", "../../etc/passwd", "1603020107850001", "\u202e\u0000\ufeff", "🙂" * 30]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.builds(lambda n, c: c * n, st.sampled_from([5000, 20000]), st.sampled_from(["x", "9", "é", "\x00"])),
)
field_names = st.one_of(st.sampled_from(KNOWN_FIELDS), st.text(min_size=1, max_size=20))
form_strategy = st.dictionaries(field_names, st.one_of(nasty_text, st.lists(nasty_text, min_size=2, max_size=3)), max_size=8)
upload_strategy = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(UPLOAD_FIELDS), st.binary(max_size=3000), st.sampled_from(["a.jpg", "b.png", "c.exe", "", "..\\x.jpg", "daftar.csv", "daftar.xlsx"])),
)

@pytest.fixture
def app(engine_app):
    """Every test here on each engine: PostgreSQL refuses what SQLite stores (a NUL in text, a
    value longer than its column), and a refusal that reaches the database is a server error."""
    return engine_app


def row_counts() -> dict[str, int]:
    """Rows per table, but the throttle's counts: a refused guess is counted there on purpose
    (tests/test_rate_limits.py)."""
    db.session.remove()
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables if table.name != "throttle"}


def post_routes(app):
    """(url, kind) of every POST route; sign-out is left out (it is not a form and ends the run's
    session — it is in the CSRF check below)."""
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and rule.endpoint != "auth.logout"),
        key=lambda r: r.rule,
    )


def readable(response) -> bool:
    if response.status_code in (301, 302, 303):
        return bool(response.headers.get("Location"))
    if response.headers.get("HX-Redirect"):
        return True
    return len(response.get_data()) > 0


@pytest.mark.slow
def test_random_forms_on_every_post_route(app, world, capsys):
    ids, clients = world
    rules = post_routes(app)
    urls = [(build_url(app, rule, ids), ROUTES[rule.endpoint]) for rule in rules]
    tried = {"n": 0}

    @settings(max_examples=200, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(target=st.sampled_from(urls), form=form_strategy, upload=upload_strategy, htmx=st.booleans())
    def fuzz(target, form, upload, htmx):
        url, kind = target
        client = clients["device"] if kind in ("device", "kiosk") else clients["admin"]
        data = {key: value for key, value in form.items()}
        if upload is not None:
            # A multipart body over 500 KB is spooled by werkzeug's test client to a temporary
            # file it never closes (a ResourceWarning): keep uploads' companions smaller.
            data = {k: ([x[:4000] for x in v] if isinstance(v, list) else v[:4000]) for k, v in data.items()}
            field, content, filename = upload
            data[field] = (io.BytesIO(content), filename)
        headers = {"HX-Request": "true"} if htmx else {}
        before = row_counts()
        response = client.post(url, data=data, headers=headers,
                               content_type="multipart/form-data" if upload is not None else None)
        tried["n"] += 1
        status = response.status_code
        answered = readable(response)
        response.close()
        assert status < 500, f"{url} answered {status}"
        assert answered, f"{url} answered {status} with nothing to read"
        if status >= 400:
            after = row_counts()
            changed = {k: (before[k], after[k]) for k in after if after[k] != before[k]}
            assert not changed, f"{url} refused with {status} but wrote {changed}"

    fuzz()
    with capsys.disabled():
        print(f"\nfuzz: {tried['n']} random forms over {len(urls)} POST routes, 0 server errors")
    assert tried["n"] >= 200


def test_every_post_route_refuses_without_csrf_and_writes_nothing(app, world):
    ids, clients = world
    rules = sorted((r for r in app.url_map.iter_rules() if "POST" in r.methods), key=lambda r: r.rule)
    before = row_counts()
    for rule in rules:
        client = clients["device"] if ROUTES[rule.endpoint] in ("device", "kiosk") else clients["admin"]
        for role_client in {id(client): client, id(clients["anonymous"]): clients["anonymous"]}.values():
            response = role_client.post(build_url(app, rule, ids), data={"code": "x", "reason": "x" * 20}, csrf=False)
            if role_client is clients["anonymous"] and ROUTES[rule.endpoint] == "device":
                # No device, nothing a kiosk route can do: sent to the pairing screen, token or not
                # (kiosk.terminal.views.check_form_token).
                assert response.status_code == 303 and response.headers["Location"].endswith("/kiosk/"), rule.rule
                continue
            assert response.status_code == 400, (rule.rule, response.status_code)
            assert readable(response)
    assert row_counts() == before
    # The admin is still signed in: the refused sign-out did not end the session.
    assert clients["admin"].get("/admin/").status_code == 200


# ---- parsers not covered in tests/unit ----------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=5000),
                      st.binary(max_size=400).map(lambda b: b"\xff\xd8\xff\xe0" + b),
                      st.binary(max_size=400).map(lambda b: b"\x89PNG\r\n\x1a\n" + b)))
def test_photo_upload_of_random_bytes_is_stored_or_refused(app, data):
    from kiosk import photos

    try:
        name = photos.store(io.BytesIO(data))
    except photos.PhotoError as err:
        assert str(err.message)
    else:
        assert photos.load(name) is not None
        photos.delete_photo(name)


@settings(max_examples=150, deadline=None)
@given(raw=st.one_of(st.text(max_size=30), st.from_regex(r"\d{1,4}[-/. ]\d{1,2}[-/. ]\d{1,4}", fullmatch=True)))
def test_typed_dates_parse_or_refuse(raw):
    from datetime import date

    from kiosk import enrollment

    try:
        parsed = enrollment.parse_date(raw)
    except ValueError:
        return
    assert parsed is None or isinstance(parsed, date)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.text(max_size=60), st.text(alphabet="ABCDEFGHJKMNPQRSTUVWXYZ23456789- ", max_size=12),
                     st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=26, max_size=26)))
def test_setup_code_and_card_codes_never_raise(app, raw):
    from kiosk import card_registry
    from kiosk.auth import setup

    from kiosk.database import write_transaction

    if not setup.code_exists():
        setup.new_code()
    with write_transaction():
        assert setup.take_code(raw) is False  # a random guess is wrong (1 in 31**12 is not)
    assert setup.code_exists()  # a wrong guess consumes nothing
    lookup = card_registry.resolve(raw)
    assert lookup.ok is False and lookup.refusal is not None  # no card exists in this database


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=4000),
    st.binary(max_size=600).map(lambda b: b"PK\x03\x04" + b),
    st.lists(st.lists(st.text(max_size=30), max_size=6), max_size=6).map(
        lambda rows: "\n".join(["NIK,Nama,Jenis kelamin,Tanggal lahir"] + [",".join(r) for r in rows]).encode("utf-8", "surrogatepass")),
), filename=st.sampled_from(["daftar.csv", "daftar.xlsx", "daftar", "daftar.txt"]))
def test_import_file_of_random_bytes_previews_or_refuses(app, data, filename):
    from kiosk import imports

    try:
        result = imports.preview(io.BytesIO(data), filename=filename)
    except imports.ImportFileError as err:
        assert str(err.message)
    else:
        assert all(row.action in ("add", "update", "refuse") for row in result.rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code=st.one_of(st.text(max_size=20), st.sampled_from(["¹²³", "ÀÉÎ-ÕÜ", "\x00", "٣٤٥"])),
       username=nasty_text)
def test_setup_page_refuses_random_codes(app, client, code, username):
    """Before the first admin exists, anyone on the LAN can reach /setup: any typed code is
    refused with a message, nothing is written (found: a non-ASCII code was a 500)."""
    from kiosk import throttle

    throttle.reset()
    before = row_counts()
    response = client.post("/setup", data={"code": code, "username": username, "full_name": "Admin",
                                           "password": "rahasia-123", "confirm": "rahasia-123"})
    assert response.status_code == 400
    said = response.get_data(as_text=True)
    assert "Kode penyiapan" in said or ("\x00" in code + username and "karakter NUL" in said)
    assert row_counts() == before
