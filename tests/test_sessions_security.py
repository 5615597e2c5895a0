"""Staff sessions beyond tests/test_auth.py: a session cookie planted before sign-in is useless
after it (fixation), sign-out everywhere through the admin pages (two browsers signed in as the
same person), a reactivated account does not revive old sessions, idle expiry answers htmx with
HX-Redirect and forgets the session's data, and the session cookie's flags."""

from __future__ import annotations

import time

import pytest

from factories import make_staff
from kiosk.auth.access import SEEN_KEY

PASSWORD = "rahasia-123"


def session_cookie(client, app) -> str | None:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def sign_in(client, username: str, password: str = PASSWORD):
    response = client.post("/masuk", data={"username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def signed_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200


@pytest.fixture
def people(app):
    admin = make_staff(role="admin", username="admin1")
    siti = make_staff(role="petugas", username="siti")
    return admin, siti


def test_planted_session_cookie_is_replaced_and_stays_anonymous(app, client, people):
    """An attacker who gets a browser to carry their session cookie gains nothing: sign-in gives
    a new cookie, and the attacker's copy still opens no staff page."""
    client.get("/masuk")
    with client.session_transaction() as sess:
        sess["planted"] = "oleh-penyerang"
        old_csrf = sess.get("csrf_token")
    planted = session_cookie(client, app)
    assert planted and old_csrf

    sign_in(client, "siti")
    after = session_cookie(client, app)
    assert after and after != planted
    assert signed_in(client)
    with client.session_transaction() as sess:
        assert "planted" not in sess and sess.get("csrf_token") != old_csrf  # the old CSRF secret is gone too

    attacker = app.test_client()
    attacker.set_cookie(app.config["SESSION_COOKIE_NAME"], planted)
    assert not signed_in(attacker)


def _two_browsers_as_siti(app):
    tablet, phone = app.test_client(), app.test_client()
    sign_in(tablet, "siti")
    sign_in(phone, "siti")
    assert signed_in(tablet) and signed_in(phone)
    return tablet, phone


def test_password_reset_by_admin_signs_out_every_browser(app, client, people):
    admin, siti = people
    tablet, phone = _two_browsers_as_siti(app)
    sign_in(client, "admin1")
    response = client.post(f"/admin/petugas/{siti.id}/sandi", data={"password": "sandi-baru-456", "confirm": "sandi-baru-456", "admin_password": PASSWORD})
    assert response.status_code == 302
    assert not signed_in(tablet) and not signed_in(phone)
    assert signed_in(client)  # the admin who did it stays signed in
    sign_in(tablet, "siti", "sandi-baru-456")
    assert signed_in(tablet)


def test_admin_changing_own_password_ends_own_other_sessions_only(app, people):
    admin, _ = people
    desk, office = app.test_client(), app.test_client()
    sign_in(desk, "admin1")
    sign_in(office, "admin1")
    response = office.post(f"/admin/petugas/{admin.id}/sandi", data={"password": "sandi-baru-456", "confirm": "sandi-baru-456", "admin_password": PASSWORD})
    assert response.status_code == 302
    assert signed_in(office)
    assert not signed_in(desk)


def test_deactivation_by_admin_signs_out_every_browser_and_reactivation_does_not_revive(app, client, people):
    admin, siti = people
    tablet, phone = _two_browsers_as_siti(app)
    old_cookie = session_cookie(tablet, app)
    sign_in(client, "admin1")
    assert client.post(f"/admin/petugas/{siti.id}/status", data={"active": "0", "admin_password": PASSWORD}).status_code == 302
    assert not signed_in(tablet) and not signed_in(phone)
    # Refused at sign-in too.
    assert client.post("/keluar").status_code == 302
    assert client.post("/masuk", data={"username": "siti", "password": PASSWORD}).status_code == 401

    sign_in(client, "admin1")
    assert client.post(f"/admin/petugas/{siti.id}/status", data={"active": "1", "admin_password": PASSWORD}).status_code == 302
    stale = app.test_client()
    stale.set_cookie(app.config["SESSION_COOKIE_NAME"], old_cookie)
    assert not signed_in(stale)


def test_role_change_takes_effect_on_the_next_request(app, client, people):
    admin, siti = people
    tablet = app.test_client()
    sign_in(tablet, "siti")
    assert tablet.get("/admin/petugas").status_code == 403
    sign_in(client, "admin1")
    assert client.post(f"/admin/petugas/{siti.id}/peran", data={"role": "admin", "admin_password": PASSWORD}).status_code == 302
    assert tablet.get("/admin/petugas").status_code == 200
    assert client.post(f"/admin/petugas/{siti.id}/peran", data={"role": "petugas", "admin_password": PASSWORD}).status_code == 302
    assert tablet.get("/admin/petugas").status_code == 403


def test_idle_expiry_answers_htmx_with_hx_redirect_and_forgets_the_session(app, client, people):
    sign_in(client, "siti")
    with client.session_transaction() as sess:
        sess[SEEN_KEY] = int(time.time()) - app.config["IDLE_MINUTES"] * 60 - 1
        sess["scratch"] = "data tablet sebelumnya"
    response = client.get("/pekerja/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/masuk")
    with client.session_transaction() as sess:
        assert "_user_id" not in sess and "scratch" not in sess
    assert not signed_in(client)


def test_idle_expiry_applies_to_posts_too(app, client, people):
    """A form sent from a tablet left alone is refused, not saved."""
    sign_in(client, "siti")
    with client.session_transaction() as sess:
        sess[SEEN_KEY] = int(time.time()) - app.config["IDLE_MINUTES"] * 60 - 1
    response = client.post("/penyaluran/baru", data={"name": "Penyaluran"})
    assert response.status_code in (302, 400)
    from kiosk.extensions import db
    from kiosk.models import Distribution

    assert db.session.query(Distribution).count() == 0


def test_session_cookie_flags_on_sign_in(app, client, people):
    response = sign_in(client, "siti")
    cookies = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(app.config["SESSION_COOKIE_NAME"] + "=")]
    assert cookies
    flags = cookies[-1].lower()
    assert "httponly" in flags and "samesite=lax" in flags
    assert "expires=" not in flags  # a browser session, never a remembered sign-in
