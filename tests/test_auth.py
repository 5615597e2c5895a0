"""Staff sign-in, sign-out, sessions, first-run setup, CSRF and the staff-only routes."""

import os
import stat
import time

import pytest
from sqlalchemy import select

from factories import make_staff
from kiosk.auth.access import SEEN_KEY
from kiosk.extensions import db
from kiosk.models import AuditEvent, Staff


def setup_code(app) -> str:
    """A new setup code, as `flask --app kiosk setup-code` prints it."""
    from kiosk.auth import setup

    return setup.new_code()


SETUP_FORM = {"username": "Admin", "full_name": "Ibu Admin", "password": "kuat-sekali-1", "confirm": "kuat-sekali-1"}


class TestFirstRun:
    def test_without_admin_everything_leads_to_setup(self, client):
        assert client.get("/masuk").headers["Location"] == "/setup"
        page = client.get("/setup")
        assert page.status_code == 200
        assert "kode penyiapan" in page.get_data(as_text=True).lower()

    def test_only_the_setup_codes_hash_is_stored_and_in_the_database(self, app, client):
        from kiosk.auth import setup
        from kiosk.models import InstallationSecret

        client.get("/setup")
        assert not setup.code_exists()  # a page view makes none: the console command does
        code = setup_code(app)
        digest = db.session.get(InstallationSecret, "setup_code").digest
        assert setup.normalise(code) not in digest and len(digest) == 64
        assert not any(name.startswith("setup") for name in os.listdir(app.instance_path))

    def test_right_code_creates_admin_and_signs_in(self, app, client):
        from kiosk.auth import setup

        client.get("/setup")
        response = client.post("/setup", data={**SETUP_FORM, "code": setup_code(app).lower().replace("-", " ")})
        assert response.status_code == 302 and response.headers["Location"] == "/"
        admin = db.session.scalar(select(Staff))
        assert admin.username == "admin" and admin.role == "admin"
        assert admin.password_hash != SETUP_FORM["password"]
        assert client.get("/").status_code == 200
        assert not setup.code_exists()
        assert db.session.scalar(select(AuditEvent.action)) == "staff.create"

    def test_a_taken_username_is_refused_and_the_code_kept(self, app, client):
        make_staff(role="petugas", username=SETUP_FORM["username"])  # made with the CLI before setup
        client.get("/setup")
        code = setup_code(app)
        response = client.post("/setup", data={**SETUP_FORM, "code": code})
        assert response.status_code == 400 and "sudah dipakai" in response.get_data(as_text=True)
        response = client.post("/setup", data={**SETUP_FORM, "username": "kepala", "code": code})
        assert response.status_code == 302

    def test_wrong_code_refused(self, app, client):
        client.get("/setup")
        response = client.post("/setup", data={**SETUP_FORM, "code": "AAAA-BBBB-CCCC"})
        assert response.status_code == 400
        assert "Kode penyiapan salah" in response.get_data(as_text=True)
        assert db.session.scalar(select(Staff)) is None

    def test_code_used_twice(self, app, client):
        client.get("/setup")
        code = setup_code(app)
        assert client.post("/setup", data={**SETUP_FORM, "code": code}).status_code == 302
        other = app.test_client()
        response = other.post("/setup", data={**SETUP_FORM, "username": "kedua", "code": code})
        assert response.status_code == 302 and response.headers["Location"] == "/masuk"
        assert db.session.scalar(select(Staff).where(Staff.username == "kedua")) is None

    def test_cli_prints_a_new_setup_code_and_the_older_one_stops_working(self, app, client, runner):
        import re

        first = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", runner.invoke(args=["setup-code"]).output).group(0)
        second = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", runner.invoke(args=["setup-code"]).output).group(0)
        assert first != second
        assert client.post("/setup", data={**SETUP_FORM, "code": first}).status_code == 400
        assert client.post("/setup", data={**SETUP_FORM, "code": second}).status_code == 302

    def test_the_code_survives_an_admin_that_could_not_be_created(self, app, client):
        from kiosk.auth import setup

        code = setup_code(app)
        make_staff(role="petugas", username="admin")  # the name the form asks for is taken
        refused = client.post("/setup", data={**SETUP_FORM, "code": code})
        assert refused.status_code == 400 and "sudah dipakai" in refused.get_data(as_text=True)
        assert setup.code_exists() and not setup.admin_exists()
        response = client.post("/setup", data={**SETUP_FORM, "username": "kepala", "code": code})
        assert response.status_code == 302 and setup.admin_exists()


