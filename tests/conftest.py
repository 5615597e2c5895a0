"""Shared fixtures: an app with its own real database per test (a SQLite file, or a fresh
PostgreSQL database made for the run), clients that speak CSRF, sign-in helpers, a live server
and a real headless Chromium.

Fixtures: ``app`` (SQLite), ``engine_app`` (parametrized: SQLite and PostgreSQL), ``client``,
``runner``, ``login_as(role)``, ``live_server``, ``browser_factory``, ``page``; factories live in
``tests/factories.py``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import flask_babel
import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"
PG_ADMIN_URL = os.environ.get("KIOSK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# One round of PBKDF2 instead of scrypt: staff are made in most tests (test_config checks the app
# itself uses scrypt).
CHEAP_HASH = "pbkdf2:sha256:1"
ENGINES_USED: set[str] = set()
POSTGRES_MISSING: list[bool] = []

from factories import make_staff  # noqa: E402


class CsrfClient(FlaskClient):
    """A test client that sends a valid CSRF token header with every unsafe request, as the
    pages' htmx does, unless ``csrf=False`` is passed."""

    def open(self, *args, csrf: bool = True, **kwargs):
        # A real request gets a fresh app context; here the test's context is reused, so drop
        # the per-context caches (Flask-Login's user, Flask-Babel's locale) as a server would.
        if has_app_context():
            g.pop("_login_user", None)
            g.pop("csrf_token", None)  # Flask-WTF's per-request token, else a page shows an old session's
            flask_babel.refresh()
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(kwargs.pop("headers", None) or {})
            path = args[0] if args and isinstance(args[0], str) else ""
            headers.setdefault("X-CSRFToken", self.csrf_token(kiosk=path.startswith("/kiosk/")))
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def csrf_token(self, kiosk: bool = False) -> str:
        """A token for this client's session, signed as Flask-WTF signs it; for a kiosk screen
        of a paired browser, the kiosk's own token (``pairing.form_token``)."""
        app = self.application
        credential = self.get_cookie("kiosk_device") if kiosk else None
        if credential is not None:
            from kiosk.terminal import pairing

            with app.app_context():
                return pairing.form_token(credential.value)
        with self.session_transaction() as sess:
            raw = sess.get("csrf_token")
            if raw is None:
                raw = sess["csrf_token"] = uuid.uuid4().hex + uuid.uuid4().hex
        return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def _migrate(app) -> None:
    from flask_migrate import upgrade

    from kiosk.extensions import db

    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()  # closing the last SQLite connection checkpoints the WAL into the file


def _make_app(instance: Path, extra: dict | None = None):
    from kiosk import create_app

    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": None,
        "SERVER_NAME": None,
        "PASSWORD_HASH_METHOD": CHEAP_HASH,
    }
    config.update(extra or {})
    app = create_app(config)
    app.test_client_class = CsrfClient
    return app


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite database migrated once; each test copies it."""
    instance = tmp_path_factory.mktemp("template-instance")
    _migrate(_make_app(instance))
    return instance / "kiosk.sqlite3"


def postgres_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def new_postgres_database(prefix: str):
    """A new, empty PostgreSQL database named ``<prefix>_<pid>_<random>`` (its URL), dropped at
    the end with whatever is still connected to it."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    """A fresh PostgreSQL database for this run, migrated once, dropped at the end."""
    if not postgres_answers():
        POSTGRES_MISSING.append(True)
        pytest.skip("no PostgreSQL server answers at 127.0.0.1:5432")
    with new_postgres_database("kiosk_test") as url:
        _migrate(_make_app(tmp_path_factory.mktemp("pg-template"), {"SQLALCHEMY_DATABASE_URI": url}))
        yield url


def _truncate_postgres(app) -> None:
    from kiosk.extensions import db

    with app.app_context():
        db.session.remove()
        names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


def _build_app(engine: str, tmp_path: Path, request, extra: dict | None = None):
    instance = tmp_path / "instance"
    instance.mkdir()
    config = dict(extra or {})
    if engine == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), instance / "kiosk.sqlite3")
    else:
        config["SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("postgres_url")
    ENGINES_USED.add(engine)
    return _make_app(instance, config)


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change the app's config."""
    return {}


