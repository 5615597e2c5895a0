"""Admin pages for kiosk devices (add, one-time pairing code and QR, new code, revoke), the
device-credential domain functions, and the LAN certificate (``flask make-cert``)."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cardimages import decode_one
from factories import make_distribution
from kiosk import tls
from kiosk.extensions import db
from kiosk.models import AuditEvent, Device
from kiosk.terminal import pairing


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("path, method", [
    ("/admin/perangkat", "get"),
    ("/admin/perangkat/baru", "get"),
    ("/admin/perangkat/baru", "post"),
    ("/admin/perangkat/1/kode", "post"),
    ("/admin/perangkat/1/cabut", "post"),
    ("/admin/perangkat/1/ubah", "get"),
    ("/admin/perangkat/1/ubah", "post"),
])
@pytest.mark.parametrize("role", [None, "petugas"])
def test_only_admins_manage_devices(client, login_as, path, method, role):
    pairing.add_device("Kios", "check", None, staff=None)
    if role:
        login_as(role)
    response = getattr(client, method)(path)
    if role is None:
        assert response.status_code == 302 and "/masuk" in response.headers["Location"]
    else:
        assert response.status_code == 403
    assert db.session.get(Device, 1).revoked_at is None


def pairing_qr_url(html: str) -> str:
    data = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    return decode_one(Image.open(io.BytesIO(base64.b64decode(data))))


def test_add_a_check_device_shows_the_code_and_qr_once(client, login_as, app):
    admin = login_as("admin")
    response = client.post("/admin/perangkat/baru", data={"name": "  Kios aula 1 ", "mode": "check", "distribution": "0"})
    html = text_of(response)
    assert response.status_code == 200
    code = re.search(r"data-pairing-code>(\d{4} \d{4})<", html).group(1).replace(" ", "")
    url = pairing_qr_url(html)
    assert urlsplit(url).path == "/kiosk/pasang" and parse_qs(urlsplit(url).query)["kode"] == [code]
    device = db.session.scalar(db.select(Device))
    assert device.name == "Kios aula 1" and device.mode == "check" and device.distribution_id is None
    assert device.created_by_id == admin.id
    assert code not in device.pairing_code_hash
    # Shown once: the list does not show it again.
    assert code not in text_of(client.get("/admin/perangkat"))
    assert "Menunggu pemasangan" in text_of(client.get("/admin/perangkat"))
    # The kiosk pairs with it.
    kiosk = app.test_client()
    assert kiosk.post("/kiosk/pasang", data={"code": url}).status_code == 303
    assert "Terpasang" in text_of(client.get("/admin/perangkat"))


def test_a_collect_device_needs_a_distribution(client, login_as):
    login_as("admin")
    refused = client.post("/admin/perangkat/baru", data={"name": "Kios sembako", "mode": "collect", "distribution": "0"})
    assert refused.status_code == 422 and "Pilih penyaluran" in text_of(refused)
    assert db.session.scalar(db.select(db.func.count(Device.id))) == 0
    distribution = make_distribution(name="Sembako Tahap II")
    assert "Sembako Tahap II" in text_of(client.get("/admin/perangkat/baru"))
    made = client.post("/admin/perangkat/baru", data={"name": "Kios sembako", "mode": "collect", "distribution": str(distribution.id)})
    assert made.status_code == 200
    device = db.session.scalar(db.select(Device))
    assert device.mode == "collect" and device.distribution_id == distribution.id
    assert client.post("/admin/perangkat/baru", data={"name": "", "mode": "check"}).status_code == 422


def test_new_code_replaces_the_old_one_and_the_old_browser(client, login_as, app):
    login_as("admin")
    device, first = pairing.add_device("Kios", "check", None, staff=None)
    old_kiosk = app.test_client()
    assert old_kiosk.post("/kiosk/pasang", data={"code": first}).status_code == 303
    html = text_of(client.post(f"/admin/perangkat/{device.id}/kode"))
    second = re.search(r"data-pairing-code>(\d{4} \d{4})<", html).group(1).replace(" ", "")
    assert app.test_client().post("/kiosk/pasang", data={"code": first}).status_code == 422
    new_kiosk = app.test_client()
    assert new_kiosk.post("/kiosk/pasang", data={"code": second}).status_code == 303
    assert old_kiosk.get("/kiosk/ping").status_code == 401
    assert new_kiosk.get("/kiosk/ping").status_code == 204


def test_revoke_ends_the_kiosk_and_is_audited(client, login_as, app):
    admin = login_as("admin")
    device, code = pairing.add_device("Kios", "check", None, staff=None)
    kiosk = app.test_client()
    kiosk.post("/kiosk/pasang", data={"code": code})
    response = client.post(f"/admin/perangkat/{device.id}/cabut", data={"admin_password": "rahasia-123"})
    assert response.status_code == 302
    assert kiosk.get("/kiosk/ping").status_code == 401
    db.session.refresh(device)
    assert device.revoked_at is not None and device.credential_hash is None
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "device.revoke"))
    assert event.staff_id == admin.id and event.entity_id == device.id
    listing = text_of(client.get("/admin/perangkat"))
    assert "Dicabut" in listing and f"/admin/perangkat/{device.id}/cabut" not in listing
    # A revoked device gets no new code.
    client.post(f"/admin/perangkat/{device.id}/kode")
    db.session.refresh(device)
    assert device.pairing_code_hash is None


def test_rename_and_change_the_task_without_pairing_again(client, login_as, app):
    admin = login_as("admin")
    tahap1 = make_distribution(name="Tahap I")
    tahap2 = make_distribution(name="Tahap II")
    device, code = pairing.add_device("Kios aula", "check", None, staff=None)
    kiosk = app.test_client()
    kiosk.post("/kiosk/pasang", data={"code": code})
    credential = db.session.get(Device, device.id).credential_hash
    before = kiosk.get("/kiosk/ping").headers["X-Kiosk-Device"]
    assert f'data-device-version="{before}"' in text_of(kiosk.get("/kiosk/"))

    form = text_of(client.get(f"/admin/perangkat/{device.id}/ubah"))
    assert 'value="Kios aula"' in form and "Printer struk 58 mm" in form
    changed = client.post(f"/admin/perangkat/{device.id}/ubah", data={
        "name": "Kios sembako 2", "mode": "collect", "distribution": str(tahap2.id), "slip_paper": "58"})
    assert changed.status_code == 302
    row = db.session.get(Device, device.id, populate_existing=True)
    assert (row.name, row.mode, row.distribution_id, row.slip_paper) == ("Kios sembako 2", "collect", tahap2.id, "58")
    assert row.credential_hash == credential and row.revoked_at is None  # still paired
    # The kiosk learns it on its next ping (its screen reloads) and serves the new distribution.
    after = kiosk.get("/kiosk/ping")
    assert after.status_code == 204 and after.headers["X-Kiosk-Device"] != before
    page = text_of(kiosk.get("/kiosk/"))
    assert "k-mode-collect" in page and f'data-device-version="{after.headers["X-Kiosk-Device"]}"' in page
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "device.update"))
    assert event.staff_id == admin.id
    assert event.before == {"name": "Kios aula", "mode": "check", "distribution_id": None, "slip_paper": None}
    assert event.after == {"name": "Kios sembako 2", "mode": "collect", "distribution_id": tahap2.id, "slip_paper": "58"}
    listing = text_of(client.get("/admin/perangkat"))
    assert "Kios sembako 2" in listing and "Mencetak slip 58 mm" in listing and "Tahap II" in listing

    # Back to a check kiosk: no distribution, no slip. A collect kiosk needs a distribution.
    refused = client.post(f"/admin/perangkat/{device.id}/ubah", data={"name": "X", "mode": "collect", "distribution": "0"})
    assert refused.status_code == 422 and "Pilih penyaluran" in text_of(refused)
    client.post(f"/admin/perangkat/{device.id}/ubah", data={"name": "Kios cek", "mode": "check",
                                                             "distribution": str(tahap1.id), "slip_paper": "80"})
    row = db.session.get(Device, device.id, populate_existing=True)
    assert (row.mode, row.distribution_id, row.slip_paper) == ("check", None, None)
    # A revoked device is not edited.
    pairing.revoke(row, staff=None)
    assert client.get(f"/admin/perangkat/{device.id}/ubah").status_code == 302
    with pytest.raises(ValueError):
        pairing.update_device(row, "Y", "check", None, staff=None)
    with pytest.raises(ValueError):
        pairing.update_device(device, "Y", "check", None, staff=None, slip_paper="57")


def test_revoke_needs_the_csrf_token(client, login_as):
    login_as("admin")
    device, _code = pairing.add_device("Kios", "check", None, staff=None)
    client.post(f"/admin/perangkat/{device.id}/cabut", data={"admin_password": "rahasia-123"}, csrf=False)
    db.session.refresh(device)
    assert device.revoked_at is None


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_pairing_code_from_never_raises_and_is_eight_digits(raw):
    code = pairing.pairing_code_from(raw)
    assert code is None or (len(code) == 8 and code.isdigit())


@pytest.mark.parametrize("raw, expected", [
    ("1234 5678", "12345678"),
    ("1234-5678", "12345678"),
    ("https://10.0.0.5:5000/kiosk/pasang?kode=87654321", "87654321"),
    ("http://x/kiosk/pasang?other=1", None),
    ("1234567", None),
    ("123456789", None),
    ("KAAAAAAAABCDEFGHIJKLMN2345", None),
])
def test_pairing_code_from(raw, expected):
    assert pairing.pairing_code_from(raw) == expected


def test_device_for_ignores_unknown_and_revoked(app):
    device, code = pairing.add_device("Kios", "check", None, staff=None)
    _device, credential = pairing.pair(code)
    assert pairing.device_for(credential).id == device.id
    assert pairing.device_for(credential + "x") is None
    assert pairing.device_for("") is None and pairing.device_for(None) is None
    pairing.revoke(device, staff=None)
    assert pairing.device_for(credential) is None


# ---- the LAN certificate ---------------------------------------------------------------------

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")


@needs_openssl
def test_make_cert_cli_covers_names_and_addresses(runner, app):
    result = runner.invoke(args=["make-cert", "--name", "kiosk.lan", "--ip", "192.168.1.10"])
    assert result.exit_code == 0, result.output
    paths = tls.files(app.config["SECRETS_DIR"])
    text = subprocess.run(["openssl", "x509", "-in", str(paths.cert), "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    assert "DNS:kiosk.lan" in text and "IP Address:192.168.1.10" in text
    assert "TLS Web Server Authentication" in text
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(paths.ca_cert), str(paths.cert)],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    assert paths.key.stat().st_mode & 0o077 == 0 and paths.ca_key.stat().st_mode & 0o077 == 0
    ca_before = paths.ca_cert.read_bytes()
    # A new address: a new server certificate from the same CA (tablets keep trusting it).
    assert runner.invoke(args=["make-cert", "--ip", "10.0.0.7"]).exit_code == 0
    assert paths.ca_cert.read_bytes() == ca_before
    text = subprocess.run(["openssl", "x509", "-in", str(paths.cert), "-noout", "-ext", "subjectAltName"],
                          capture_output=True, text=True, check=True).stdout
    assert "10.0.0.7" in text and "192.168.1.10" not in text


def test_make_cert_refuses_a_bad_address(runner):
    result = runner.invoke(args=["make-cert", "--ip", "not-an-ip"])
    assert result.exit_code != 0


def test_local_addresses_are_usable():
    found = tls.local_addresses()
    assert "127.0.0.1" in found
    assert not [a for a in found if a.startswith("fe80")]
    assert "localhost" in tls.local_names()
