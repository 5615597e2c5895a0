"""Admin pages: staff accounts (add, change role, reset password, deactivate / reactivate)."""

from __future__ import annotations

import pytest
from factories import make_staff
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kiosk import staff as accounts
from kiosk.extensions import db
from kiosk.models import AuditEvent, Staff

PASSWORD = "rahasia-123"  # the factory's (set without the password rule)
NEW_PASSWORD = "Kopi-Semende-Pagi"  # one the rule accepts


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def signed_in_client(app, username: str, password: str = PASSWORD):
    other = app.test_client()
    assert other.post("/masuk", data={"username": username, "password": password}).status_code == 302
    assert other.get("/").status_code == 200
    return other


def admin_pages(staff_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", "/admin/"),
        ("GET", "/admin/petugas"),
        ("GET", "/admin/petugas/baru"),
        ("POST", "/admin/petugas/baru"),
        ("GET", f"/admin/petugas/{staff_id}"),
        ("POST", f"/admin/petugas/{staff_id}/peran"),
        ("POST", f"/admin/petugas/{staff_id}/sandi"),
        ("POST", f"/admin/petugas/{staff_id}/status"),
    ]


def test_petugas_gets_403_on_every_admin_page(client, login_as):
    me = login_as("petugas")
    victim = make_staff(username="korban")
    for method, url in admin_pages(victim.id):
        data = {"role": "admin", "active": "0", "password": "x" * 10, "confirm": "x" * 10,
                "username": "jahat", "full_name": "Jahat"}
        response = client.open(url, method=method, data=data if method == "POST" else None)
        assert response.status_code == 403, (method, url)
    db.session.expire_all()
    assert victim.active and victim.role == "petugas" and me.role == "petugas"
    assert db.session.scalar(select(Staff).where(Staff.username == "jahat")) is None


def test_anonymous_is_sent_to_sign_in(client):
    make_staff(role="admin")
    for method, url in admin_pages(1):
        response = client.open(url, method=method)
        assert response.status_code == 302 and "/masuk" in response.headers["Location"], url


def test_admin_landing_links_to_staff_and_devices_when_present(client, login_as, app):
    login_as("admin")
    html = client.get("/admin/").get_data(as_text=True)
    assert "/admin/petugas" in html
    assert ("Perangkat kios" in html) == ("admin.devices" in app.view_functions)
    assert "style=" not in html


def test_admin_adds_a_staff_member_who_can_sign_in(client, login_as, app):
    boss = login_as("admin")
    response = client.post("/admin/petugas/baru", data={
        "username": " Dewi.Lestari ", "full_name": "Dewi Lestari", "role": "petugas",
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "admin_password": PASSWORD})
    assert response.status_code == 302
    dewi = db.session.scalar(select(Staff).where(Staff.username == "dewi.lestari"))
    assert dewi is not None and dewi.role == "petugas" and dewi.active
    (event,) = events("staff.create")
    assert event.staff_id == boss.id and event.entity_id == dewi.id
    assert "password" not in str(event.after) and "hash" not in str(event.after)
    assert "dewi.lestari" in client.get("/admin/petugas").get_data(as_text=True)
    signed_in_client(app, "dewi.lestari", NEW_PASSWORD)