class TestSignIn:
    def test_good_password(self, client):
        make_staff(role="admin", username="siti", password="benar-sekali")
        response = client.post("/masuk", data={"username": "Siti ", "password": "benar-sekali"})
        assert response.status_code == 302 and response.headers["Location"] == "/"
        assert db.session.scalar(select(Staff.last_login_at).where(Staff.username == "siti")) is not None

    def test_bad_password(self, client):
        make_staff(role="admin", username="siti", password="benar-sekali")
        response = client.post("/masuk", data={"username": "siti", "password": "salah"})
        assert response.status_code == 401
        assert "Nama pengguna atau kata sandi salah" in response.get_data(as_text=True)
        assert client.get("/").status_code == 302

    def test_inactive_account(self, client):
        make_staff(role="admin")
        make_staff(username="budi", password="benar-sekali", active=False)
        response = client.post("/masuk", data={"username": "budi", "password": "benar-sekali"})
        assert response.status_code == 401
        assert "dinonaktifkan" in response.get_data(as_text=True)

    def test_throttled_per_username(self, app, client):
        make_staff(role="admin", username="siti", password="benar-sekali")
        for _ in range(10):
            assert client.post("/masuk", data={"username": "siti", "password": "x"}).status_code == 401
        response = client.post("/masuk", data={"username": "siti", "password": "benar-sekali"})
        assert response.status_code == 429
        assert "Terlalu banyak percobaan" in response.get_data(as_text=True)
        # another account from the same address is not locked out by siti's attempts
        make_staff(username="budi", password="benar-sekali")
        assert client.post("/masuk", data={"username": "budi", "password": "benar-sekali"}).status_code == 302

    def test_throttled_per_address(self, app, client):
        make_staff(role="admin")
        for n in range(30):
            client.post("/masuk", data={"username": f"orang{n}", "password": "x"})
        assert client.post("/masuk", data={"username": "lain", "password": "x"}).status_code == 429

    def test_successful_sign_ins_are_not_counted(self, app, client):
        make_staff(role="admin", username="siti", password="benar-sekali")
        for _ in range(12):
            assert client.post("/masuk", data={"username": "siti", "password": "benar-sekali"}).status_code == 302
            client.post("/keluar")

    def test_new_session_on_sign_in(self, client):
        make_staff(role="admin", username="siti", password="benar-sekali")
        with client.session_transaction() as sess:
            sess["planted"] = "by-attacker"
        client.post("/masuk", data={"username": "siti", "password": "benar-sekali"})
        with client.session_transaction() as sess:
            assert "planted" not in sess

    @pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "http://localhost.evil/"])
    def test_next_open_redirect_refused(self, client, target):
        make_staff(role="admin", username="siti", password="benar-sekali")
        response = client.post("/masuk?next=" + target, data={"username": "siti", "password": "benar-sekali"})
        assert response.headers["Location"] == "/"

    def test_next_inside_the_site_kept(self, client):
        make_staff(role="admin", username="siti", password="benar-sekali")
        response = client.post("/masuk?next=/pekerja/?q=budi", data={"username": "siti", "password": "benar-sekali"})
        assert response.headers["Location"] == "/pekerja/?q=budi"


