"""No open redirects: every path that redirects to a value it was given — sign-in's ``next`` (as
a query parameter and as a form field, signed in already and signing in), the language switch's
``next`` and its Referer, the kiosk's language button's ``next`` — is tried with a table of
tricky values. The answer must take a
browser to this site, read the way a browser reads a Location (tabs and newlines dropped, ``\\``
as ``/``, leading spaces and control characters stripped); values that are paths on this site
are kept."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from factories import make_staff

HOST = "localhost"  # the test client's host

TRICKY = [
    "//x.example", "///x.example", "////x.example/a", "/\\x.example", "\\\\x.example", "/\\/x.example",
    "\\/x.example", "http://x.example/", "https://x.example", "HTTP://x.example", "//x.example@localhost/",
    f"http://{HOST}//x.example", f"https://{HOST}//x.example/a?b=c", f"http://{HOST}/\\x.example",
    f"http://{HOST}/%2F%2Fx.example", f"http://{HOST}@x.example/", f"http://{HOST}.x.example/",
    f"http://{HOST}:80//x.example", f"http://{HOST.upper()}//x.example", f"ftp://{HOST}/",
    "%2F%2Fx.example", "%2f%2fx.example", "/%2F%2Fx.example", "/%2f/x.example", "/%5Cx.example", "/%5C%5Cx.example",
    "/%09/x.example", "/%0a/x.example", "/%0D%0A/x.example",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "\tjavascript:alert(1)",
    "java\tscript:alert(1)", "data:text/html,<b>x</b>", "vbscript:x",
    "/\t/x.example", "/\n/x.example", "/\r\n/x.example", "\t//x.example", "\n//x.example", " //x.example",
    "\x00//x.example", "//x.example\t", "/\x7f/x.example", "\x01/x.example",
    "http:x.example", "http:/x.example", "http:\\\\x.example", "https:/\\x.example", "http:///x.example",
    "http://[", "http://[::1", "//[::1]/", "\uff0f\uff0fx.example", "/\u3000/x.example", "\u2028//x.example",
    "x.example", "./x.example", "../x.example", "?next=//x.example", "#//x.example", "",
]
KEPT = [
    ("/pekerja/?q=budi", "/pekerja/?q=budi"),
    ("/pekerja/?q=Siti%20Aminah", "/pekerja/?q=Siti%20Aminah"),
    ("/laporan", "/laporan"),
    ("/.//x.example", "/.//x.example"),  # same host: the browser resolves it to this site's //x.example path
    (f"http://{HOST}/pekerja/?q=budi", "/pekerja/?q=budi"),
    (f"https://{HOST}/kartu/", "/kartu/"),
]
KIOSK_KEPT = [
    ("/kiosk/", "/kiosk/"),
    ("/kiosk/pasang", "/kiosk/pasang"),
    (f"http://{HOST}/kiosk/", "/kiosk/"),
    *[(value, "/kiosk/") for value, _kept in KEPT],  # other local paths: back to the kiosk
    ("/kiosk/../admin/", "/kiosk/"),
    ("/kiosk/ambil", "/kiosk/"),
]


def lands_on_this_site(location: str) -> bool:
    """Where a browser goes with this Location, read as a browser reads it."""
    browser = location.lstrip("".join(chr(c) for c in range(33)))
    browser = "".join(ch for ch in browser if ch not in "\t\r\n").replace("\\", "/")
    target = urlsplit(urljoin(f"http://{HOST}/masuk", browser))
    return target.scheme == "http" and target.netloc == HOST and location.startswith("/")


def _sign_in_with_form_next(client, value):
    return client.post("/masuk", data={"username": "siti", "password": "benar-sekali", "next": value})


def _sign_in_with_query_next(client, value):
    return client.post("/masuk", query_string={"next": value}, data={"username": "siti", "password": "benar-sekali"})


def _signed_in_get(client, value):
    return client.get("/masuk", query_string={"next": value})


def _signed_in_post(client, value):
    return client.post("/masuk", data={"username": "siti", "password": "x", "next": value})


def _language_next(client, value):
    return client.post("/bahasa/en", data={"next": value})


def _language_referer(client, value):
    return client.post("/bahasa/en", headers={"Referer": value})


def _kiosk_language_next(client, value):
    return client.post("/kiosk/bahasa/en", data={"next": value})


# (send, fallback, signed in first): a staff member signed in already is sent on by /masuk
# through the same check; signing in (a password hash each time) is tried with every value too.
PATHS = {
    "sign-in form next": (_sign_in_with_form_next, "/", False),
    "sign-in query next": (_sign_in_with_query_next, "/", False),
    "signed in, GET /masuk?next=": (_signed_in_get, "/", True),
    "signed in, POST /masuk next": (_signed_in_post, "/", True),
    "language next": (_language_next, "/", False),
    "language Referer": (_language_referer, "/", False),
    "kiosk language next": (_kiosk_language_next, "/kiosk/", False),
}
# What each path keeps: any local path; the kiosk's language button only the kiosk's own screens.
KEPT_BY_PATH = {"kiosk language next": KIOSK_KEPT}


@pytest.fixture
def app(engine_app):
    """Every test here on both engines (sign-in reads the staff table)."""
    return engine_app


@pytest.fixture
def siti(app):
    """An admin whose password hash is cheap to check: this file signs in some 200 times, and
    what it tests is where the answer leads, not the hash."""
    from werkzeug.security import generate_password_hash

    from kiosk.extensions import db

    staff = make_staff(role="admin", username="siti", password="benar-sekali")
    staff.password_hash = generate_password_hash("benar-sekali", "pbkdf2:sha256:1000")
    db.session.commit()


def _location(response) -> str:
    assert response.status_code in (301, 302, 303), response.status_code
    return response.headers["Location"]


@pytest.mark.parametrize("path", PATHS)
def test_tricky_targets_stay_on_this_site_and_local_paths_are_kept(app, siti, path):
    """Every tricky value on every redirecting path: the browser stays on this site, and a value
    that is not a plain local path gets the path's fallback; a local path is kept."""
    send, fallback, signed_in = PATHS[path]
    failures = []
    client = app.test_client()
    if signed_in:
        _sign_in_with_form_next(client, "/")
    for value, want in [(value, fallback) for value in TRICKY] + KEPT_BY_PATH.get(path, KEPT):
        if not signed_in:
            client = app.test_client()
        try:
            response = send(client, value)
        except ValueError:  # the test client itself cannot send this header (a newline in it)
            continue
        if "\x00" in value and response.status_code == 400:
            continue  # refused before any view runs (kiosk.web.UnstorableText): no redirect at all
        location = _location(response)
        if not lands_on_this_site(location) or location != want:
            failures.append(f"{value!r} -> {location!r}, want {want!r}")
    assert not failures, f"{path}:\n" + "\n".join(failures)


def test_the_table_can_fail():
    """The browser reading of a Location above is itself right about the classic cases."""
    for bad in ("//x.example", "/\\x.example", "/\t/x.example", " //x.example", "http://x.example/", "javascript:x"):
        assert not lands_on_this_site(bad), bad
    assert lands_on_this_site("/pekerja/")


def test_the_language_switch_without_next_or_referer_goes_home(client):
    response = client.post("/bahasa/en")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "lang=en" in response.headers["Set-Cookie"]


def test_boosted_forms_answer_in_place_and_name_no_other_address(client, login_as):
    """Boosted navigation to the worker form gets the whole page itself: no ``HX-Redirect`` that
    a query string could point elsewhere."""
    login_as("petugas")
    for query in ("next=//x.example", "q=%2F%2Fx.example", "x=/\\x.example"):
        response = client.get(f"/pekerja/baru?{query}", headers={"HX-Request": "true", "HX-Boosted": "true"})
        assert response.status_code == 200 and "HX-Redirect" not in response.headers
        assert "x.example" not in response.headers.get("Location", "")
