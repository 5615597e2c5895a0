"""The kiosk in a busy hall, as requests: keyboard-wedge scanners (AIM symbology prefixes, Caps
Lock), typed codes refused in words about the code, the pairing screen ignoring a worker's card,
and the language going back to Bahasa Indonesia at welcome. (The browser side — dialogs,
countdowns, offline — is in tests/browser/test_kiosk_never_traps.py.)"""

from __future__ import annotations

import pytest

from factories import covered_worker, make_card
from kiosk import tokens
from kiosk.terminal import pairing

PANEL = {"HX-Request": "true", "HX-Target": "scan-result"}


def pair_client(client):
    device, code = pairing.add_device("Kios aula", "check", None, staff=None)
    assert client.post("/kiosk/pasang", data={"code": code}).status_code == 303
    return device


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("raw, expected", [
    ("]Q1KABC", "KABC"), ("]q1kabc", "KABC"), (" ]Q3 KABC\r\n", "KABC"), ("kabc", "KABC"),
    ("]X1KABC", "]X1KABC"), ("]Q9KABC", "]Q9KABC"), ("ıabc", "ıabc"), ("", ""),
])
def test_scanned_text(raw, expected):
    assert tokens.scanned_text(raw) == expected


def test_prefixed_and_lower_case_tokens_read_as_the_card(app):
    from kiosk import card_registry

    worker = covered_worker(name="Siti Aminah")
    card, token = make_card(worker)
    for raw in (f"]Q1{token}", f"]q1{token.lower()}", token.lower(), f"]Q0{token}\n"):
        lookup = card_registry.resolve(raw)
        assert lookup.ok and lookup.card.id == card.id, raw
    # Anything else around the token is still refused.
    for raw in (f"]C0{token}", f"X{token}", f"{token}X", f"]Q1]Q1{token}", token.lower().replace("k", "ķ", 1)):
        assert not card_registry.resolve(raw).ok, raw


def test_keyboard_wedge_tokens_at_the_kiosk_never_count_as_typed_codes(client, app):
    pair_client(client)
    worker = covered_worker(name="Budi Santoso")
    _card, token = make_card(worker)
    for _ in range(12):  # more than the typed-code budget (10 per 5 minutes)
        for raw in (f"]Q1{token}", token.lower()):
            response = client.post("/kiosk/pindai", data={"code": raw}, headers=PANEL)
            assert response.status_code == 200 and "Budi Santoso" in text_of(response)


@pytest.mark.parametrize("code, title, words", [
    ("1234 5678 901", "Kode salah", "periksa lagi angkanya"),  # wrong check digit
    ("123", "Kode salah", "periksa lagi angkanya"),
])
def test_a_refused_typed_code_speaks_of_the_code(client, app, code, title, words):
    pair_client(client)
    body = text_of(client.post("/kiosk/pindai", data={"code": code}, headers=PANEL))
    assert 'data-state="refused"' in body and title in body and words in body
    assert "tegak dan tidak bergerak" not in body


def test_an_unknown_typed_code_speaks_of_the_code_and_a_scan_of_the_card(client, app):
    pair_client(client)
    unknown = text_of(client.post("/kiosk/pindai", data={"code": tokens.new_fallback_code()}, headers=PANEL))
    assert "Kode tidak terdaftar" in unknown and "Periksa lagi angkanya" in unknown
    # A scanner that read garbage: that is about holding the card.
    scanned = text_of(client.post("/kiosk/pindai", data={"code": "KXYZ"}, headers=PANEL))
    assert "Kartu tidak terbaca" in scanned and "tegak dan tidak bergerak" in scanned


def test_the_pairing_screen_ignores_a_workers_card(client, app):
    worker = covered_worker()
    _card, token = make_card(worker)
    for _ in range(15):  # more than the pairing limit: none of these counts
        response = client.post("/kiosk/pasang", data={"code": token, "scanned": "1"},
                               headers={"HX-Request": "true", "HX-Target": "pairing-message"})
        assert response.status_code == 204 and response.get_data() == b""
    # A pairing code scanned there still pairs, and a wrong one typed still says so.
    wrong = client.post("/kiosk/pasang", data={"code": "1111 2222"}, headers={"HX-Request": "true", "HX-Target": "pairing-message"})
    assert wrong.status_code == 422 and "Kode pemasangan salah" in text_of(wrong)
    _device, code = pairing.add_device("Kios aula", "check", None, staff=None)
    paired = client.post("/kiosk/pasang", data={"code": f"http://kiosk.lan/kiosk/pasang?kode={code}", "scanned": "1"})
    assert paired.status_code == 303 and client.get_cookie(pairing.COOKIE) is not None


def test_back_to_welcome_is_back_in_bahasa_indonesia(client, app):
    pair_client(client)
    client.post("/bahasa/en", data={"next": "/kiosk/"})
    assert 'lang="en"' in text_of(client.get("/kiosk/"))
    # The return to welcome (Selesai, or the countdown) asks with awal=1: the whole screen reloads.
    back = client.get("/kiosk/?awal=1", headers=PANEL)
    assert back.status_code == 204 and back.headers["HX-Refresh"] == "true"
    assert client.get_cookie("lang").value == "id"
    assert 'lang="id"' in text_of(client.get("/kiosk/"))
    # Already in Indonesian: just the welcome panel.
    again = client.get("/kiosk/?awal=1", headers=PANEL)
    assert again.status_code == 200 and 'data-state="welcome"' in text_of(again)
    # Without JavaScript: a redirect to the page, in Indonesian.
    client.post("/bahasa/en", data={"next": "/kiosk/"})
    plain = client.get("/kiosk/?awal=1")
    assert plain.status_code == 303 and client.get_cookie("lang").value == "id"
