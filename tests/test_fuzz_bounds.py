"""Query strings and typed numbers and dates at their bounds: never a 500.

Which query parameters a GET route reads is not written down here: every request goes through a
``request.args`` that records the names the view asks for, so a new parameter is fuzzed the day
it is added. Each route (as every visitor that may open it) gets, one parameter at a time, integers
and dates at and beyond every bound a database or ``datetime`` has, while the other parameters it
reads hold values its own pages link to (so ``pilihan=terdaftar`` reaches the date). Then
hypothesis mixes them. Every POST form the pages show gets the same bounds in its date and number
fields (the rest as the page filled them in). Found this way: ``/pekerja/?setelah=2**63``,
``/kartu/?pilihan=terdaftar&tanggal=0001-01-01``, a sheet for 9999-12-31, a coverage period
starting 9999-12-01.
"""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict

from kiosk.web import Request
from pages import local_path, parse
from test_access_matrix import ROUTES, build_url, world  # noqa: F401  (world is a fixture)

INTEGERS = [
    "0", "-1", "1", "+1", "007", " 1", "1 ", "2147483647", "2147483648", "-2147483648", "-2147483649",
    "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1" + "0" * 40,
    "1e9", "1.5", "0x10", "1_000", "\u00b2", "\u0661\u0662", "\U0001d7d9", "NaN", "inf", "-0",
]
DATES = [
    "0001-01-01", "0001-01-02", "0000-00-00", "1899-12-31", "1900-01-01", "1970-01-01", "2038-01-19",
    "2199-12-31", "2200-01-01", "9999-12-01", "9999-12-31", "10000-01-01", "-0001-01-01", "2026-02-29",
    "2024-02-29", "2026-13-01", "2026-00-10", "2026-01-32", "31-12-9999", "01-01-0001", "1-1-1",
    "9999-12-31T23:59:59", "2026-W01-1", "20260101", "\u00b2\u2070\u00b2\u2076-01-01",
]
TEXTS = ["", " ", "\x00", "x" * 3000, "%", "\U0001f642", "<", "\u202e", "[]", "a,b"]
BOUNDS = INTEGERS + DATES + TEXTS
# Who opens a route of each kind (ROUTES in the access matrix).
VISITORS = {"staff": ("petugas", "admin"), "admin": ("admin",), "device": ("device",), "kiosk": ("device",),
            "ping": ("device",), "public": ("anonymous", "device")}


