"""The kiosk's scan (``POST /kiosk/pindai``) does only what it needs: one statement for the card,
its worker, their coverage, the distribution and the worker's collection in it (plus SQLite's
BEGIN), the device behind the cookie from the process's cache, no throttle count for a scanned token,
no staff member loaded. Counts, not speed (speed lives in ``make bench``).
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from driver_statements import Statements
from factories import covered_worker, make_card, make_distribution
from kiosk.distribution import claim
from kiosk.extensions import db
from kiosk.terminal import pairing

PANEL = {"HX-Request": "true", "HX-Target": "scan-result"}
MAX_STATEMENTS = 2


def paired(client, mode="check", distribution=None):
    device, code = pairing.add_device("Kios uji", mode, distribution, staff=None)
    assert client.post("/kiosk/pasang", data={"code": code}).status_code == 303
    client.get("/kiosk/")  # the session and its form token, as a kiosk has them
    return device


def scan(client, code: str) -> str:
    response = client.post("/kiosk/pindai", data={"code": code}, headers=PANEL)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("mode", ["check", "collect"])
def test_a_scan_runs_at_most_two_statements(engine_app, mode):
    client = engine_app.test_client()
    distribution = make_distribution(packages=10) if mode == "collect" else None
    paired(client, mode, distribution)
    first, second = covered_worker(name="Siti Aminah", sex="P"), covered_worker(name="Budi Santoso")
    _card, first_token = make_card(first)
    _card, second_token = make_card(second)
    assert 'data-state="result"' in scan(client, first_token)  # settings and device read, cached
    counting = Statements(db.engine)
    try:
        page = scan(client, second_token)
    finally:
        counting.close()
    assert "Budi Santoso" in page and 'data-coverage="aktif"' in page
    if mode == "collect":
        assert 'data-sembako="available"' in page
    assert len(counting.seen) <= MAX_STATEMENTS, counting.seen
    assert [s for s in counting.seen if s.upper().startswith("SELECT")] and not [
        s for s in counting.seen if s.upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def test_already_collected_and_refusals_read_as_much(engine_app):
    client = engine_app.test_client()
    distribution = make_distribution(packages=10)
    device = paired(client, "collect", distribution)
    worker = covered_worker(name="Siti Aminah", sex="P")
    card, token = make_card(worker)
    claim(distribution.id, worker.id, request_id="r1", card_id=card.id, device=device, station="Kios uji")
    scan(client, token)
    counting = Statements(db.engine)
    try:
        page = scan(client, token)
        unknown = scan(client, "1234 5678 901")
    finally:
        counting.close()
    assert 'data-sembako="waiting"' in page  # claimed, not handed over yet
    assert 'data-state="refused"' in unknown
    # A typed code is also counted for the kiosk's limit (kiosk.throttle): its BEGIN and one
    # INSERT, and the clean-up of old counts when a new count starts.
    counted = [s for s in counting.seen if "throttle" in s or s == "BEGIN IMMEDIATE"]
    assert len(counted) <= 3, counted
    assert len(counting.seen) - len(counted) <= 2 * MAX_STATEMENTS, counting.seen


def test_a_revoked_device_is_refused_at_once_in_this_process(app, client):
    device = paired(client)
    assert client.get("/kiosk/ping").status_code == 204
    pairing.revoke(device, staff=None)
    assert client.get("/kiosk/ping").status_code == 401


def test_a_device_revoked_elsewhere_is_refused_within_seconds(app, client, monkeypatch):
    """Another server process (or server) revokes the device: this process's cache answers for
    at most DEVICE_CACHE_SECONDS, then reads the row again."""
    now = [1000.0]
    monkeypatch.setattr(pairing.time, "monotonic", lambda: now[0])
    device = paired(client)
    assert client.get("/kiosk/ping").status_code == 204
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other.begin() as conn:  # not through this process's ORM: no event tells the cache
        conn.execute(text("UPDATE device SET revoked_at = CURRENT_TIMESTAMP, credential_hash = NULL "
                          "WHERE id = :id"), {"id": device.id})
    other.dispose()
    now[0] += pairing.DEVICE_CACHE_SECONDS / 2
    assert client.get("/kiosk/ping").status_code == 204  # still cached
    now[0] += pairing.DEVICE_CACHE_SECONDS
    db.session.remove()  # a server's next request has a new session (the test shares its context)
    assert client.get("/kiosk/ping").status_code == 401


def test_the_cached_device_cannot_be_changed_through_the_cache(app, client):
    paired(client)
    device = pairing.device_for(client.get_cookie(pairing.COOKIE).value)
    assert device is not None and device.mode == "check" and device.name == "Kios uji"
    with pytest.raises(AttributeError):
        device.mode = "collect"


def test_a_kiosk_request_loads_no_staff_member(app, client, monkeypatch):
    from kiosk.extensions import login_manager

    paired(client)
    worker = covered_worker(name="Siti Aminah", sex="P")
    _card, token = make_card(worker)
    loaded = []
    original = login_manager._load_user
    monkeypatch.setattr(login_manager, "_load_user", lambda: (loaded.append(1), original())[1])
    scan(client, token)
    client.get("/kiosk/")
    assert loaded == []


def test_an_ambil_takes_one_connection(engine_app):
    """AMBIL reads once (the claim's facts are also the screen's: ``claim_seen``) and writes the
    claim on one pooled connection (``database.one_connection``): one checkout, on PostgreSQL one
    ping and one transaction."""
    import re

    from sqlalchemy import event

    client = engine_app.test_client()
    distribution = make_distribution(packages=10)
    paired(client, mode="collect", distribution=distribution)
    worker = covered_worker(name="Siti Aminah", sex="P")
    _card, token = make_card(worker)
    page = scan(client, token)  # the device, settings and clock read and cached
    ticket = re.search(r'name="ticket" value="([^"]+)"', page).group(1)
    checkouts = []
    record = lambda *_a: checkouts.append(1)  # noqa: E731
    event.listen(db.engine, "checkout", record)
    try:
        with Statements(db.engine) as counting:
            response = client.post("/kiosk/ambil", data={"ticket": ticket}, headers=PANEL)
    finally:
        event.remove(db.engine, "checkout", record)
    assert response.status_code == 200 and 'data-state="collected"' in response.get_data(as_text=True)
    assert len(checkouts) == 1, counting.seen
    assert len([s for s in counting.seen if s.upper().startswith("SELECT")]) == 1, counting.seen  # one read
    writes = [s for s in counting.seen if s.upper().startswith(("INSERT", "UPDATE", "WITH"))]
    if db.engine.dialect.name == "sqlite":
        assert [s.split()[0].upper() for s in writes] == ["UPDATE", "INSERT", "INSERT", "INSERT"], counting.seen
    else:  # the same four writes as one statement (claiming._TAKE_AND_RECORD; what it writes:
        # tests/test_distribution_claim.py)
        assert len(writes) == 1 and writes[0].startswith("WITH take AS (UPDATE distribution"), counting.seen


def test_a_kiosk_request_never_holds_two_connections(engine_app):
    """A scan and an AMBIL hold at most one pooled connection at a time, with nothing cached
    (the device, the clock's floor): a thread that holds one while it waits for another could
    wait forever once every server thread does, the pool being bounded."""
    import re

    from sqlalchemy import event

    from kiosk import clock, settings

    client = engine_app.test_client()
    distribution = make_distribution(packages=10)
    paired(client, mode="collect", distribution=distribution)
    worker = covered_worker(name="Siti Aminah", sex="P")
    _card, token = make_card(worker)
    out, most = [0], [0]

    def checkout(*_a):
        out[0] += 1
        most[0] = max(most[0], out[0])

    def checkin(*_a):
        out[0] -= 1

    def forget():
        db.session.remove()  # a server's next request starts without the test's session
        pairing.forget_devices()
        settings.forget_cache()
        clock.state(fresh=True)
        engine_app.extensions.pop(clock._CACHE_KEY, None)

    forget()
    event.listen(db.engine, "checkout", checkout)
    event.listen(db.engine, "checkin", checkin)
    try:
        page = scan(client, token)
        ticket = re.search(r'name="ticket" value="([^"]+)"', page).group(1)
        at_most = {"scan": most[0]}
        forget()
        out[0] = most[0] = 0
        response = client.post("/kiosk/ambil", data={"ticket": ticket}, headers=PANEL)
        at_most["AMBIL"] = most[0]
    finally:
        event.remove(db.engine, "checkout", checkout)
        event.remove(db.engine, "checkin", checkin)
    assert 'data-state="collected"' in response.get_data(as_text=True)
    assert at_most == {"scan": 1, "AMBIL": 1}
