"""Configuration layering and the instance secret."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

from kiosk import create_app
from kiosk.config import SecretKeyError


def test_layers_defaults_instance_env_test(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        "IDLE_MINUTES = 5\nKIOSK_RESULT_SECONDS = 20\nOFFICE_NAME = 'Disnaker'\nKIOSK_HELP_DESK = 'loket 1'\n"
    )
    monkeypatch.setenv("KIOSK_RESULT_SECONDS", "30")
    monkeypatch.setenv("KIOSK_OFFICE_NAME", "Dinas Tenaga Kerja")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/kiosk")
    app = create_app({"INSTANCE_PATH": str(instance), "OFFICE_NAME": "Dari tes"})
    assert app.config["IDLE_MINUTES"] == 5  # instance/config.py over the default (15)
    assert app.config["HELP_DESK"] == "loket 1"  # the documented name works in instance/config.py too
    assert app.config["RESULT_SECONDS"] == 30  # environment over instance/config.py, parsed as JSON
    assert "KIOSK_RESULT_SECONDS" not in app.config  # one key inside the app
    assert app.config["OFFICE_NAME"] == "Dari tes"  # the test dict over everything
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/kiosk"
    assert app.config["REGENCY_NAME"] == "Kabupaten Muara Enim"  # untouched default


def test_old_doubled_names_still_work_with_a_warning(tmp_path, monkeypatch, caplog):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("KIOSK_KIOSK_EXIT_PIN = '4321'\n")
    monkeypatch.setenv("KIOSK_KIOSK_RESULT_SECONDS", "25")
    with caplog.at_level("WARNING", logger="kiosk.config"):
        app = create_app({"INSTANCE_PATH": str(instance)})
    assert app.config["RESULT_SECONDS"] == 25
    assert app.config["EXIT_PIN"] == "4321"
    warnings = [r.getMessage() for r in caplog.records]
    assert any("KIOSK_KIOSK_RESULT_SECONDS" in w and "call it KIOSK_RESULT_SECONDS" in w for w in warnings)
    assert any("KIOSK_KIOSK_EXIT_PIN" in w and "instance/config.py" in w for w in warnings)


def test_default_database_is_sqlite_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "inst")})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(tmp_path / "inst" / "kiosk.sqlite3")


def test_secret_key_created_once_with_mode_0600(tmp_path):
    instance = tmp_path / "instance"
    first = create_app({"INSTANCE_PATH": str(instance)})
    key_file = instance / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert len(first.secret_key) == 64
    second = create_app({"INSTANCE_PATH": str(instance)})
    assert second.secret_key == first.secret_key
    other = create_app({"INSTANCE_PATH": str(tmp_path / "other")})
    assert other.secret_key != first.secret_key


def test_instance_secrets_are_ignored_by_git():
    root = os.path.dirname(os.path.dirname(__file__))
    names = ["instance/secret_key", "instance/kiosk.sqlite3", "instance/card-keys/1", "instance/tls/ca.key"]
    result = subprocess.run(["git", "-C", root, "check-ignore", *names], capture_output=True, text=True)
    assert result.stdout.split() == names


def test_sqlite_pragmas(app):
    from kiosk.extensions import db

    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_security_headers(client):
    response = client.get("/masuk")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_every_answer_carries_each_header_once(client):
    """The security headers, no-store and Vary on the htmx headers, each once (added in one
    place: ``web.AnswerHeaders``); HSTS only over HTTPS."""
    from kiosk.web import HTMX_HEADERS, SECURITY_HEADERS

    for base_url, hsts in (("http://localhost", False), ("https://localhost", True)):
        response = client.get("/masuk", base_url=base_url)
        names = [name.lower() for name, _ in response.headers]
        for name, value in SECURITY_HEADERS:
            assert names.count(name.lower()) == 1 and response.headers[name] == value
        assert response.headers.getlist("Cache-Control") == ["no-store"]
        assert names.count("vary") == 1 and set(HTMX_HEADERS) <= set(response.vary)
        assert names.count("strict-transport-security") == (1 if hsts else 0)


def test_a_views_own_headers_stay(app, client):
    """What a view says itself is kept (its own policy, its caching if it is no-store, its Vary,
    its HSTS); what it left out is added."""
    from flask import make_response

    def own():
        response = make_response("own")
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Vary"] = "Accept-Language"
        response.headers["Strict-Transport-Security"] = "max-age=60"
        return response

    def cached():
        response = make_response("cached")
        response.headers["Cache-Control"] = "no-cache"
        return response

    app.add_url_rule("/test-own-headers", "test_own_headers", own)
    app.add_url_rule("/test-cached", "test_cached", cached)
    response = client.get("/test-own-headers", base_url="https://localhost")
    assert response.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert response.headers.getlist("Cache-Control") == ["private, no-store"]
    assert response.headers.getlist("Strict-Transport-Security") == ["max-age=60"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert {"Accept-Language", "HX-Request", "HX-Target"} <= set(response.vary)
    # no-cache would keep the answer on the tablet's disk: made no-store.
    assert client.get("/test-cached").headers.getlist("Cache-Control") == ["no-store"]


def test_vary_is_one_header_with_the_sessions_own(app, client, login_as):
    """A staff page looks into the session (``Vary: Cookie``, Flask's): one Vary header holding
    that and the htmx headers, not two."""
    from kiosk.web import HTMX_HEADERS

    login_as("petugas")
    response = client.get("/")
    assert response.status_code == 200
    varies = response.headers.getlist("Vary")
    assert len(varies) == 1
    assert {"Cookie", *HTMX_HEADERS} <= set(response.vary)


@pytest.mark.parametrize("given, vary", [
    ([], "HX-Request, HX-Target, HX-Boosted, HX-History-Restore-Request"),
    ([("Vary", "Cookie")], "Cookie, HX-Request, HX-Target, HX-Boosted, HX-History-Restore-Request"),
    ([("Vary", "Accept-Language")], "Accept-Language, HX-Request, HX-Target, HX-Boosted, HX-History-Restore-Request"),
    ([("vary", "Cookie"), ("Vary", "hx-request, Accept")],
     "Cookie, hx-request, Accept, HX-Target, HX-Boosted, HX-History-Restore-Request"),
])
def test_answer_headers_merge_vary_into_one(given, vary):
    """``web.add_answer_headers`` on a WSGI header list: one Vary holding what the answer had
    (the session's Cookie, a view's own) and the htmx headers, each once whatever its case."""
    from kiosk.web import add_answer_headers

    headers = [("Content-Type", "text/html"), *given]
    add_answer_headers(headers, secure=False, static=False)
    assert [value for name, value in headers if name.lower() == "vary"] == [vary]
    assert headers[0] == ("Content-Type", "text/html")
    assert [value for name, value in headers if name == "Cache-Control"] == ["no-store"]


def test_a_kiosk_answer_has_one_vary(app, client):
    """A scan's answer (a kiosk has no session: an empty one, looked into by the hooks) carries
    one Vary with the htmx headers."""
    from factories import covered_worker, make_card
    from kiosk.web import HTMX_HEADERS
    from test_terminal_views import PANEL, pair_client

    pair_client(client)
    token = make_card(covered_worker())[1]
    response = client.post("/kiosk/pindai", data={"code": token}, headers=PANEL)
    assert response.status_code == 200 and 'data-state="result"' in response.get_data(as_text=True)
    assert len(response.headers.getlist("Vary")) == 1
    assert set(HTMX_HEADERS) <= set(response.vary)


def test_an_answer_whose_hooks_failed_still_carries_the_headers(app, client):
    """The headers are added where the answer leaves Flask: the error page of a request whose
    after_request hook raised carries them too (an after_request hook adding them did not run
    again for that page)."""
    from kiosk.web import SECURITY_HEADERS

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as served: the error page, not the exception
    app.add_url_rule("/test-hook-fails", "test_hook_fails", lambda: "fine")

    @app.after_request
    def fail_on_that_page(response):
        from flask import request

        if request.endpoint == "test_hook_fails":
            raise RuntimeError("a hook that fails")
        return response

    response = client.get("/test-hook-fails")
    assert response.status_code == 500
    for name, value in SECURITY_HEADERS:
        assert response.headers.getlist(name) == [value]
    assert response.headers.getlist("Cache-Control") == ["no-store"]


def test_a_static_file_flask_answers_gets_the_security_headers_only(app, client):
    """Under /static/ Flask answers only what the static layer does not know (here a file that
    is not there): the security headers, but not no-store, and no Vary on htmx (the static
    layer's own caching rules apply to its files)."""
    from kiosk.web import SECURITY_HEADERS

    response = client.get("/static/css/no-such-file.css")
    assert response.status_code == 404
    for name, value in SECURITY_HEADERS:
        assert response.headers.getlist(name) == [value]
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert "HX-Target" not in response.headers.get("Vary", "")


def test_session_cookie_flags(app, client, login_as):
    login_as("petugas")
    cookie = client.get_cookie("kiosk_session")
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    assert not cookie.secure


def test_secure_cookies_behind_https(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path / "i"), "PREFER_HTTPS": True})
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_language_switch(client, app):
    from kiosk.auth.setup import admin_exists  # noqa: F401  (setup page shows without an admin)

    page = client.get("/setup").get_data(as_text=True)
    assert "Penyiapan pertama" in page
    response = client.post("/bahasa/en", data={"next": "/setup"})
    assert response.status_code == 302 and response.headers["Location"] == "/setup"
    page = client.get("/setup").get_data(as_text=True)
    assert "First-time setup" in page
    assert client.post("/bahasa/id", data={"next": "https://evil.example/"}).headers["Location"] == "/"