class TestSessions:
    def test_sign_out(self, client, login_as):
        login_as("petugas")
        assert client.get("/").status_code == 200
        assert client.post("/keluar").status_code == 302
        assert client.get("/").status_code == 302

    def test_sign_out_needs_csrf(self, client, login_as):
        login_as("petugas")
        assert client.post("/keluar", csrf=False).status_code == 400
        assert client.get("/").status_code == 200

    def test_idle_expiry(self, app, client, login_as):
        login_as("petugas")
        with client.session_transaction() as sess:
            sess[SEEN_KEY] = int(time.time()) - app.config["IDLE_MINUTES"] * 60 - 5
        response = client.get("/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/masuk")
        assert "lama tidak digunakan" in client.get("/masuk").get_data(as_text=True)

    def test_activity_keeps_session(self, app, client, login_as):
        login_as("petugas")
        with client.session_transaction() as sess:
            sess[SEEN_KEY] = int(time.time()) - app.config["IDLE_MINUTES"] * 60 + 30
        assert client.get("/").status_code == 200

    def test_password_change_signs_out_everywhere(self, app, client, login_as):
        staff = login_as("petugas")
        staff.set_password("kata-baru-123")
        db.session.commit()
        assert client.get("/").status_code == 302

    def test_deactivation_signs_out(self, app, client, login_as):
        staff = login_as("petugas")
        staff.active = False
        db.session.commit()
        assert client.get("/").status_code == 302

    def test_htmx_request_gets_hx_redirect(self, client):
        response = client.get("/", headers={"HX-Request": "true"})
        assert response.status_code == 401
        assert response.headers["HX-Redirect"].startswith("/masuk")


def test_cli_create_staff(app, runner):
    result = runner.invoke(args=["create-staff", "Rina", "--role", "admin", "--password-stdin"], input="sangat-rahasia\n")
    assert result.exit_code == 0, result.output
    staff = db.session.scalar(select(Staff).where(Staff.username == "rina"))
    assert staff.role == "admin" and staff.check_password("sangat-rahasia")
    for same in ("rina", " RINA "):  # one account per name, whatever its case
        again = runner.invoke(args=["create-staff", same, "--password-stdin"], input="sangat-rahasia\n")
        assert again.exit_code != 0 and "sudah dipakai" in again.output
    short = runner.invoke(args=["create-staff", "dodi", "--password-stdin"], input="pendek\n")
    assert short.exit_code != 0


def staff_routes(app):
    """Every route that is not public: everything except sign-in, setup, language, static and the
    kiosk screens (which have their own device credential)."""
    public = {"auth.login", "auth.first_run", "auth.logout", "i18n.switch", "static"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in public or rule.endpoint.startswith("terminal."):
            continue
        yield rule


def example_url(app, rule) -> str:
    """A concrete URL for ``rule``: 1 for numbers, the first choice for any(), "x" otherwise."""
    from werkzeug.routing import AnyConverter, IntegerConverter

    values = {}
    for arg, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            values[arg] = sorted(converter.items)[0]
        elif isinstance(converter, IntegerConverter):
            values[arg] = 1
        else:
            values[arg] = "x"
    return app.url_map.bind("localhost").build(rule.endpoint, values, method=sorted(rule.methods)[0])


def test_every_staff_route_refused_to_anonymous(app, client):
    make_staff(role="admin")
    checked = 0
    for rule in staff_routes(app):
        url = example_url(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code in (302, 401), (method, url, response.status_code)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/masuk")
            checked += 1
    assert checked >= 1


def test_background_refresh_does_not_keep_session_alive(app, client, login_as):
    login_as("petugas")
    stale = int(time.time()) - app.config["IDLE_MINUTES"] * 60 + 30
    with client.session_transaction() as sess:
        sess[SEEN_KEY] = stale
    client.get("/", headers={"HX-Request": "true", "X-Background-Refresh": "1"})
    with client.session_transaction() as sess:
        assert sess[SEEN_KEY] == stale
    client.get("/")
    with client.session_transaction() as sess:
        assert sess[SEEN_KEY] > stale
