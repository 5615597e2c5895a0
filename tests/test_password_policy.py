"""The staff password rule (issue #12): at least 10 characters, not a common password (the
bundled list, with simple variants), not the username, the person's name or the office's words —
one function (``kiosk.staff.password_problem``) applied wherever a password is set: the admin
pages, the first-run setup, ``create-staff`` and a reset. And signing in with an unknown username
costs the same password hash as with a known one."""

from __future__ import annotations

import pytest
from factories import make_staff
from sqlalchemy import select

from kiosk import staff as accounts
from kiosk.auth import setup
from kiosk.extensions import db
from kiosk.models import Staff

GOOD = "kebun kopi di Semende"
ADMIN_PASSWORD = "rahasia-123"  # the factory's; set without the rule

REFUSED = [
    "password", "12345678", "123456789012", "passwordpassword", "Password123!", "P@ssw0rd2024", "qwertyuiop",
    "iloveyou2026", "rahasia-123", "!!sayang1234", "aaaaaaaaaaaa", "ababababab12",
    "MuaraEnim2024", "muara enim!!", "Disnaker-2026", "disnaker_kiosk_1", "KIOSK-BPU-2026", "bpjs12345678",
    "ketenagakerjaan", "Bpjs-Muara-Enim", "budi.santoso1", "BudiSantoso!!", "santoso-1985",
    "budi-admin-2026",
]
ACCEPTED = [GOOD, "Rendang-Jengkol-Kuning", "sapi makan rumput 7", "Pempek kapal selam!", "tiga-burung-biru-di-dahan"]


@pytest.mark.parametrize("password", REFUSED)
def test_common_short_and_context_passwords_are_refused(app, password):
    assert accounts.password_problem(password, username="budi.santoso", full_name="Budi Santoso") is not None


@pytest.mark.parametrize("password", ACCEPTED)
def test_ordinary_passphrases_are_accepted(app, password):
    assert accounts.password_problem(password, username="budi.santoso", full_name="Budi Santoso") is None


def test_the_bundled_list_is_there_with_its_source():
    common = accounts.common_passwords()
    assert len(common) == 30000 and {"password", "12345678", "rahasia", "bismillah"} <= common
    readme = (accounts.COMMON_PASSWORDS.parent / "README.md").read_text()
    assert "common-passwords.txt" in readme and "MIT" in readme and "zxcvbn" in readme


def test_the_office_name_of_the_settings_counts_as_context(app):
    from kiosk import settings as office_settings

    office_settings.save({"office_name": "Kantor Lembayung Senja"}, staff=None)
    assert accounts.password_problem("LembayungSenja2026", username="x", full_name="") is not None


def test_every_place_a_password_is_set_applies_the_rule(app, client, runner):
    # First-run setup.
    code = setup.new_code()
    page = client.post("/setup", data={"code": code, "username": "kepala", "full_name": "Kepala Dinas",
                                       "password": "Kepala-2026", "confirm": "Kepala-2026"})
    assert page.status_code == 400 and "nama pengguna, nama Anda" in page.get_data(as_text=True)
    assert not setup.admin_exists()
    assert client.post("/setup", data={"code": code, "username": "kepala", "full_name": "Kepala Dinas",
                                       "password": GOOD, "confirm": GOOD}).status_code == 302  # the code still works
    # The admin page (a new account, a reset), with the admin's own password given.
    new = client.post("/admin/petugas/baru", data={"username": "dewi", "full_name": "Dewi Lestari", "role": "petugas",
                                                   "password": "password1", "confirm": "password1",
                                                   "admin_password": GOOD})
    assert new.status_code == 422 and "minimal 10 karakter" in new.get_data(as_text=True)
    new = client.post("/admin/petugas/baru", data={"username": "dewi", "full_name": "Dewi Lestari", "role": "petugas",
                                                   "password": "Password123!", "confirm": "Password123!",
                                                   "admin_password": GOOD})
    assert new.status_code == 422 and "terlalu umum" in new.get_data(as_text=True)
    assert db.session.scalar(select(Staff).where(Staff.username == "dewi")) is None
    siti = make_staff(username="siti", full_name="Siti Aminah")
    old_hash = siti.password_hash
    reset = client.post(f"/admin/petugas/{siti.id}/sandi", data={"password": "aminah-2026", "confirm": "aminah-2026",
                                                                 "admin_password": GOOD})
    assert reset.status_code == 422 and "nama pengguna, nama Anda" in reset.get_data(as_text=True)
    db.session.expire_all()
    assert siti.password_hash == old_hash
    # The command line.
    result = runner.invoke(args=["create-staff", "eko", "--password-stdin"], input="disnaker2026\n")
    assert result.exit_code != 0 and "nama kantor" in result.output
    assert db.session.scalar(select(Staff).where(Staff.username == "eko")) is None
    result = runner.invoke(args=["create-staff", "eko", "--password-stdin"], input=GOOD + "\n")
    assert result.exit_code == 0, result.output


def test_the_refusal_speaks_english_when_switched(client, login_as):
    login_as("admin")
    client.post("/bahasa/en")
    page = client.post("/admin/petugas/baru", data={"username": "dewi", "full_name": "Dewi", "role": "petugas",
                                                    "password": "12345678", "confirm": "12345678",
                                                    "admin_password": ADMIN_PASSWORD})
    assert page.status_code == 422 and "at least 10 characters" in page.get_data(as_text=True)


def test_an_unknown_username_costs_the_same_hash_as_a_known_one(app, client, monkeypatch):
    """No timing asserts: the hash function is called once either way, with a hash of the
    configured method."""
    make_staff(role="admin", username="kepala")
    calls: list[str] = []
    real = accounts.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash.split("$")[0])
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    method = app.config["PASSWORD_HASH_METHOD"]
    for username, password, status in (("kepala", "salah-sekali", 401), ("tidak-ada", "salah-sekali", 401),
                                       ("kepala", ADMIN_PASSWORD, 302)):
        calls.clear()
        response = client.post("/masuk", data={"username": username, "password": password})
        assert response.status_code == status, username
        assert calls == [method], (username, calls)
        client.post("/keluar")