def test_vendored_files_cached_for_good_others_revalidated(client):
    """Vendored files carry their version in their name; the app's own files under their plain
    name are revalidated (pages link them by versioned name: tests/test_static_files.py)."""
    vendored = client.get("/static/vendor/htmx-2.0.11.min.js")
    assert vendored.status_code == 200
    assert "immutable" in vendored.headers["Cache-Control"]
    own = client.get("/static/css/app.css")
    assert own.headers["Cache-Control"] == "max-age=0, public"
    vendored.close()
    own.close()


def test_passwords_are_hashed_with_scrypt_outside_tests(tmp_path, monkeypatch, app):
    """The suite hashes with one PBKDF2 round for speed; the app itself must keep scrypt."""
    from kiosk.models import Staff

    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            monkeypatch.delenv(name)
    production = create_app({"INSTANCE_PATH": str(tmp_path / "production")})
    assert production.config["PASSWORD_HASH_METHOD"] == "scrypt"
    with production.app_context():
        staff = Staff(username="admin")
        staff.set_password("rahasia-123")
    assert staff.password_hash.startswith("scrypt:")
    assert staff.check_password("rahasia-123") and not staff.check_password("rahasia-124")
    with app.app_context():  # a test app reads a scrypt hash as well as its own cheap ones
        assert staff.check_password("rahasia-123")
        staff.set_password("kata-baru-123")
        assert staff.password_hash.startswith("pbkdf2:sha256:1$")


