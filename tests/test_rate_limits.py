"""Limits on guessing, counted in the database (``kiosk.throttle``) so the documented numbers
hold exactly whatever the number of server processes or servers (SECURITY.md, "Rate limits"):

- the counter itself on both engines: exactly the limit, all-or-none over several keys, a right
  guess gives its attempt back, a window ends, dead rows go, concurrent attempts from many
  threads never slip past the limit;
- sign-in per username from one address plus a ceiling per address: 19 wrong passwords for
  ``admin`` from 19 addresses do not lock the owner out from a fresh address (issue 12);
- the setup code, the pairing code, the exit PIN; the waiting time in words, in both languages;
- a real ``gunicorn -w 4`` answered by every worker: the limit is hit at exactly the documented
  number, sequentially and in concurrent bursts, for sign-in and for typed kiosk codes.

Typed fallback codes per kiosk are also tested in tests/test_terminal_views.py; two servers
sharing one count in tests/test_two_servers.py.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from factories import make_card, make_staff, make_worker
from kiosk import throttle, tokens
from kiosk.auth import setup
from kiosk.config import Defaults
from kiosk.extensions import db
from kiosk.terminal import pairing

PER_USER = throttle.Limit.parse(Defaults.LOGIN_LIMIT_PER_USER)
PER_ADDRESS = throttle.Limit.parse(Defaults.LOGIN_LIMIT_PER_ADDRESS)
CODES = throttle.Limit.parse(Defaults.CODE_LIMIT)


def rows() -> dict[str, int]:
    db.session.remove()
    return dict(db.session.execute(text("SELECT bucket, attempts FROM throttle")).all())


def age(seconds: int) -> None:
    """Move every window ``seconds`` into the past (as if that much time went by)."""
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE throttle SET expires_at = expires_at - :s"), {"s": seconds})


# ---- the counter ------------------------------------------------------------------------------

def test_limits_read_as_written():
    assert throttle.Limit.parse("10 per 5 minutes") == throttle.Limit(10, 300)
    assert throttle.Limit.parse("30/hour") == throttle.Limit(30, 3600)
    assert throttle.Limit.parse("5 per 1 second") == throttle.Limit(5, 1)
    for wrong in ("", "ten per minute", "0 per minute", "10 per 0 minutes", "10 per fortnight"):
        with pytest.raises(ValueError):
            throttle.Limit.parse(wrong)


def test_a_wrong_limit_setting_stops_the_start(tmp_path):
    from conftest import _make_app

    with pytest.raises(ValueError, match="KIOSK_CODE_LIMIT"):
        _make_app(tmp_path / "instance", {"CODE_LIMIT": "sepuluh"})


def test_exactly_the_limit_then_the_wait(engine_app):
    bucket = throttle.key("test", "siti", "10.0.0.1")
    for _ in range(3):
        throttle.attempt((bucket, "3 per 5 minutes"))
    with pytest.raises(throttle.TooMany) as refused:
        throttle.attempt((bucket, "3 per 5 minutes"))
    assert 1 <= refused.value.seconds <= 300
    assert refused.value.code == 429
    assert rows() == {bucket: 3}  # a refused attempt is not counted
    # No typed name or address is stored, only a kind and a hash.
    assert bucket.startswith("test:") and "siti" not in bucket and "10.0.0.1" not in bucket


def test_a_right_guess_gives_its_attempt_back(engine_app):
    bucket = throttle.key("test", "budi")
    for _ in range(5):
        throttle.attempt((bucket, "2 per 5 minutes")).succeeded()
    throttle.attempt((bucket, "2 per 5 minutes"))
    throttle.attempt((bucket, "2 per 5 minutes"))
    with pytest.raises(throttle.TooMany):
        throttle.attempt((bucket, "2 per 5 minutes"))


def test_several_keys_count_all_or_none(engine_app):
    narrow, wide = throttle.key("test", "narrow"), throttle.key("test", "wide")
    throttle.attempt((narrow, "1 per 5 minutes"), (wide, "5 per 5 minutes"))
    with pytest.raises(throttle.TooMany):
        throttle.attempt((narrow, "1 per 5 minutes"), (wide, "5 per 5 minutes"))
    assert rows() == {narrow: 1, wide: 1}  # the wide one was not counted for the refused attempt


def test_a_window_ends_and_dead_rows_go(engine_app):
    old, other = throttle.key("test", "old"), throttle.key("test", "other")
    throttle.attempt((old, "1 per 5 minutes"))
    throttle.attempt((other, "1 per 5 minutes"))
    with pytest.raises(throttle.TooMany):
        throttle.attempt((old, "1 per 5 minutes"))
    age(300)
    throttle.attempt((old, "1 per 5 minutes"))  # a new window: counted from 1 again...
    assert rows() == {old: 1}  # ...and the other's dead row was cleaned up with it
    with pytest.raises(throttle.TooMany):
        throttle.attempt((old, "1 per 5 minutes"))


def test_concurrent_attempts_never_pass_the_limit(engine_app):
    """Twelve threads, each with its own connection, race for a limit of 7 three times over."""
    bucket = throttle.key("test", "race")
    app = engine_app
    allowed, refused, errors = [], [], []
    start = threading.Barrier(12)

    def guess():
        with app.app_context():
            try:
                start.wait(10)
                for _ in range(3):
                    try:
                        throttle.attempt((bucket, "7 per 5 minutes"))
                        allowed.append(1)
                    except throttle.TooMany:
                        refused.append(1)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(allowed) == 7 and len(refused) == 36 - 7
    assert rows() == {bucket: 7}


def test_not_inside_a_write_transaction(app):
    from kiosk.database import write_transaction

    with pytest.raises(RuntimeError), write_transaction():
        throttle.attempt((throttle.key("test", "x"), "1 per minute"))


def test_the_wait_in_words(app):
    from flask_babel import force_locale

    assert str(throttle.wait_text(1)) == "1 detik"
    assert str(throttle.wait_text(45)) == "45 detik"
    assert str(throttle.wait_text(60)) == "1 menit"
    assert str(throttle.wait_text(61)) == "2 menit"
    assert str(throttle.wait_text(300)) == "5 menit"
    with force_locale("en"):
        assert str(throttle.TooMany(240).message) == "Too many wrong attempts. Try again in 4 minutes."
        assert str(throttle.wait_text(1)) == "1 second"


# ---- sign-in ------------------------------------------------------------------------------------

def sign_in(client, username: str, password: str, address: str):
    return client.post("/masuk", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_strangers_cannot_lock_the_owner_out(engine, request, tmp_path):
    """Issue 12: 19 wrong passwords for admin from 19 addresses, then the owner signs in from a
    fresh address; a stranger who keeps guessing from one address stops at the limit there."""
    from conftest import _build_app, _truncate_postgres

    app = _build_app(engine, tmp_path, request)
    with app.app_context():
        try:
            make_staff(role="admin", username="admin", password="benar-sekali")
            client = app.test_client()
            for n in range(19):
                assert sign_in(client, "admin", f"tebakan-{n}", f"10.0.0.{n + 1}").status_code == 401
            assert sign_in(client, "admin", "benar-sekali", "10.0.1.1").status_code == 302
            client.post("/keluar")

            stranger = "10.0.0.99"
            for n in range(PER_USER.attempts):
                assert sign_in(client, "admin", f"lagi-{n}", stranger).status_code == 401
            refused = sign_in(client, "admin", "benar-sekali", stranger)  # even the right one
            assert refused.status_code == 429
            assert "Terlalu banyak percobaan yang salah. Coba lagi dalam 5 menit." in refused.get_data(as_text=True)
            assert 1 <= int(refused.headers["Retry-After"]) <= PER_USER.seconds
            # The owner, from their own desk, is not held up by the stranger's guesses.
            assert sign_in(client, "admin", "benar-sekali", "10.0.1.1").status_code == 302
        finally:
            db.session.remove()
            if engine == "postgresql":
                _truncate_postgres(app)
            else:
                db.engine.dispose()


def test_one_address_has_a_ceiling_over_every_username(app, client):
    make_staff(role="admin", username="siti", password="benar-sekali")
    for n in range(PER_ADDRESS.attempts):
        assert sign_in(client, f"orang{n}", "x", "10.0.0.7").status_code == 401
    assert sign_in(client, "siti", "benar-sekali", "10.0.0.7").status_code == 429
    assert sign_in(client, "siti", "benar-sekali", "10.0.0.8").status_code == 302


def test_right_passwords_do_not_count(app, client):
    make_staff(role="admin", username="siti", password="benar-sekali")
    for _ in range(PER_USER.attempts - 1):
        assert sign_in(client, "siti", "salah", "10.0.0.2").status_code == 401
    for _ in range(3):
        assert sign_in(client, "siti", "benar-sekali", "10.0.0.2").status_code == 302
        client.post("/keluar")
    assert sign_in(client, "siti", "salah", "10.0.0.2").status_code == 401  # the 10th failure
    assert sign_in(client, "siti", "salah", "10.0.0.2").status_code == 429


def test_the_refusal_speaks_english_when_switched(app, client):
    make_staff(role="admin", username="siti", password="benar-sekali")
    client.set_cookie("lang", "en")
    for _ in range(PER_USER.attempts):
        sign_in(client, "siti", "salah", "10.0.0.3")
    page = sign_in(client, "siti", "salah", "10.0.0.3").get_data(as_text=True)
    assert "Too many wrong attempts. Try again in 5 minutes." in page


# ---- one-time codes and the exit PIN ------------------------------------------------------------

def test_setup_code_guessing_is_throttled_and_the_code_survives(app, client):
    code = setup.new_code()
    for n in range(10):
        response = client.post("/setup", data={"code": f"AAAA-BBBB-{n:04d}", "username": "admin", "full_name": "Admin",
                                               "password": "kuat-sekali-1", "confirm": "kuat-sekali-1"})
        assert response.status_code == 400
    response = client.post("/setup", data={"code": code, "username": "admin", "full_name": "Admin",
                                           "password": "kuat-sekali-1", "confirm": "kuat-sekali-1"})
    assert response.status_code == 429
    assert "Terlalu banyak percobaan yang salah. Coba lagi dalam 10 menit." in response.get_data(as_text=True)
    assert not setup.admin_exists()
    assert setup.code_exists()  # not consumed by the refused attempt
    age(600)
    response = client.post("/setup", data={"code": code, "username": "admin", "full_name": "Admin",
                                           "password": "kuat-sekali-1", "confirm": "kuat-sekali-1"})
    assert response.status_code == 302 and setup.admin_exists()


def test_pairing_code_guessing_is_throttled(app, client):
    device, code = pairing.add_device("Kios", "check", None, staff=None)
    for n in range(10):
        assert client.post("/kiosk/pasang", data={"code": f"{n:08d}"}).status_code == 422
    response = client.post("/kiosk/pasang", data={"code": code})
    assert response.status_code == 429
    assert "Coba lagi dalam 5 menit" in response.get_data(as_text=True)
    assert client.get_cookie(pairing.COOKIE) is None


def test_exit_pin_guessing_is_throttled_per_device(app, client):
    from kiosk import settings

    settings.save({"exit_pin": "4321"}, staff=None)
    device, code = pairing.add_device("Kios", "check", None, staff=None)
    assert client.post("/kiosk/pasang", data={"code": code}).status_code == 303
    for n in range(5):
        assert client.post("/kiosk/keluar", data={"pin": f"000{n}"}).status_code == 422
    refused = client.post("/kiosk/keluar", data={"pin": "4321"})
    assert refused.status_code == 429 and "Coba lagi dalam 5 menit" in refused.get_data(as_text=True)
    assert client.get_cookie(pairing.COOKIE) is not None  # still paired


def test_typed_codes_wait_in_words_on_the_kiosk(app, client):
    device, code = pairing.add_device("Kios", "check", None, staff=None)
    assert client.post("/kiosk/pasang", data={"code": code}).status_code == 303
    worker = make_worker(name="Siti Aminah", sex="P")
    card, token = make_card(worker)
    for _ in range(CODES.attempts - 1):
        assert client.post("/kiosk/pindai", data={"code": tokens.new_fallback_code()}).status_code == 200
    # A right typed code is not counted; a scanned token never is.
    assert "Siti Aminah" in client.post("/kiosk/pindai", data={"code": card.fallback_code}).get_data(as_text=True)
    assert "Siti Aminah" in client.post("/kiosk/pindai", data={"code": token}).get_data(as_text=True)
    assert client.post("/kiosk/pindai", data={"code": tokens.new_fallback_code()}).status_code == 200
    blocked = client.post("/kiosk/pindai", data={"code": tokens.new_fallback_code()},
                          headers={"HX-Request": "true", "HX-Target": "scan-result"})
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert "Terlalu banyak kode salah di kios ini. Coba lagi dalam 5 menit" in blocked.get_data(as_text=True)
    assert "Siti Aminah" in client.post("/kiosk/pindai", data={"code": token}).get_data(as_text=True)


# ---- a real gunicorn with four workers ----------------------------------------------------------

def _burst(browsers, send) -> list[int]:
    """``send(browser)`` from every browser at once (threads released together); the statuses."""
    statuses: list[int] = []
    start = threading.Barrier(len(browsers))
    lock = threading.Lock()

    def run(browser):
        start.wait(30)
        status = send(browser)
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=run, args=(browser,)) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sorted(statuses)


@pytest.mark.slow
def test_gunicorn_with_four_workers_stops_at_exactly_the_documented_number(engine_app, tmp_path):
    """The documented limits (the defaults), through ``gunicorn -w 4`` whose workers each take
    requests: sequential attempts on new connections and concurrent bursts, all from 127.0.0.1
    unless another loopback address is named (another device)."""
    from test_crash_safety import Browser, Server

    app = engine_app
    make_staff(role="admin", username="admin", password="benar-sekali")
    make_staff(role="petugas", username="siti", password="benar-sekali")
    make_staff(role="petugas", username="budi", password="benar-sekali")
    _device, pairing_code = pairing.add_device("Kios aula", "check", None, staff=None)
    db.session.remove()
    db.engine.dispose()
    url = None if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else app.config["SQLALCHEMY_DATABASE_URI"]
    server = Server(app.instance_path, url, tmp_path / "gunicorn.log", workers=4)

    def browser(source: str | None = None) -> Browser:
        made = Browser(server.port, source)
        made.request("GET", "/masuk")
        return made

    def wrong(username: str):
        return lambda b: b.request("POST", "/masuk", {"username": username, "password": "salah", "csrf_token": b.csrf})[0]

    try:
        server.start()
        # start() returns when one worker answers; the others may still be booting.
        deadline = time.monotonic() + 60
        while server.log_path.read_text().count("Booting worker") < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.log_path.read_text().count("Booting worker") == 4

        # Sequential, a new connection each time: exactly 10 failures for admin from this address.
        guesser = browser()
        statuses = [wrong("admin")(guesser) for _ in range(PER_USER.attempts + 2)]
        assert statuses == [401] * PER_USER.attempts + [429, 429], statuses
        status, headers, body = guesser.request("POST", "/masuk", {"username": "admin", "password": "benar-sekali",
                                                                  "csrf_token": guesser.csrf})
        assert status == 429 and "Coba lagi dalam 5 menit" in body and int(headers["Retry-After"]) <= PER_USER.seconds
        # The owner from another device signs in (the stranger's guesses are theirs alone).
        browser("127.0.0.2").sign_in("admin", "benar-sekali")

        # 16 at once for siti, each on its own connection and session: exactly 10 get through.
        assert _burst([browser() for _ in range(16)], wrong("siti")) == [401] * 10 + [429] * 6

        # This address has 20 failures now (refused attempts are not counted); its ceiling is
        # 30 over every username.
        left = PER_ADDRESS.attempts - 2 * PER_USER.attempts
        statuses = [wrong(f"orang{n}")(guesser) for n in range(left)] + [wrong("budi")(guesser)]
        assert statuses == [401] * left + [429], statuses
        browser("127.0.0.3").sign_in("budi", "benar-sekali")

        # Typed card codes on one kiosk, 14 at once: exactly 10 refused codes, then the wait.
        kiosk = Browser(server.port, "127.0.0.4")
        kiosk.request("GET", "/kiosk/pasang")
        status, _, body = kiosk.request("POST", "/kiosk/pasang", {"code": pairing_code, "csrf_token": kiosk.csrf})
        assert status == 303, body[-300:]
        kiosk.request("GET", "/kiosk/")
        copies = []
        for _ in range(CODES.attempts + 4):
            copy = Browser(server.port, "127.0.0.4")
            copy.cookies, copy.csrf = dict(kiosk.cookies), kiosk.csrf
            copies.append(copy)
        typed = _burst(copies, lambda b: b.request("POST", "/kiosk/pindai", {"code": tokens.new_fallback_code(),
                                                                              "csrf_token": b.csrf})[0])
        assert typed == [200] * CODES.attempts + [429] * 4, typed
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]