def test_adding_a_taken_or_invalid_account_rerenders_with_422(client, login_as):
    login_as("admin")
    make_staff(username="budi")
    taken = client.post("/admin/petugas/baru", data={"username": "BUDI", "full_name": "Budi Lain", "role": "petugas",
                                                     "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "admin_password": PASSWORD})
    assert taken.status_code == 422 and "sudah dipakai" in taken.get_data(as_text=True)
    short = client.post("/admin/petugas/baru", data={"username": "citra", "full_name": "Citra", "role": "petugas",
                                                     "password": "pendek", "confirm": "pendek", "admin_password": PASSWORD})
    assert short.status_code == 422 and "minimal 10 karakter" in short.get_data(as_text=True)
    bad_role = client.post("/admin/petugas/baru", data={"username": "dodi", "full_name": "Dodi", "role": "root",
                                                        "password": PASSWORD, "confirm": PASSWORD, "admin_password": PASSWORD})
    assert bad_role.status_code == 422
    assert not events("staff.create")


def test_deactivating_ends_the_open_session_and_blocks_sign_in(client, login_as, app):
    boss = login_as("admin")
    eka = make_staff(username="eka")
    eka_client = signed_in_client(app, "eka")
    response = client.post(f"/admin/petugas/{eka.id}/status", data={"active": "0", "admin_password": PASSWORD})
    assert response.status_code == 302
    after = eka_client.get("/")
    assert after.status_code == 302 and "/masuk" in after.headers["Location"]
    assert eka_client.post("/masuk", data={"username": "eka", "password": PASSWORD}).status_code == 401
    (event,) = events("staff.deactivate")
    assert event.staff_id == boss.id and event.after == {"active": False}

    assert client.post(f"/admin/petugas/{eka.id}/status", data={"active": "1", "admin_password": PASSWORD}).status_code == 302
    db.session.expire_all()
    assert eka.active and len(events("staff.activate")) == 1
    signed_in_client(app, "eka")


def test_reset_password_ends_sessions_and_the_new_one_works(client, login_as, app):
    login_as("admin")
    fajar = make_staff(username="fajar")
    fajar_client = signed_in_client(app, "fajar")
    response = client.post(f"/admin/petugas/{fajar.id}/sandi", data={"password": "sandi-baru-99", "confirm": "sandi-baru-99", "admin_password": PASSWORD})
    assert response.status_code == 302
    assert fajar_client.get("/").status_code == 302  # signed out
    assert app.test_client().post("/masuk", data={"username": "fajar", "password": PASSWORD}).status_code == 401
    signed_in_client(app, "fajar", "sandi-baru-99")
    assert len(events("staff.password_reset")) == 1
    mismatch = client.post(f"/admin/petugas/{fajar.id}/sandi", data={"password": "sandi-baru-11", "confirm": "lain-lain-11", "admin_password": PASSWORD})
    assert mismatch.status_code == 422 and "tidak sama" in mismatch.get_data(as_text=True)


def test_admin_resetting_their_own_password_stays_signed_in(client, login_as):
    me = login_as("admin")
    assert client.post(f"/admin/petugas/{me.id}/sandi", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "admin_password": PASSWORD}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_change_role_takes_effect_on_the_next_request(client, login_as, app):
    login_as("admin")
    gita = make_staff(username="gita")
    gita_client = signed_in_client(app, "gita")
    assert gita_client.get("/admin/").status_code == 403
    assert client.post(f"/admin/petugas/{gita.id}/peran", data={"role": "admin", "admin_password": PASSWORD}).status_code == 302
    assert gita_client.get("/admin/").status_code == 200
    (event,) = events("staff.role")
    assert (event.before, event.after) == ({"role": "petugas"}, {"role": "admin"})


def test_an_admin_cannot_demote_or_deactivate_themselves(client, login_as):
    me = login_as("admin")
    demote = client.post(f"/admin/petugas/{me.id}/peran", data={"role": "petugas", "admin_password": PASSWORD})
    assert demote.status_code == 422 and "peran akun Anda sendiri" in demote.get_data(as_text=True)
    off = client.post(f"/admin/petugas/{me.id}/status", data={"active": "0", "admin_password": PASSWORD})
    assert off.status_code == 422 and "menonaktifkan akun Anda sendiri" in off.get_data(as_text=True)
    db.session.expire_all()
    assert me.active and me.role == "admin"
    assert not events("staff.role") and not events("staff.deactivate")


def test_the_last_active_admin_stays(engine_app):
    only = make_staff(role="admin", username="satu")
    helper = make_staff(role="petugas", username="bantu")
    with pytest.raises(accounts.StaffError):
        accounts.set_active(only, False, by=helper)
    with pytest.raises(accounts.StaffError):
        accounts.set_role(only, "petugas", by=helper)
    second = make_staff(role="admin", username="dua")
    accounts.set_role(only, "petugas", by=second)
    db.session.expire_all()
    assert only.role == "petugas"


def test_usernames_are_unique_whatever_their_case_in_the_database_itself(engine_app):
    first = accounts.create(" Rina ", "Rina Wati", "petugas", NEW_PASSWORD, by=None)
    assert first.username == "rina"
    with pytest.raises(accounts.StaffError, match="sudah dipakai"):
        accounts.create("RINA", "Rina Lain", "admin", NEW_PASSWORD, by=None)
    db.session.add(Staff(username="Rina", full_name="Lewat samping", password_hash="-"))
    with pytest.raises(IntegrityError):  # not only the service: the unique index on lower(username)
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Staff)) == 1


def test_staff_pages_render(client, login_as):
    me = login_as("admin")
    other = make_staff(username="hana", active=False)
    listing = client.get("/admin/petugas").get_data(as_text=True)
    assert "hana" in listing and "Nonaktif" in listing
    page = client.get(f"/admin/petugas/{other.id}").get_data(as_text=True)
    assert "Aktifkan kembali" in page and "style=" not in page
    assert client.get(f"/admin/petugas/{me.id}").status_code == 200
    assert client.get("/admin/petugas/99999").status_code == 404
    assert client.get("/admin/petugas/baru").status_code == 200