@pytest.mark.parametrize("content", ["", "\n", "abc123\n"])
def test_an_empty_or_short_secret_key_file_is_refused_at_start(tmp_path, content):
    # A power cut right after the first start could leave secret_key empty: the server must not
    # start with "" as its secret (every staff page would be a 500) but say what to do.
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text(content)
    with pytest.raises(SecretKeyError) as refused:
        create_app({"INSTANCE_PATH": str(instance)})
    message = str(refused.value)
    assert str(instance / "secret_key") in message
    assert "remove this file" in message and "register-secret-key" in message
    (instance / "secret_key").unlink()  # the recovery the message gives
    assert len(create_app({"INSTANCE_PATH": str(instance)}).secret_key) == 64


def test_secret_key_is_linked_into_place_whole_and_its_folder_synced(tmp_path, monkeypatch):
    # What a test can check of durability: the key reaches its name only whole (written aside,
    # fsynced, then linked) and the folder is fsynced after; not that a real disk keeps it.
    from kiosk import private_files

    synced, seen = [], []
    real_link = os.link

    def link(source, destination):
        seen.append(Path(source).read_text())  # the whole key is written before it gets its name
        real_link(source, destination)

    monkeypatch.setattr(private_files.os, "link", link)
    monkeypatch.setattr(private_files, "sync_folder", lambda path: synced.append(Path(path)))
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert seen == [app.secret_key + "\n"]
    assert instance.resolve() in [p.resolve() for p in synced]
    assert [p.name for p in instance.iterdir() if p.name.endswith(".tmp")] == []
