"""The kiosk screens through the test client: pairing and the device credential, the scan result
as a full page (plain POST) and as the #scan-result fragment (htmx), every refusal, coverage in
words, the photo URL bound to the device, collecting a package (idempotent), the per-device
limit on typed codes, the staff exit, and that a kiosk device is not a staff member."""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

import pytest

from factories import covered_worker, make_card, make_distribution, make_staff, make_worker
from kiosk import card_registry, tokens
from kiosk import distribution as dist
from kiosk.coverage import today_jakarta
from kiosk.database import utcnow
from kiosk.extensions import db
from kiosk.models import AuditEvent, Collection, Device, DistributionListEntry
from kiosk.nik import mask_nik
from kiosk.terminal import pairing, tickets

PANEL = {"HX-Request": "true", "HX-Target": "scan-result"}
EXIT_PIN = "97531"


@pytest.fixture
def app_config():
    return {"KIOSK_EXIT_PIN": EXIT_PIN, "KIOSK_RESULT_SECONDS": 9}


def pair_client(client, mode="check", distribution=None) -> Device:
    device, code = pairing.add_device("Kios uji", mode, distribution, staff=None)
    response = client.post("/kiosk/pasang", data={"code": code})
    assert response.status_code == 303, response.get_data(as_text=True)
    return device


@pytest.fixture
def kiosk(client):
    """The test client, paired as a "check" kiosk."""
    pair_client(client)
    return client


def carded_worker(name="Siti Aminah", **fields):
    """A covered woman with a valid card: (worker, card, token)."""
    worker = covered_worker(name=name, sex="P", **fields)
    card, token = make_card(worker)
    return worker, card, token


def text_of(response) -> str:
    return response.get_data(as_text=True)


# ---- pairing and the credential --------------------------------------------------------------

