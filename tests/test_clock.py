"""The server knows when its clock is wrong: earlier than the newest recorded event or the
release date, it says so on the dashboard and the kiosk and refuses claims until the clock is right
or an admin confirms it; kiosks report how far their own clock is off. The check is cached: no
query per request while the clock is believed."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, select

from factories import covered_worker, make_card, make_distribution, make_staff
from kiosk import clock
from kiosk import distribution as pickup
from kiosk.coverage import today_jakarta
from kiosk.database import utcnow
from kiosk.extensions import db
from kiosk.models import AuditEvent, ClaimRequest, Collection, Device
from kiosk.terminal import pairing

ROOT = Path(__file__).resolve().parent.parent


def test_release_date_is_not_before_the_first_migration_nor_in_the_future():
    text = (ROOT / "kiosk" / "migrations" / "versions" / "0001_initial_schema.py").read_text()
    first = date.fromisoformat(re.search(r"Create Date: (\d{4}-\d\d-\d\d)", text).group(1))
    assert first <= clock.RELEASE_DATE <= today_jakarta()


def _clock_runs_behind(hours: int = 48) -> None:
    """An event written under a clock that was ``hours`` ahead of ours (or: ours went back)."""
    db.session.add(AuditEvent(at=utcnow() + timedelta(hours=hours), action="worker.create", entity_type="worker"))
    db.session.commit()
    clock.state(fresh=True)  # forget what this process believed


def _pair(client, distribution) -> Device:
    device, code = pairing.add_device("Kios aula", "collect", distribution, staff=None)
    assert client.post("/kiosk/pasang", data={"code": code}).status_code == 303
    return device


def _admin(client):
    make_staff(role="admin", username="admin", password="rahasia-123")
    assert client.post("/masuk", data={"username": "admin", "password": "rahasia-123"}).status_code == 302


def test_a_clock_behind_the_newest_event_stops_claims_until_an_admin_confirms(engine_app):
    app = engine_app
    distribution = make_distribution(packages=10)
    worker = covered_worker()
    card, token = make_card(worker)
    ids = {"distribution_id": distribution.id, "worker_id": worker.id, "card_id": card.id}
    kiosk, admin = app.test_client(), app.test_client()
    _pair(kiosk, distribution)
    _admin(admin)
    assert clock.trusted()
    assert 'id="clock-warning" role="alert" hidden' in kiosk.get("/kiosk/").get_data(as_text=True)
    offered = kiosk.post("/kiosk/pindai", data={"code": token}).get_data(as_text=True)
    ticket = re.search(r'name="ticket" value="([^"]+)"', offered).group(1)  # AMBIL offered, not yet tapped

    _clock_runs_behind()
    assert not clock.state().trusted and clock.state().reason == "event"
    # The kiosk: the banner is shown, the ping says so, the scan offers no AMBIL.
    page = kiosk.get("/kiosk/").get_data(as_text=True)
    assert 'id="clock-warning" role="alert">' in page and "Jam server belum benar." in page
    assert kiosk.get("/kiosk/ping").headers["X-Kiosk-Clock"] == "wrong"
    scanned = kiosk.post("/kiosk/pindai", data={"code": token}).get_data(as_text=True)
    assert "Jam server belum benar, jadi paket belum bisa diserahkan." in scanned and 'name="ticket"' not in scanned
    # AMBIL tapped on the screen shown before: the worker and why, nothing claimed.
    late = kiosk.post("/kiosk/ambil", data={"ticket": ticket}).get_data(as_text=True)
    assert worker.name in late and "Jam server belum benar, jadi paket belum bisa diserahkan." in late
    # The claim itself (kiosk or desk) is refused and nothing is written.
    answer = pickup.claim(ids["distribution_id"], ids["worker_id"], request_id="r-clock", card_id=ids["card_id"])
    assert answer.outcome is pickup.Outcome.CLOCK_WRONG and not answer.collected
    assert db.session.scalar(select(func.count(Collection.id))) == 0
    assert db.session.scalar(select(func.count()).select_from(ClaimRequest)) == 0
    # The dashboard warns everyone; the admin page explains and offers the confirmation.
    home = admin.get("/").get_data(as_text=True)
    assert "data-clock-warning" in home and 'href="/admin/jam"' in home
    page = admin.get("/admin/jam").get_data(as_text=True)
    assert 'data-clock="wrong"' in page and "Jam server ini benar" in page and "timedatectl" in page

    assert admin.post("/admin/jam").status_code == 302
    db.session.remove()
    assert clock.trusted()
    assert kiosk.get("/kiosk/ping").headers["X-Kiosk-Clock"] == "ok"
    assert "data-clock-warning" not in admin.get("/").get_data(as_text=True)
    confirmed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "clock.confirm"))
    assert confirmed.staff_id is not None and confirmed.after["ignore_up_to_id"] >= 1
    # The same request id, tried again now, is claimed: the refusal was never stored.
    assert pickup.claim(ids["distribution_id"], ids["worker_id"], request_id="r-clock", card_id=ids["card_id"]).collected

    # A clock that goes back again later is caught again: only events after the confirmation count.
    _clock_runs_behind(hours=1)
    assert not clock.trusted()


def test_a_clock_before_the_release_date_cannot_be_confirmed(app, client, monkeypatch):
    monkeypatch.setattr(clock, "RELEASE_DATE", today_jakarta() + timedelta(days=30))
    clock.state(fresh=True)
    state = clock.state()
    assert not state.trusted and state.reason == "release" and state.before_release
    _admin(client)
    page = client.get("/admin/jam").get_data(as_text=True)
    assert "lebih awal dari tanggal rilis" in page and "Jam server ini benar" not in page
    response = client.post("/admin/jam")
    assert response.status_code == 422 and "pasti salah" in response.get_data(as_text=True)
    assert not clock.trusted()


def test_the_check_is_cached_while_the_clock_is_believed(app):
    clock.state(fresh=True)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        for _ in range(100):
            assert clock.trusted()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert statements == []


def test_kiosks_report_their_clock_and_the_device_list_flags_a_large_difference(app, client):
    kiosk = app.test_client()
    device = _pair(kiosk, make_distribution())
    device.last_seen_at = None  # the next ping writes (at most one write a minute)
    db.session.commit()
    ahead = int((datetime.now().timestamp() + 3 * 3600 + 300) * 1000)
    assert kiosk.get(f"/kiosk/ping?t={ahead}").status_code == 204
    db.session.refresh(device)
    assert abs(device.clock_offset_s - (3 * 3600 + 300)) < 60
    _admin(client)
    page = client.get("/admin/perangkat").get_data(as_text=True)
    assert "Jam kios 3 jam 5 menit lebih cepat dari server" in page

    device.last_seen_at = None
    db.session.commit()
    assert kiosk.get(f"/kiosk/ping?t={int(datetime.now().timestamp() * 1000)}").status_code == 204
    assert "data-clock-skew" not in client.get("/admin/perangkat").get_data(as_text=True)

    for junk in ("abc", "-5", "1" * 40, "1e12", "١٢٣"):
        device.last_seen_at = None
        db.session.commit()
        assert kiosk.get("/kiosk/ping", query_string={"t": junk}).status_code == 204, junk
        db.session.refresh(device)
        assert abs(device.clock_offset_s) < 60, junk  # unchanged


def test_skew_words():
    assert clock.skew_note(None) is None and clock.skew_note(90) is None
    assert str(clock.skew_note(-200)) == "Jam kios 3 menit lebih lambat dari server"
    assert str(clock.skew_note(3 * 86400)) == "Jam kios 3 hari lebih cepat dari server"
