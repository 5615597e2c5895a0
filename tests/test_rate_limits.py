"""Rate limits where they protect people: the setup code and the kiosk pairing code cannot be
guessed (sign-in and typed fallback codes are tested in tests/test_auth.py and
tests/test_terminal_views.py), and with ``KIOSK_RATELIMIT_STORAGE=redis://…`` two server
processes share one count — so running more workers does not multiply the guesses."""

from __future__ import annotations

import socket
import uuid

import pytest

from factories import make_card, make_staff, make_worker
from kiosk.auth import setup
from kiosk.terminal import pairing

REDIS = "redis://127.0.0.1:6379"


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_setup_code_guessing_is_throttled_and_the_code_survives(app, client):
    code = setup.new_code()
    for n in range(10):
        response = client.post("/setup", data={"code": f"AAAA-BBBB-{n:04d}", "username": "admin", "full_name": "Admin",
                                               "password": "rahasia-123", "confirm": "rahasia-123"})
        assert response.status_code == 400
    response = client.post("/setup", data={"code": code, "username": "admin", "full_name": "Admin",
                                           "password": "rahasia-123", "confirm": "rahasia-123"})
    assert response.status_code == 429
    assert "Terlalu banyak percobaan" in response.get_data(as_text=True)
    assert not setup.admin_exists()
    assert setup.code_exists()  # not consumed by the refused attempt


def test_pairing_code_guessing_is_throttled(app, client):
    device, code = pairing.add_device("Kios", "check", None, staff=None)
    for n in range(10):
        assert client.post("/kiosk/pasang", data={"code": f"{n:08d}"}).status_code == 422
    response = client.post("/kiosk/pasang", data={"code": code})
    assert response.status_code == 429
    assert client.get_cookie(pairing.COOKIE) is None


# ---- shared between processes -----------------------------------------------------------------


def _servers(app, tmp_path, storage: str, prefix: str):
    from test_crash_safety import Server

    env = {
        "KIOSK_RATELIMIT_STORAGE": storage,
        "KIOSK_RATELIMIT_KEY_PREFIX": prefix,
        "KIOSK_LOGIN_LIMIT_PER_USER": "4 per 5 minutes",
        "KIOSK_LOGIN_LIMIT_PER_ADDRESS": "1000 per 5 minutes",
        "KIOSK_KIOSK_CODE_LIMIT": "3 per 5 minutes",
    }
    return [Server(app.instance_path, None, tmp_path / f"server{n}.log", env=env, workers=1) for n in range(2)]


def _failed_sign_ins(servers, username: str, attempts: int) -> list[int]:
    from test_crash_safety import Browser

    browsers = [Browser(server.port) for server in servers]
    for browser in browsers:
        browser.request("GET", "/masuk")
    statuses = []
    for n in range(attempts):
        browser = browsers[n % 2]
        status, _, _ = browser.request("POST", "/masuk", {"username": username, "password": "salah", "csrf_token": browser.csrf})
        statuses.append(status)
    return statuses


@pytest.fixture
def seeded(app):
    from kiosk.extensions import db

    make_staff(role="admin", username="admin-limit")
    make_staff(role="petugas", username="siti")
    worker = make_worker(name="Siti Aminah", sex="P")
    make_card(worker)
    device, code = pairing.add_device("Kios bersama", "check", None, staff=None)
    db.session.remove()
    db.engine.dispose()
    return code


@pytest.mark.slow
def test_limits_are_shared_between_processes_with_redis(app, tmp_path, seeded):
    if not redis_answers():
        pytest.skip("no Redis answers at 127.0.0.1:6379 (KIOSK_RATELIMIT_STORAGE cannot be tested)")
    from test_crash_safety import Browser

    servers = _servers(app, tmp_path, REDIS, f"kiosk-test-{uuid.uuid4().hex}")
    try:
        for server in servers:
            server.start()
        # Sign-in: 4 failures spread over two processes, then both refuse.
        statuses = _failed_sign_ins(servers, "siti", 6)
        assert statuses[:4] == [401] * 4 and statuses[4:] == [429, 429], statuses

        # Typed fallback codes on one kiosk, its requests landing on either process.
        kiosk = [Browser(server.port) for server in servers]
        kiosk[0].request("GET", "/kiosk/pasang")
        status, _, body = kiosk[0].request("POST", "/kiosk/pasang", {"code": seeded, "csrf_token": kiosk[0].csrf})
        assert status == 303, body[-300:]
        kiosk[1].cookies = dict(kiosk[0].cookies)
        kiosk[1].request("GET", "/kiosk/")
        answers = []
        for n in range(5):
            browser = kiosk[n % 2]
            status, _, _ = browser.request("POST", "/kiosk/pindai", {"code": f"KDX{n}-7Q2M", "csrf_token": browser.csrf})
            answers.append(status)
        assert answers[:3] == [200] * 3 and answers[3:] == [429, 429], answers
    finally:
        for server in servers:
            server.stop()


@pytest.mark.slow
def test_without_a_shared_store_each_process_counts_alone(app, tmp_path, seeded):
    """The control: the same spread over two processes with in-memory counts is not stopped at
    the fifth attempt — which is why several processes need Redis."""
    servers = _servers(app, tmp_path, "memory://", "")
    try:
        for server in servers:
            server.start()
        statuses = _failed_sign_ins(servers, "siti", 6)
        assert statuses == [401] * 6, statuses
    finally:
        for server in servers:
            server.stop()