def test_unpaired_browser_sees_only_the_pairing_screen(client):
    page = text_of(client.get("/kiosk/"))
    assert "Pasangkan layar ini sebagai kiosk" in page
    assert "data-scan-form" in page and 'action="/kiosk/pasang"' in page
    assert "/kiosk/pindai" not in page
    response = client.post("/kiosk/pindai", data={"code": "X"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/kiosk/")
    response = client.post("/kiosk/pindai", data={"code": "X"}, headers=PANEL)
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/kiosk/"
    assert client.get("/kiosk/ping").status_code == 401


def test_pairing_sets_a_hashed_httponly_credential_and_works_once(client, app):
    device, code = pairing.add_device("Kios aula", "check", None, staff=None)
    assert code not in (device.pairing_code_hash or "")
    response = client.post("/kiosk/pasang", data={"code": f"{code[:4]} {code[4:]}"})
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{pairing.COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    credential = re.match(rf"{pairing.COOKIE}=([^;]+)", cookie).group(1)
    db.session.refresh(device)
    assert device.credential_hash and credential not in device.credential_hash
    assert device.pairing_code_hash is None and device.paired_at is not None
    assert client.get("/kiosk/ping").status_code == 204
    assert "Tempelkan kartu QR Anda ke kamera" in text_of(client.get("/kiosk/"))

    other = app.test_client()
    refused = other.post("/kiosk/pasang", data={"code": code})
    assert refused.status_code == 422
    assert "Kode pemasangan salah atau sudah kedaluwarsa" in text_of(refused)
    assert pairing.COOKIE not in refused.headers.get("Set-Cookie", "")


def test_pairing_by_qr_url_and_fragment_answers(client):
    device, code = pairing.add_device("Kios QR", "check", None, staff=None)
    page = text_of(client.get(f"/kiosk/pasang?kode={code}"))
    assert f'value="{code[:4]} {code[4:]}"' in page or f'value="{code}"' in page
    wrong = client.post("/kiosk/pasang", data={"code": "KAAAAAAAABCDEFGHIJKLMN2345"},
                        headers={"HX-Request": "true", "HX-Target": "pairing-message"})
    assert wrong.status_code == 422 and "<html" not in text_of(wrong)
    assert 'id="pairing-message"' in text_of(wrong) and "HX-Target" in wrong.headers["Vary"]
    ok = client.post("/kiosk/pasang", data={"code": f"https://192.168.1.10:5000/kiosk/pasang?kode={code}"},
                     headers={"HX-Request": "true", "HX-Target": "pairing-message"})
    assert ok.status_code == 204 and ok.headers["HX-Redirect"] == "/kiosk/"
    assert pairing.COOKIE in ok.headers["Set-Cookie"]


def test_an_expired_pairing_code_is_refused(client):
    device, code = pairing.add_device("Kios lama", "check", None, staff=None)
    device.pairing_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.post("/kiosk/pasang", data={"code": code}).status_code == 422


def test_revoking_a_device_ends_it_at_once(client):
    device = pair_client(client)
    pairing.revoke(device, staff=make_staff(role="admin"))
    assert client.get("/kiosk/ping").status_code == 401
    assert "Pasangkan layar ini sebagai kiosk" in text_of(client.get("/kiosk/"))
    _w, _c, token = carded_worker()
    assert client.post("/kiosk/pindai", data={"code": token}).status_code == 303
    actions = [e.action for e in db.session.scalars(db.select(AuditEvent).where(AuditEvent.entity_type == "device"))]
    assert actions == ["device.add", "device.pair", "device.revoke"]


def test_a_kiosk_device_is_not_a_staff_member(kiosk):
    for path in ("/", "/admin/", "/admin/perangkat"):
        response = kiosk.get(path)
        assert response.status_code in (302, 401), path
        assert "/masuk" in response.headers.get("Location", "/masuk")


# ---- scanning: full page and fragment ------------------------------------------------------------

def test_scan_result_as_full_page_and_as_fragment(kiosk):
    worker, _card, token = carded_worker()
    page = kiosk.post("/kiosk/pindai", data={"code": token})
    body = text_of(page)
    assert page.status_code == 200
    assert body.lstrip().startswith("<!doctype html>") and 'id="scan-result"' in body
    assert "Siti Aminah" in body and mask_nik(worker.nik) in body and worker.nik not in body
    assert "AKTIF" in body and "30 hari lagi" in body
    assert "kecelakaan kerja" in body and "ahli waris" in body
    assert worker.address not in body
    assert 'data-return-after="9"' in body and 'data-sound="success"' in body
    assert "HX-Target" in page.headers["Vary"] and "HX-Request" in page.headers["Vary"]

    fragment = kiosk.post("/kiosk/pindai", data={"code": token}, headers=PANEL)
    html = text_of(fragment)
    assert fragment.status_code == 200
    assert html.lstrip().startswith("<section id=\"scan-result\"") and "<html" not in html
    assert "Siti Aminah" in html and "data-state=\"result\"" in html
    assert "HX-Target" in fragment.headers["Vary"]
    # Boosted or other htmx requests get the whole page.
    other = kiosk.post("/kiosk/pindai", data={"code": token}, headers={"HX-Request": "true", "HX-Target": "main"})
    assert "<html" in text_of(other)


def test_welcome_as_page_and_fragment(kiosk):
    page = text_of(kiosk.get("/kiosk/"))
    assert "<html" in page and "data-state=\"welcome\"" in page and "data-return-after" not in page
    fragment = kiosk.get("/kiosk/", headers=PANEL)
    assert "<html" not in text_of(fragment) and "Tempelkan kartu QR Anda ke kamera" in text_of(fragment)
    assert "HX-Target" in fragment.headers["Vary"]


def test_scan_is_post_only(kiosk):
    assert kiosk.get("/kiosk/pindai?code=X").status_code == 405


@pytest.mark.parametrize(
    "start_offset, end_offset, word, detail",
    [
        (5, 95, "BELUM AKTIF", "Mulai terlindungi pada"),
        (-120, -30, "BERAKHIR", "Berakhir pada"),
        (-10, 0, "AKTIF", "hari ini hari terakhir"),
    ],
)
def test_coverage_in_words(kiosk, start_offset, end_offset, word, detail):
    today = today_jakarta()
    _w, _c, token = carded_worker(start=today + timedelta(days=start_offset), end=today + timedelta(days=end_offset))
    html = text_of(kiosk.post("/kiosk/pindai", data={"code": token}, headers=PANEL))
    assert f">{word}</strong>" in html and detail in html


def test_worker_without_coverage(kiosk):
    worker = make_worker(name="Tanpa Periode")
    _card, token = make_card(worker)
    html = text_of(kiosk.post("/kiosk/pindai", data={"code": token}, headers=PANEL))
    assert "TIDAK TERDAFTAR" in html and 'data-tone="bad"' in html and 'data-sound="refusal"' in html


def test_fallback_code_typed_with_spaces(kiosk):
    _w, card, _token = carded_worker("Ahmad Fauzi")
    code = card.fallback_code
    html = text_of(kiosk.post("/kiosk/pindai", data={"code": f"{code[:4]} {code[4:8]} {code[8:]}"}, headers=PANEL))
    assert "Ahmad Fauzi" in html


def refusal_codes(card) -> dict:
    ring = card_registry.keyring()
    good = card_registry.token_for(card)
    return {
        tokens.Refusal.MALFORMED: "not a card",
        tokens.Refusal.WRONG_VERSION: "Z" + good[1:],
        tokens.Refusal.UNKNOWN_KEY: good[0] + "Z" + good[2:],
        tokens.Refusal.BAD_SIGNATURE: good[:-1] + ("A" if good[-1] != "A" else "B"),
        tokens.Refusal.UNKNOWN_CARD: tokens.sign(987_654, ring),
    }


def test_every_refusal_is_explained_and_logged_without_the_token(kiosk, caplog, monkeypatch):
    # Alembic's fileConfig (run by the migrations) disables loggers that already exist.
    monkeypatch.setattr(logging.getLogger("kiosk.terminal"), "disabled", False)
    worker, card, token = carded_worker()
    cases = refusal_codes(card)
    caplog.set_level(logging.WARNING, logger="kiosk.terminal")
    for refusal, code in cases.items():
        response = kiosk.post("/kiosk/pindai", data={"code": code}, headers=PANEL)
        html = text_of(response)
        assert response.status_code == 200, refusal
        assert 'data-state="refused"' in html and 'data-sound="refusal"' in html, refusal
        assert "Hubungi petugas di" in html, refusal
        assert worker.name not in html
    card_registry.revoke(card, staff=None, reason="hilang")
    html = text_of(kiosk.post("/kiosk/pindai", data={"code": token}, headers=PANEL))
    assert "Kartu sudah tidak berlaku" in html and worker.name not in html

    logged = [r.getMessage() for r in caplog.records if r.name == "kiosk.terminal"]
    reasons = [re.search(r"reason=(\w+)", m).group(1) for m in logged]
    assert reasons == [r.value for r in cases] + ["revoked"]
    for message in logged:
        assert token not in message and card.fallback_code not in message
        for code in cases.values():
            assert code not in message


def test_retired_key_is_refused(kiosk):
    _w, _card, token = carded_worker()
    ring = card_registry.keyring()
    old = ring.current_id
    card_registry.rotate_key()
    card_registry.retire_key(old)
    html = text_of(kiosk.post("/kiosk/pindai", data={"code": token}, headers=PANEL))
    assert "Kartu sudah tidak berlaku" in html


def test_typed_codes_are_rate_limited_per_device(client, app):
    pair_client(client)
    _w, _card, token = carded_worker()
    for _ in range(10):
        assert client.post("/kiosk/pindai", data={"code": tokens.new_fallback_code()}).status_code == 200
    blocked = client.post("/kiosk/pindai", data={"code": tokens.new_fallback_code()}, headers=PANEL)
    assert blocked.status_code == 429
    assert "Terlalu banyak percobaan" in text_of(blocked) and "<html" not in text_of(blocked)
    # A QR token cannot be guessed: scanning cards goes on.
    assert "Siti Aminah" in text_of(client.post("/kiosk/pindai", data={"code": token}))
    # Another kiosk has its own budget.
    other = app.test_client()
    pair_client(other)
    assert other.post("/kiosk/pindai", data={"code": tokens.new_fallback_code()}).status_code == 200


def test_other_qr_codes_shown_to_the_camera_are_no_guesses(client, app):
    """A payment or WhatsApp QR, a shop's barcode, letters: refused as unreadable but not counted
    against the typed codes' limit (ten of them locked the keypad for everyone for 5 minutes).
    What reads as a fallback code's 11 digits, separators and O/I/L included, is counted."""
    pair_client(client)
    others = ["https://wa.me/6281234567890", "8991234567890", "ID.CO.QRIS.WWW0118936", "selamat pagi 👋"] * 4
    for text in others:
        answer = client.post("/kiosk/pindai", data={"code": text}, headers=PANEL)
        assert answer.status_code == 200 and 'data-state="refused"' in text_of(answer)
    assert client.post("/kiosk/pindai", data={"code": tokens.new_fallback_code()}).status_code == 200
    for _ in range(9):  # lookalike letters and separators still read as a code: counted
        client.post("/kiosk/pindai", data={"code": "1234-5678-9OI"})
    assert client.post("/kiosk/pindai", data={"code": tokens.new_fallback_code()}).status_code == 429


# ---- the photo ------------------------------------------------------------------------------------

def _jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (480, 600), (120, 160, 200)).save(out, "JPEG")
    return out.getvalue()


def test_photo_is_served_only_to_the_device_that_scanned(kiosk, app, monkeypatch):
    from kiosk.photos import store

    worker, _card, token = carded_worker()
    worker.photo = store(_jpeg())
    db.session.commit()
    html = text_of(kiosk.post("/kiosk/pindai", data={"code": token}, headers=PANEL))
    url = re.search(r'src="(/kiosk/foto/[^"]+)"', html).group(1)
    photo = kiosk.get(url)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert "no-store" in photo.headers["Cache-Control"]
    assert photo.data[:2] == b"\xff\xd8"

    other = app.test_client()
    pair_client(other)
    assert other.get(url).status_code == 404
    assert app.test_client().get(url).status_code == 303  # not a kiosk at all
    assert kiosk.get(url[:-3] + "abc").status_code == 404
    # Another worker's id cannot be put into a ticket without the app secret.
    device_id = pairing.device_for(kiosk.get_cookie(pairing.COOKIE).value).id
    forged = tickets.make("not-the-secret", "photo", worker.id, device_id)
    assert kiosk.get(f"/kiosk/foto/{forged}").status_code == 404
    assert kiosk.get(f"/kiosk/foto/{tickets.make(app.secret_key, 'photo', worker.id, device_id)}").status_code == 200
    # A claim ticket is no photo ticket.
    assert kiosk.get(f"/kiosk/foto/{tickets.make(app.secret_key, 'claim', worker.id, device_id)}").status_code == 404
    # Two minutes later the URL is dead.
    later = time.time() + 121
    monkeypatch.setattr(tickets.time, "time", lambda: later)
    assert kiosk.get(url).status_code == 404


# ---- collecting a package ----------------------------------------------------------------------

@pytest.fixture
def collect_kiosk(client):
    distribution = make_distribution(packages=2)
    device = pair_client(client, mode="collect", distribution=distribution)
    return client, distribution, device


def ticket_of(html: str) -> str:
    return re.search(r'name="ticket" value="([^"]+)"', html).group(1)


def test_collect_then_replay_then_already_collected(collect_kiosk):
    client, distribution, device = collect_kiosk
    worker, card, token = carded_worker("Rahmat Hidayat")
    html = text_of(client.post("/kiosk/pindai", data={"code": token}, headers=PANEL))
    assert 'data-sembako="available"' in html and "AMBIL" in html
    ticket = ticket_of(html)

    first = client.post("/kiosk/ambil", data={"ticket": ticket}, headers=PANEL)
    body = text_of(first)
    assert first.status_code == 200 and 'data-state="collected"' in body and "<html" not in body
    assert 'data-seq="1"' in body and "dari 2 paket" in body
    # The same ticket again (double tap, slow network): the first answer, not "already collected".
    again = text_of(client.post("/kiosk/ambil", data={"ticket": ticket}))
    assert "<html" in again and 'data-state="collected"' in again and 'data-seq="1"' in again
    assert db.session.query(Collection).filter_by(worker_id=worker.id).count() == 1
    collection = db.session.query(Collection).one()
    assert collection.device_id == device.id and collection.card_id == card.id and collection.station == "Kios uji"

    assert "Tunjukkan kartu ini di meja penyerahan" in body

    # Scanned again (at any kiosk) before the desk hands it over: the number and where to go.
    rescan = text_of(client.post("/kiosk/pindai", data={"code": token}, headers=PANEL))
    assert 'data-sembako="waiting"' in rescan and "SUDAH DIAMBIL" in rescan and 'data-seq="1"' in rescan
    assert "Belum diserahkan — tunjukkan kartu ini di meja penyerahan." in rescan and "ticket" not in rescan
    # Once handed over: received, with when and where it was claimed.
    dist.hand_over(collection.id, staff=make_staff(), request_id="desk-1")
    received = text_of(client.post("/kiosk/pindai", data={"code": token}, headers=PANEL))
    assert 'data-sembako="already"' in received and "SUDAH DITERIMA" in received
    assert "Sudah diambil pada" in received and "meja penyerahan" not in received


def test_sembako_refusals(collect_kiosk):
    client, distribution, _device = collect_kiosk
    today = today_jakarta()
    _w, _c, ended = carded_worker("Sudah Lewat", start=today - timedelta(days=100), end=today - timedelta(days=10))
    html = text_of(client.post("/kiosk/pindai", data={"code": ended}, headers=PANEL))
    assert 'data-sembako="refused"' in html and "TIDAK TERSEDIA" in html and "sudah berakhir" in html

    distribution.packages_given = distribution.packages_total
    db.session.commit()
    _w2, _c2, token = carded_worker("Terlambat")
    html = text_of(client.post("/kiosk/pindai", data={"code": token}, headers=PANEL))
    assert "Paket sembako sudah habis" in html

    distribution.status = "closed"
    db.session.commit()
    html = text_of(client.post("/kiosk/pindai", data={"code": token}, headers=PANEL))
    assert "sedang tidak dibuka" in html


def test_not_on_the_list(client):
    distribution = make_distribution(eligibility="list")
    pair_client(client, mode="collect", distribution=distribution)
    listed, _c, listed_token = carded_worker("Ada Di Daftar")
    db.session.add(DistributionListEntry(distribution_id=distribution.id, worker_id=listed.id))
    db.session.commit()
    _w, _c2, token = carded_worker("Tidak Di Daftar")
    assert "tidak ada dalam daftar penerima" in text_of(client.post("/kiosk/pindai", data={"code": token}, headers=PANEL))
    assert 'data-sembako="available"' in text_of(client.post("/kiosk/pindai", data={"code": listed_token}, headers=PANEL))


def test_a_ticket_works_only_on_its_own_collect_kiosk(collect_kiosk, app):
    client, distribution, _device = collect_kiosk
    _w, _c, token = carded_worker()
    ticket = ticket_of(text_of(client.post("/kiosk/pindai", data={"code": token}, headers=PANEL)))
    other = app.test_client()
    pair_client(other, mode="collect", distribution=distribution)
    html = text_of(other.post("/kiosk/ambil", data={"ticket": ticket}, headers=PANEL))
    assert 'data-state="welcome"' in html
    assert text_of(client.post("/kiosk/ambil", data={"ticket": "forged"}, headers=PANEL)).count('data-state="welcome"') == 1
    assert db.session.query(Collection).count() == 0


def test_a_check_kiosk_offers_no_sembako(kiosk):
    make_distribution()
    _w, _c, token = carded_worker()
    html = text_of(kiosk.post("/kiosk/pindai", data={"code": token}, headers=PANEL))
    assert "data-sembako" not in html and "/kiosk/ambil" not in html


# ---- staff exit, language, hardening ----------------------------------------------------------------

def test_staff_exit_needs_the_pin(client):
    device = pair_client(client)
    wrong = client.post("/kiosk/keluar", data={"pin": "0000"}, headers={"HX-Request": "true", "HX-Target": "exit-form"})
    assert wrong.status_code == 422 and "PIN salah" in text_of(wrong) and 'id="exit-form"' in text_of(wrong)
    assert client.get("/kiosk/ping").status_code == 204
    ok = client.post("/kiosk/keluar", data={"pin": EXIT_PIN}, headers={"HX-Request": "true", "HX-Target": "exit-form"})
    assert ok.status_code == 204 and ok.headers["HX-Redirect"] == "/kiosk/"
    assert f"{pairing.COOKIE}=;" in ok.headers["Set-Cookie"]
    db.session.refresh(device)
    assert device.credential_hash is None and device.revoked_at is None


def test_staff_exit_is_closed_without_a_configured_pin(client, app):
    app.config["EXIT_PIN"] = None
    pair_client(client)
    assert client.post("/kiosk/keluar", data={"pin": ""}).status_code == 422


def test_kiosk_pages_have_no_links_out_no_inline_script_or_style(kiosk):
    _w, _c, token = carded_worker()
    for html in (text_of(kiosk.get("/kiosk/")), text_of(kiosk.post("/kiosk/pindai", data={"code": token}))):
        assert "<a " not in html
        assert " style=" not in html
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag
        assert 'class="topbar"' not in html and "mainnav" not in html
        assert 'action="/kiosk/bahasa/en"' in html
        assert 'inputmode="none"' in html  # no on-screen keyboard popping up for the scanner input


def test_language_switch_returns_to_the_kiosk(kiosk):
    response = kiosk.post("/kiosk/bahasa/en", data={"next": "/kiosk/"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/kiosk/")
    html = text_of(kiosk.get("/kiosk/"))
    assert '<html lang="en"' in html and "Bahasa Indonesia" in html
    # Only back to a kiosk screen: tests/test_redirects.py tries the tricky values.


def test_the_pairing_screen_switches_language_too(client):
    response = client.post("/kiosk/bahasa/en", data={"next": "/kiosk/"})
    assert response.status_code == 303
    assert '<html lang="en"' in text_of(client.get("/kiosk/"))
    assert client.post("/kiosk/bahasa/id", data={"next": "/kiosk/"}, csrf=False).status_code == 400


def _form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_a_paired_kiosk_has_no_session_and_its_own_form_token(kiosk, app):
    """A paired kiosk's forms carry a token bound to its credential (``pairing.form_token``),
    checked without a session: pairing drops the pairing screen's session, and a scan neither
    reads nor sets a session cookie."""
    session_cookie = app.config.get("SESSION_COOKIE_NAME", "session")
    assert kiosk.get_cookie(session_cookie) is None
    response = kiosk.get("/kiosk/")
    assert "Set-Cookie" not in response.headers  # not even one deleting a session it never had
    page = text_of(response)
    credential = kiosk.get_cookie(pairing.COOKIE).value
    token = _form_token(page)
    assert token == pairing.form_token(credential)
    assert f'"X-CSRFToken": "{token}"' in page
    _w, _c, card_token = carded_worker()
    response = kiosk.post("/kiosk/pindai", data={"code": card_token}, headers={**PANEL, "X-CSRFToken": token}, csrf=False)
    assert response.status_code == 200 and 'data-state="result"' in text_of(response)
    assert "Set-Cookie" not in response.headers
    assert kiosk.get_cookie(session_cookie) is None
    # The token in the form field works as well as the header (a page without its script).
    response = kiosk.post("/kiosk/pindai", data={"code": card_token, "csrf_token": token}, csrf=False)
    assert response.status_code == 200


def test_a_kiosk_refuses_another_kiosks_token_and_another_sessions_token(kiosk, client, app):
    """CSRF on the kiosk: no token, a token of another kiosk, or the Flask-WTF token of another
    browser's session are each a 400 kiosk screen, and nothing is done."""
    other = app.test_client()
    pair_client(other)
    other_token = pairing.form_token(other.get_cookie(pairing.COOKIE).value)
    staff = app.test_client()
    staff_token = staff.csrf_token()  # a session of its own, in the staff browser
    _w, _c, card_token = carded_worker()
    for headers in ({}, {"X-CSRFToken": other_token}, {"X-CSRFToken": staff_token},
                    {"X-CSRFToken": ""}, {"X-CSRFToken": "é" * 64}):
        response = kiosk.post("/kiosk/pindai", data={"code": card_token}, headers={**PANEL, **headers}, csrf=False)
        assert response.status_code == 400, headers
        assert 'data-state="result"' not in text_of(response)


def test_a_kiosk_page_from_before_the_device_token_keeps_working_until_reloaded(kiosk, app):
    """A kiosk screen loaded by the previous version carries its session's Flask-WTF token:
    after the upgrade its next scan still works (nobody in the queue meets a reload), and the
    next full load of the kiosk page drops that session."""
    session_cookie = app.config["SESSION_COOKIE_NAME"]
    old_token = kiosk.csrf_token()  # the session token an older kiosk page held
    assert kiosk.get_cookie(session_cookie) is not None
    _w, _c, card_token = carded_worker()
    response = kiosk.post("/kiosk/pindai", data={"code": card_token}, headers={**PANEL, "X-CSRFToken": old_token},
                          csrf=False)
    assert response.status_code == 200 and 'data-state="result"' in text_of(response)
    kiosk.get("/kiosk/")
    assert kiosk.get_cookie(session_cookie) is None
    response = kiosk.post("/kiosk/pindai", data={"code": card_token}, headers={**PANEL, "X-CSRFToken": old_token},
                          csrf=False)
    assert response.status_code == 400


def test_csrf_failure_stays_on_a_kiosk_screen(kiosk):
    response = kiosk.post("/kiosk/pindai", data={"code": "x"}, csrf=False)
    assert response.status_code == 400
    html = text_of(response)
    assert "k-top" in html and "topbar" not in html


def test_every_error_the_app_handles_by_its_code_has_a_kiosk_screen(app):
    """Flask finds a handler by status code first, the app's before the kiosk blueprint's: an
    error the app handles by its code (e.g. CSRF, 400) would show a kiosk the staff error page,
    with its way out, unless the kiosk names it too."""
    app_handlers = app.error_handler_spec[None]
    kiosk_handlers = app.error_handler_spec["terminal"]
    for code, handlers in app_handlers.items():
        if code is None:
            continue
        for kind in handlers:
            assert kind in kiosk_handlers.get(code, {}), (code, kind.__name__)


def test_certificate_download(client, app):
    assert client.get("/kiosk/sertifikat").status_code == 404
    from kiosk import tls

    paths = tls.files(app.config["SECRETS_DIR"])
    paths.folder.mkdir(parents=True)
    paths.ca_cert.write_text("-----BEGIN CERTIFICATE-----\n")
    response = client.get("/kiosk/sertifikat")
    assert response.status_code == 200 and response.mimetype == "application/x-x509-ca-cert"


def test_kiosk_texts_hold_no_markup(app):
    """The kiosk's ``_`` (kiosk.i18n.kiosk_text) returns its texts as plain strings, which Jinja
    escapes: no text of the kiosk's templates, in either language, may hold markup (``<``, ``>``,
    ``&``); quotes become ``&#39;``/``&#34;``, which a browser reads as the same text."""
    from pathlib import Path

    from flask_babel import force_locale, gettext
    from markupsafe import escape

    texts = set()
    for template in (Path(app.root_path).parent / "templates" / "terminal").glob("*.html"):
        source = template.read_text(encoding="utf-8")
        texts |= set(re.findall(r'\b_\("([^"]*)"', source)) | set(re.findall(r"\b_\('([^']*)'", source))
    assert len(texts) > 30
    with app.test_request_context():
        for lang in ("id", "en"):
            with force_locale(lang):
                for text in texts:
                    translated = gettext(text) if "%(" not in text else text
                    plain = translated.replace("'", "&#39;").replace('"', "&#34;")
                    assert str(escape(translated)) == plain, (lang, text, translated)


def test_the_form_token_is_an_hmac_of_the_credential_made_once_per_scan(collect_kiosk, app, monkeypatch):
    """``pairing.form_token`` is the HMAC of the credential under the app secret (another for
    another credential or secret), and a scan makes it once: checked, then carried by the answer
    (AMBIL's form)."""
    kiosk, _distribution, _device = collect_kiosk
    import hashlib
    import hmac

    def fresh(secret, credential):
        return hmac.new(secret.encode(), b"kiosk-form:" + credential.encode(), hashlib.sha256).hexdigest()

    secret = str(app.config["SECRET_KEY"])
    with app.app_context():
        for credential in ("kredensial-satu", "kredensial-dua"):
            assert pairing.form_token(credential) == fresh(secret, credential)
        app.config["SECRET_KEY"] = secret + "-baru"
        try:
            assert pairing.form_token("kredensial-satu") == fresh(secret + "-baru", "kredensial-satu")
        finally:
            app.config["SECRET_KEY"] = secret
    made = []
    real = pairing.form_token
    monkeypatch.setattr(pairing, "form_token", lambda credential: made.append(credential) or real(credential))
    credential = kiosk.get_cookie(pairing.COOKIE).value
    token = fresh(secret, credential)
    _w, _c, card_token = carded_worker()
    response = kiosk.post("/kiosk/pindai", data={"code": card_token}, headers={**PANEL, "X-CSRFToken": token}, csrf=False)
    assert response.status_code == 200 and f'value="{token}"' in text_of(response)
    assert made == [credential]


def test_two_kiosks_in_one_app_context_each_get_their_own_form_token(collect_kiosk, app):
    """The token made for a request is kept on ``g``, which a pushed app context shares between
    requests: a second kiosk's request there must still get (and pass with) its own."""
    kiosk, distribution, _device = collect_kiosk
    other = app.test_client()
    pair_client(other, mode="collect", distribution=distribution)
    _w, _c, card_token = carded_worker()
    with app.app_context():
        for browser in (kiosk, other, kiosk):
            token = pairing.form_token(browser.get_cookie(pairing.COOKIE).value)
            response = browser.post("/kiosk/pindai", data={"code": card_token}, headers={**PANEL, "X-CSRFToken": token},
                                    csrf=False)
            assert response.status_code == 200 and f'value="{token}"' in text_of(response)
