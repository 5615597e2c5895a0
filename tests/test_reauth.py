"""Re-authentication for the dangerous admin actions (issue #12, defence in depth: a role, an
account's password or state, a new account, revoking a kiosk device): a request
forged from the admin's own browser carries a valid CSRF token (injected markup would add the
page's header) but not the admin's password. Without it, or with a wrong one, nothing changes:
role, password, account state and kiosk devices stay as they were."""

from __future__ import annotations

import pytest
from factories import make_staff
from sqlalchemy import func, select

from kiosk.auth.reauth import FAILED, REAUTH_FAILURES_MAX
from kiosk.extensions import db
from kiosk.models import AuditEvent, Device, Staff
from kiosk.terminal import pairing

PASSWORD = "rahasia-123"
NEW = "Kunang-kunang-malam"


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def _state(staff_id: int, device_id: int) -> tuple:
    db.session.expire_all()
    staff = db.session.get(Staff, staff_id)
    device = db.session.get(Device, device_id)
    accounts = db.session.scalar(select(func.count(Staff.id)))
    return staff.role, staff.active, staff.password_hash, staff.session_version, device.revoked_at, accounts


def _actions(staff_id: int, device_id: int) -> list[tuple[str, dict]]:
    return [
        (f"/admin/petugas/{staff_id}/peran", {"role": "admin"}),
        (f"/admin/petugas/{staff_id}/sandi", {"password": NEW, "confirm": NEW}),
        (f"/admin/petugas/{staff_id}/status", {"active": "0"}),
        (f"/admin/perangkat/{device_id}/cabut", {}),
        ("/admin/petugas/baru", {"username": "jahat", "full_name": "Jahat", "role": "admin",
                                 "password": NEW, "confirm": NEW}),
    ]


@pytest.mark.parametrize("given", [None, "", "salah-sekali-99", PASSWORD.upper()])
def test_a_forged_request_with_a_valid_csrf_token_but_no_right_password_changes_nothing(client, login_as, given):
    login_as("admin", username="kepala")
    petugas = make_staff(username="siti")
    device, _code = pairing.add_device("Kios aula", "check", None, staff=None)
    before = _state(petugas.id, device.id)
    for url, data in _actions(petugas.id, device.id):
        if given is not None:
            data = {**data, "admin_password": given}
        response = client.post(url, data=data)  # the CsrfClient adds a valid X-CSRFToken header
        assert response.status_code in (302, 422), url
        assert _state(petugas.id, device.id) == before, url
    assert not events("staff.role") and not events("staff.password_reset") and not events("staff.deactivate")
    assert not events("device.revoke") and not events("staff.create")
    # Only a typed, wrong password counts as a failed confirmation (five actions).
    assert len(events(FAILED)) == (5 if given else 0)


def test_the_refusal_says_why_in_indonesian_and_in_english(client, login_as):
    login_as("admin", username="kepala")
    petugas = make_staff(username="siti")
    url = f"/admin/petugas/{petugas.id}/peran"
    missing = client.post(url, data={"role": "admin"})
    assert missing.status_code == 422
    assert "Ketik kata sandi Anda sendiri untuk mengonfirmasi." in missing.get_data(as_text=True)
    wrong = client.post(url, data={"role": "admin", "admin_password": "bukan-ini-123"})
    assert "Kata sandi Anda salah. Tidak ada yang diubah." in wrong.get_data(as_text=True)
    client.post("/bahasa/en")
    english = client.post(url, data={"role": "admin", "admin_password": "bukan-ini-123"})
    assert english.status_code == 422 and "Your password is wrong. Nothing was changed." in english.get_data(as_text=True)
    status = client.post(f"/admin/petugas/{petugas.id}/status", data={"active": "0"})
    assert status.status_code == 422 and "Type your own password to confirm." in status.get_data(as_text=True)
    db.session.expire_all()
    assert petugas.role == "petugas" and petugas.active


def test_with_the_admins_password_each_action_goes_through(client, login_as):
    admin = login_as("admin", username="kepala")
    petugas = make_staff(username="siti")
    device, _code = pairing.add_device("Kios aula", "check", None, staff=None)
    for url, data in _actions(petugas.id, device.id):
        assert client.post(url, data={**data, "admin_password": PASSWORD}).status_code == 302, url
    db.session.expire_all()
    assert db.session.scalar(select(Staff).where(Staff.username == "jahat")).role == "admin"
    assert petugas.role == "admin" and not petugas.active and petugas.check_password(NEW)
    assert device.revoked_at is not None
    for action in ("staff.role", "staff.password_reset", "staff.deactivate", "device.revoke", "staff.create"):
        (event,) = events(action)
        assert event.staff_id == admin.id, action
    assert not events(FAILED)


def test_the_pages_ask_for_the_admins_password(client, login_as):
    login_as("admin", username="kepala")
    petugas = make_staff(username="siti")
    pairing.add_device("Kios aula", "check", None, staff=None)
    page = client.get(f"/admin/petugas/{petugas.id}").get_data(as_text=True)
    assert page.count('name="admin_password"') == 3
    assert 'id="role-admin-password"' in page and 'id="active-admin-password"' in page
    devices = client.get("/admin/perangkat").get_data(as_text=True)
    assert devices.count('name="admin_password"') == 1
    assert 'name="admin_password"' in client.get("/admin/petugas/baru").get_data(as_text=True)


def test_repeated_wrong_confirmations_end_the_admins_sessions(engine_app):
    """Injected markup cannot use the confirmation to guess the password: the failures are
    counted in the database, and at the limit every session of the admin ends."""
    make_staff(role="admin", username="kepala")
    petugas = make_staff(username="siti")
    desk, office = engine_app.test_client(), engine_app.test_client()
    for browser in (desk, office):
        assert browser.post("/masuk", data={"username": "kepala", "password": PASSWORD}).status_code == 302
    url = f"/admin/petugas/{petugas.id}/peran"
    for attempt in range(REAUTH_FAILURES_MAX - 1):
        assert desk.post(url, data={"role": "admin", "admin_password": f"tebakan-{attempt}"}).status_code == 422
        assert signed_in(desk) and signed_in(office)
    desk.post(url, data={"role": "admin", "admin_password": "tebakan-terakhir"})
    assert not signed_in(desk) and not signed_in(office)
    db.session.expire_all()
    assert db.session.get(Staff, petugas.id).role == "petugas"
    assert len(events(FAILED)) == REAUTH_FAILURES_MAX
    # Signing in again works; the right confirmation then does.
    assert desk.post("/masuk", data={"username": "kepala", "password": PASSWORD}).status_code == 302
    assert desk.post(url, data={"role": "admin", "admin_password": PASSWORD}).status_code == 302