@pytest.fixture
def app(tmp_path, request, app_config):
    """The app on its own fresh SQLite file."""
    app = _build_app("sqlite", tmp_path, request, app_config)
    with app.app_context():
        yield app
    from kiosk.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine_app(tmp_path, request, app_config):
    """The app on each database engine: a fresh SQLite file, then the run's PostgreSQL database."""
    app = _build_app(request.param, tmp_path, request, app_config)
    with app.app_context():
        yield app
    from kiosk.extensions import db

    with app.app_context():
        db.session.remove()
    if request.param == "postgresql":
        _truncate_postgres(app)
    else:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login_as(app, client):
    """Sign ``client`` in as a new staff member of the given role; returns the Staff row."""

    def sign_in(role: str = "petugas", username: str | None = None, password: str = "rahasia-123"):
        staff = make_staff(role=role, username=username, password=password)
        if role != "admin":
            make_staff(role="admin")  # setup is closed once an admin exists
        response = client.post("/masuk", data={"username": staff.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return staff

    return sign_in


# ---- live server and browser -----------------------------------------------------------------

def _closed_bodies(app):
    """The app with each answer's body read whole and closed before the server sends it.
    werkzeug's development server skips a body's close() when the browser has already gone (a
    read in its ``finally`` raises), which left a static file open and failed a test with an
    unraisable ResourceWarning; gunicorn, which serves the office, closes it."""

    def wsgi(environ, start_response):
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server("127.0.0.1", 0, _closed_bodies(app), threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)
        self.server.server_close()


@pytest.fixture
def live_server(app):
    """The test's app served by a real HTTP server on 127.0.0.1 (threaded)."""
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def sign_in():
    """Sign a Playwright ``page`` in through the real form and wait for the home page."""

    def sign_in_page(page, base_url: str, username: str, password: str = "rahasia-123") -> None:
        page.goto(base_url + "/masuk")
        page.get_by_label("Nama pengguna").fill(username)
        page.get_by_label("Kata sandi").fill(password)
        page.locator("main").get_by_role("button", name="Masuk").click()
        page.get_by_role("heading", name="Beranda").wait_for()

    return sign_in_page


@pytest.fixture
def open_section():
    """Go to a staff section by the menu as a clerk would: below 1024 px it opens from its button."""

    def open_section_page(page, name: str) -> None:
        menu = page.locator("details[data-navmenu] > summary")
        if menu.is_visible():
            menu.click()
            page.locator(".mainnav-panel").get_by_role("link", name=name, exact=True).click()
        else:
            page.locator(".mainnav-row").get_by_role("link", name=name, exact=True).click()

    return open_section_page


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing (make test installs it)")
        pytest.skip("Debian's chromium is not installed (make test installs it)")


@pytest.fixture(scope="session")
def playwright_instance():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def output_dir(request) -> Path:
    """A folder under test-output/ for this test's screenshots."""
    path = OUTPUT / request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def browser_factory(playwright_instance):
    """Launch Chromium, optionally showing ``y4m`` (absolute path) to its fake camera.

    Every page opened in it fails the test on a request that leaves 127.0.0.1.
    """
    browsers = []
    outside: list[str] = []

    def launch(y4m: Path | None = None, **context_args):
        args = list(CHROMIUM_ARGS)
        if y4m is not None:
            args.append(f"--use-file-for-fake-video-capture={Path(y4m).resolve()}")
        browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        browsers.append(browser)
        context = browser.new_context(
            viewport=context_args.pop("viewport", {"width": 1280, "height": 800}),
            permissions=["camera"],
            **context_args,
        )

        def guard(route):
            url = route.request.url
            if url.startswith(("http://127.0.0.1", "https://127.0.0.1", "data:", "blob:")):
                route.continue_()
            else:
                outside.append(url)
                route.abort()

        context.route("**/*", guard)
        return context

    yield launch
    for browser in browsers:
        browser.close()
    assert not outside, f"requests left the server: {outside}"


def pytest_terminal_summary(terminalreporter):
    engines = ", ".join(sorted(ENGINES_USED)) or "none"
    terminalreporter.write_line(f"database engines exercised: {engines}")
    if POSTGRES_MISSING:
        terminalreporter.write_line("PostgreSQL tests were SKIPPED: no server answers at 127.0.0.1:5432")
