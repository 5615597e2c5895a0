"""Settings an admin changes day to day (admin page *Pengaturan*): stored in the database so every
server process sees them, used by the kiosk, the exit PIN and the documents; never a PIN shown
back or written to the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import make_card, make_coverage, make_distribution, make_staff, make_worker
from kiosk import settings
from kiosk.coverage import today_jakarta
from kiosk.extensions import db
from kiosk.models import AuditEvent, Setting
from kiosk.terminal import pairing
from documents import pdf_pages

FORM = {
    "office_name": "Dinas Tenaga Kerja dan Transmigrasi",
    "regency_name": "Kabupaten Muara Enim",
    "office_address": "Jl. Jenderal Sudirman No. 1\nMuara Enim 31311",
    "help_desk": "loket 3",
    "help_desk_en": "desk 3",
    "result_seconds": "40",
    "exit_pin": "2468",
    "base_income": "Rp1.250.000",
}


def _admin(client):
    make_staff(role="admin", username="admin", password="rahasia-123")
    assert client.post("/masuk", data={"username": "admin", "password": "rahasia-123"}).status_code == 302


def _pair(client):
    device, code = pairing.add_device("Kios aula", "check", None, staff=None)
    assert client.post("/kiosk/pasang", data={"code": code}).status_code == 303
    return device


def test_admin_saves_settings_and_every_screen_uses_them(engine_app):
    app = engine_app
    staff_client, kiosk = app.test_client(), app.test_client()
    _admin(staff_client)
    page = staff_client.get("/admin/pengaturan").get_data(as_text=True)
    assert 'value="Dinas Ketenagakerjaan"' in page and "meja pendaftaran" in page

    response = staff_client.post("/admin/pengaturan", data=FORM)
    assert response.status_code == 302
    stored = dict(db.session.execute(select(Setting.name, Setting.value)).all())
    assert stored["result_seconds"] == 40 and stored["base_income"] == 1_250_000
    assert 'value="Rp1.250.000"' in staff_client.get("/admin/pengaturan").get_data(as_text=True)

    _pair(kiosk)
    worker = make_worker(name="Siti")
    make_coverage(worker)
    _card, _token = make_card(worker)
    html = kiosk.post("/kiosk/pindai", data={"code": "00000000000"}).get_data(as_text=True)  # an unknown code
    assert "Hubungi petugas di loket 3." in html and 'data-return-after="40"' in html
    assert "Dinas Tenaga Kerja dan Transmigrasi" in html  # the kiosk's title bar
    kiosk.post("/bahasa/en", data={"next": "/kiosk/"})
    assert "desk 3" in kiosk.post("/kiosk/pindai", data={"code": "00000000000"}).get_data(as_text=True)
    assert kiosk.post("/kiosk/keluar", data={"pin": "2468"}).status_code == 303  # the new exit PIN opens it

    distribution = make_distribution(day=today_jakarta(), status="closed")
    pdf = staff_client.get(f"/laporan/penyaluran/{distribution.id}/bast.pdf")
    first_page = pdf_pages(pdf.data)[0]
    assert "DINAS TENAGA KERJA DAN TRANSMIGRASI" in first_page
    assert "Jl. Jenderal Sudirman No. 1" in first_page and "Muara Enim 31311" in first_page


def test_another_server_process_sees_the_change(engine_app):
    """A second app on the same database (as a second gunicorn worker or server) reads the
    stored value, not its own configuration."""
    from kiosk import create_app

    settings.save({"help_desk": "loket 9"}, staff=None)
    other = create_app({"TESTING": True, "INSTANCE_PATH": engine_app.instance_path,
                        "SQLALCHEMY_DATABASE_URI": engine_app.config["SQLALCHEMY_DATABASE_URI"],
                        "HELP_DESK": "dari konfigurasi"})
    with other.app_context():
        try:
            assert settings.get("help_desk") == "loket 9"
            assert settings.get("help_desk_en") == "registration desk"  # not changed: the configured value
        finally:
            db.session.remove()
            db.engine.dispose()


def test_refused_values_write_nothing(app, client):
    _admin(client)
    response = client.post("/admin/pengaturan", data={**FORM, "result_seconds": "2", "exit_pin": "12ab"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Antara 5 dan 120 detik." in html and "PIN berisi 4 sampai 12 angka." in html
    assert db.session.scalar(select(Setting.name)) is None
    assert settings.get("result_seconds") == 15


def test_exit_pin_is_never_shown_or_audited_and_can_be_removed(app, client):
    _admin(client)
    client.post("/admin/pengaturan", data=FORM)
    page = client.get("/admin/pengaturan").get_data(as_text=True)
    assert "2468" not in page and "PIN sudah diatur" in page
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "settings.update")).all()
    assert len(events) == 1 and "2468" not in str(events[0].before) + str(events[0].after)
    assert events[0].after["exit_pin"] == "set" and events[0].after["help_desk"] == "loket 3"

    client.post("/admin/pengaturan", data={**FORM, "exit_pin": ""})  # empty: keeps the PIN
    assert settings.get("exit_pin") == "2468"
    client.post("/admin/pengaturan", data={**FORM, "exit_pin": "", "exit_pin_clear": "y"})
    assert settings.get("exit_pin") is None
    assert not pairing.check_exit_pin("2468")


@pytest.mark.parametrize("typed", ["", "seribu", "Rp999.999", "-5"])
def test_base_income_below_the_bpjs_floor_or_unreadable_is_refused(app, client, typed):
    _admin(client)
    response = client.post("/admin/pengaturan", data={**FORM, "base_income": typed})
    assert response.status_code == 422
    assert settings.get("base_income") == 1_000_000


def test_typed_text_is_data_on_the_page(app, client):
    _admin(client)
    client.post("/admin/pengaturan", data={**FORM, "help_desk": '<b hx-get="/x">loket</b>'})
    html = client.get("/admin/pengaturan").get_data(as_text=True)
    assert '<b hx-get="/x">' not in html and "&lt;b hx-get=" in html


@pytest.mark.parametrize("name", sorted(settings.FIELDS))
def test_every_setting_is_on_the_page_and_in_the_docs(name, client, login_as):
    from pathlib import Path

    login_as("admin")
    assert f'name="{name}"' in client.get("/admin/pengaturan").get_data(as_text=True)
    docs = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text()
    assert f"KIOSK_{settings.FIELDS[name].config}" in docs


# Framework settings the operator never needs (Flask, Flask-Login, Flask-WTF, Babel, SQLAlchemy).
FRAMEWORK = {
    "PERMANENT_SESSION_LIFETIME", "SESSION_COOKIE_NAME", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_DURATION", "BABEL_DEFAULT_LOCALE", "BABEL_DEFAULT_TIMEZONE",
    "LANGUAGES", "SQLALCHEMY_ENGINE_OPTIONS", "WTF_CSRF_TIME_LIMIT", "WTF_CSRF_HEADERS",
}


def test_every_setting_is_listed_with_its_name_in_the_docs():
    from pathlib import Path

    from kiosk.config import Defaults

    docs = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text()
    names = {name for name in vars(Defaults) if name.isupper()} - FRAMEWORK
    missing = sorted(name for name in names if f"`KIOSK_{name}`" not in docs)
    assert missing == []