class _RecordingArgs(ImmutableMultiDict):
    """``request.args`` that notes every name a view asks for."""

    read: set[str] = set()

    @staticmethod
    def _note(key) -> None:
        # Only names: the app's own checks ask for ``None in request.form`` (web.Request).
        if isinstance(key, str):
            _RecordingArgs.read.add(key)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def getlist(self, key, type=None):  # noqa: A002  (werkzeug's name)
        self._note(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


class _RecordingRequest(Request):
    parameter_storage_class = _RecordingArgs


def _readable(response) -> bool:
    if response.status_code == 204:
        return True
    if response.status_code in (301, 302, 303, 308):
        return bool(response.headers.get("Location"))
    return bool(response.headers.get("HX-Redirect")) or len(response.get_data()) > 0


class Fuzz:
    """The GET routes, who may open them, the parameters they read and the values their pages
    link to."""

    def __init__(self, app, world):
        self.app = app
        self.ids, self.clients = world
        app.request_class = _RecordingRequest
        self.targets: list[tuple[str, str, str]] = []  # (endpoint, url, visitor)
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint in ("static", "auth.logout"):
                continue
            for visitor in VISITORS[ROUTES[rule.endpoint]]:
                self.targets.append((rule.endpoint, build_url(app, rule, self.ids), visitor))
        self.reads: dict[tuple[str, str], set[str]] = {}
        self.vocabulary: dict[str, list[str]] = {}
        self.requests = 0

    def get(self, url: str, visitor: str, query: list[tuple[str, str]] | None = None, htmx: bool = False):
        _RecordingArgs.read = set()
        headers = {"HX-Request": "true"} if htmx else {}
        response = self.clients[visitor].get(url, query_string=query, headers=headers)
        self.requests += 1
        status, readable = response.status_code, _readable(response)
        body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        response.close()
        assert status < 500, f"{visitor} GET {url} {query!r} answered {status}"
        assert readable, f"{visitor} GET {url} {query!r} answered {status} with nothing to read"
        self.reads.setdefault((url, visitor), set()).update(_RecordingArgs.read)
        if body:
            self._learn(parse(body, "http://localhost" + url))
        return status

    def _learn(self, page) -> None:
        """Remember the query values this page links to and its GET forms offer."""
        found: list[tuple[str, str]] = []
        for link in page.links:
            path = local_path(link)
            if path and "?" in path:
                found.extend(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        for form in page.forms:
            if form.method == "get":
                for f in form.fields:
                    found.extend((f.name, v) for v in (f.options or [f.value]) if v)
        for name, value in found:
            known = self.vocabulary.setdefault(name, [])
            if value not in known and len(known) < 12:
                known.append(value)

    def base(self, reads: set[str], without: str) -> list[tuple[str, str]]:
        return [(name, self.vocabulary[name][0]) for name in sorted(reads - {without}) if self.vocabulary.get(name)]


@pytest.fixture
def fuzz(app, world):
    return Fuzz(app, world)


def test_every_get_route_reads_its_query_parameters_through_request_args(fuzz):
    """The recording works: the worker list reads its search and cursor (a test that cannot
    fail would prove nothing)."""
    fuzz.get("/pekerja/", "petugas")
    assert {"q", "setelah", "penyaluran"} <= fuzz.reads[("/pekerja/", "petugas")]


@pytest.mark.slow
def test_query_parameters_at_their_bounds_never_answer_500(fuzz, capsys):
    for endpoint, url, visitor in fuzz.targets:
        fuzz.get(url, visitor)
        fuzz.get(url, visitor, htmx=True)
    # Values a page links to can open more parameters (a choice reveals its date): two rounds.
    tried: set[tuple[str, str, str]] = set()
    for _round in range(2):
        for endpoint, url, visitor in fuzz.targets:
            for name in sorted(fuzz.reads.get((url, visitor), set())):
                if (url, visitor, name) in tried:
                    continue
                tried.add((url, visitor, name))
                base = fuzz.base(fuzz.reads[(url, visitor)], name)
                for value in BOUNDS + fuzz.vocabulary.get(name, []):
                    fuzz.get(url, visitor, base + [(name, value)])
                fuzz.get(url, visitor, base + [(name, "1"), (name, "2")])  # repeated
    with capsys.disabled():
        params = sum(len(v) for v in fuzz.reads.values())
        print(f"\nquery bounds: {fuzz.requests} requests over {len(fuzz.targets)} route×visitor pairs "
              f"reading {params} parameters, 0 server errors")
    assert len(tried) >= 20


@pytest.mark.slow
def test_random_query_strings_never_answer_500(fuzz):
    for endpoint, url, visitor in fuzz.targets:
        fuzz.get(url, visitor)
    reading = [(url, visitor, sorted(reads)) for (url, visitor), reads in sorted(fuzz.reads.items()) if reads]
    assert reading

    # Frozen: the requests below teach the fuzzer new values, and hypothesis replays its examples
    # only if every draw has the same choices as the first time.
    vocabulary = {name: tuple(values) or ("",) for name, values in fuzz.vocabulary.items()}
    value = st.one_of(st.sampled_from(BOUNDS), st.text(max_size=30),
                      st.integers(min_value=-(2**80), max_value=2**80).map(str))

    @settings(max_examples=300, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(data=st.data())
    def check(data):
        url, visitor, names = data.draw(st.sampled_from(reading))
        chosen = data.draw(st.lists(st.sampled_from(names), max_size=len(names) + 2))
        query = [(name, data.draw(st.one_of(value, st.sampled_from(vocabulary.get(name, ("",))))))
                 for name in chosen]
        fuzz.get(url, visitor, query, htmx=data.draw(st.booleans()))

    check()


# ---- POST forms: numbers and dates at their bounds --------------------------------------------

DATE_VALUE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _bounded_fields(form) -> list[tuple[str, list[str]]]:
    """The fields of a form that take a number or a date, and the bounds to try in each."""
    found = []
    for f in form.fields:
        if not f.writable or f.name == "csrf_token":
            continue
        if f.kind == "date" or DATE_VALUE.match(f.value or ""):
            found.append((f.name, DATES))
        elif f.kind == "number" or f.attrs.get("inputmode") == "numeric" or (f.value or "").isdigit():
            found.append((f.name, INTEGERS))
    return found


@pytest.mark.slow
def test_numbers_and_dates_at_their_bounds_in_every_post_form(fuzz, capsys):
    forms = {}
    for endpoint, url, visitor in fuzz.targets:
        if visitor not in ("admin", "device"):
            continue
        response = fuzz.clients[visitor].get(url)
        if response.mimetype == "text/html":
            for form in parse(response.get_data(as_text=True), "http://localhost" + url).forms:
                action = local_path(form.action)
                if form.method == "post" and action and action not in ("/keluar", "/kiosk/keluar") \
                        and not action.startswith("/bahasa/"):
                    forms.setdefault((action, tuple(sorted(f.name for f in form.fields))), (form, visitor))
        response.close()
    tried = 0
    for (action, _names), (form, visitor) in sorted(forms.items()):
        for name, values in _bounded_fields(form):
            for value in values:
                data = {k: v for k, v in form.values().items()}
                data[name] = [value]
                multipart = form.enctype == "multipart/form-data"
                response = fuzz.clients[visitor].post(
                    action, data={k: v if len(v) > 1 else v[0] for k, v in data.items()},
                    content_type="multipart/form-data" if multipart else None,
                )
                tried += 1
                status, readable = response.status_code, _readable(response)
                response.close()
                assert status < 500, f"{visitor} POST {action} {name}={value!r} answered {status}"
                assert readable, f"{visitor} POST {action} {name}={value!r}: nothing to read"
    with capsys.disabled():
        print(f"\nform bounds: {tried} posts over {len(forms)} forms, 0 server errors")
    assert tried >= 100


@pytest.mark.parametrize(("method", "url", "data"), [
    ("GET", "/pekerja/?setelah=9223372036854775808", None),
    ("GET", "/pekerja/?setelah=2147483648", None),
    ("GET", "/pekerja/?penyaluran=%C2%B2", None),
    ("GET", "/kartu/?pilihan=terdaftar&tanggal=0001-01-01", None),
    ("GET", "/kartu/lembar.pdf?pilihan=terdaftar&tanggal=9999-12-31", None),
    ("GET", "/kartu/lembar.pdf?pilihan=diterbitkan&tanggal=9999-12-31", None),
    ("GET", "/kartu/?pilihan=penyaluran&penyaluran=9223372036854775808", None),
    ("GET", "/laporan/audit?dari=0001-01-01&sampai=9999-12-31", None),
    ("POST", "/pekerja/{worker}/cakupan", {"start": "9999-12-01", "end": ""}),
    ("POST", "/pekerja/{worker}/cakupan", {"start": "2026-01-01", "end": "0001-01-01"}),
    ("POST", "/pekerja/periksa/nik", {"worker_id": "\u00b2", "nik": "1"}),
    ("POST", "/penyaluran/baru", {"name": "x", "day": "9999-12-31", "packages_total": "1", "eligibility": "coverage"}),
])
def test_the_reported_server_errors_are_refusals_now(engine_app, method, url, data):
    """The 500s the review found, on both engines (PostgreSQL refuses a large integer where
    SQLite overflows in Python): each is an ordinary answer now, and nothing is written."""
    from factories import make_staff, make_worker
    from test_fuzz_routes import row_counts

    client = engine_app.test_client()
    make_staff(role="admin", username="admin-batas", password="rahasia-123")
    worker_id = make_worker().id
    assert client.post("/masuk", data={"username": "admin-batas", "password": "rahasia-123"}).status_code == 302
    before = row_counts()
    response = client.open(url.format(worker=worker_id), method=method, data=data)
    assert response.status_code < 500, response.status_code
    assert _readable(response)
    if response.status_code >= 400:
        assert row_counts() == before
