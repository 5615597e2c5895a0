"""Secrets and logs. A full run — first-run setup, enrollment, a card, a search by NIK, a scan at
the kiosk by QR token and by typed fallback code, AMBIL, a handover at the desk, exports — while
every log record of every logger is captured: no NIK, token or fallback code appears in them, and
no secret (the app secret, the card keys, the setup code) appears in a log record or in any
response body. The secrets live in ``instance/`` with mode 0600. ``flask --app kiosk
rotate-card-key`` then ``retire-card-key`` (the real command line) refuses the cards signed with
the old key and lists the workers who need a new card.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from factories import make_coverage, make_distribution, make_worker, nik_for
from kiosk import card_registry, tokens
from kiosk.coverage import today_jakarta
from kiosk.extensions import db
from kiosk.models import Card, Worker
from kiosk.nik import format_nik
from kiosk.terminal import pairing

ROOT = Path(__file__).resolve().parent.parent


class Everything(logging.Handler):
    """Keeps every record, formatted as a handler would write it (with tracebacks)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record):
        self.lines.append(self.format(record) + " " + repr(record.args))


@pytest.fixture
def every_log_record():
    handler = Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # Loggers that do not propagate would escape the root handler: attach to them too.
    extra = [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger) and not lg.propagate]
    for lg in extra:
        lg.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)
    for lg in extra:
        lg.removeHandler(handler)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def secrets_of(instance: Path) -> dict[str, str]:
    found = {"secret_key": (instance / "secret_key").read_text().strip()}
    for key in sorted((instance / "card-keys").glob("*.key")):
        found[f"card key {key.stem}"] = key.read_text().strip()
    return found


def test_full_run_leaks_no_nik_token_code_or_secret(app, every_log_record):
    instance = Path(app.instance_path)
    staff_client, kiosk = app.test_client(), app.test_client()
    bodies: list[str] = []

    def keep(response):
        bodies.append(response.get_data().decode("utf-8", "replace"))
        response.close()
        return response

    # First run: the setup code (mode 0600) makes the first admin.
    from kiosk.auth import setup

    keep(staff_client.get("/setup"))
    setup_code = setup.new_code()
    response = keep(staff_client.post("/setup", data={
        "code": setup_code, "username": "admin", "full_name": "Admin Dinas",
        "password": "Kopi-Semende-Pagi", "confirm": "Kopi-Semende-Pagi"}))
    assert response.status_code == 302

    # Enroll a worker through the form.
    from test_workers_views import BIRTH, enroll_form

    nik = nik_for(BIRTH, "L", serial=4321)
    response = keep(staff_client.post("/pekerja/baru", data=enroll_form(nik=nik, start=today_jakarta().isoformat())))
    assert response.status_code == 303, response.get_data(as_text=True)[-800:]
    worker_id = int(response.headers["Location"].rsplit("/", 1)[1])

    # Issue the card on its page.
    response = keep(staff_client.post(f"/kartu/pekerja/{worker_id}/terbitkan"))
    assert response.status_code in (200, 302, 303)
    card = db.session.query(Card).filter_by(worker_id=worker_id).one()
    token = card_registry.token_for(card)
    fallback = card.fallback_code

    # Search by NIK (full, and its beginning), as a page and as the list fragment.
    for q in (nik, nik[:8], format_nik(nik)):
        assert keep(staff_client.get("/pekerja/", query_string={"q": q})).status_code == 200
        keep(staff_client.get("/pekerja/", query_string={"q": q}, headers={"HX-Request": "true"}))
    keep(staff_client.get(f"/pekerja/{worker_id}"))
    keep(staff_client.get(f"/kartu/{card.id}.png"))

    # A second worker with a card, for the desk.
    other = make_worker(name="Siti Aminah", sex="P")
    make_coverage(other, start=today_jakarta() - timedelta(days=2), end=today_jakarta() + timedelta(days=60))
    other_card = card_registry.issue(other, staff=None)
    other_token = card_registry.token_for(other_card)

    # The kiosk: pair, scan by token, by typed fallback code, AMBIL.
    distribution = make_distribution(packages=10)
    device, pairing_code = pairing.add_device("Kios aula", "collect", distribution, staff=None)
    assert keep(kiosk.post("/kiosk/pasang", data={"code": pairing_code})).status_code == 303
    credential = kiosk.get_cookie(pairing.COOKIE).value
    response = keep(kiosk.post("/kiosk/pindai", data={"code": token}))
    assert response.status_code == 200
    response = keep(kiosk.post("/kiosk/pindai", data={"code": tokens.format_fallback_code(fallback).lower()},
                               headers={"HX-Request": "true", "HX-Target": "scan-result"}))
    ticket = re.search(r'name="ticket" value="([^"]+)"', bodies[-1])
    assert ticket, "a collect kiosk offers AMBIL for a covered worker"
    response = keep(kiosk.post("/kiosk/ambil", data={"ticket": ticket.group(1)}))
    assert response.status_code == 200 and "Paket Anda nomor" in bodies[-1]
    # A wrong code and a forged token are refused (and logged as refusals).
    keep(kiosk.post("/kiosk/pindai", data={"code": fallback[:-1] + ("A" if fallback[-1] != "A" else "B")}))
    keep(kiosk.post("/kiosk/pindai", data={"code": token[:-2] + "AA"}))

    # The desk: scan the other card, hand over.
    response = keep(staff_client.post(f"/penyaluran/{distribution.id}/meja/pindai", data={"code": other_token}))
    request_id = re.search(r'name="request_id"[^>]*value="([^"]+)"', bodies[-1]) or re.search(r'value="([0-9a-f]{32})"', bodies[-1])
    assert request_id
    response = keep(staff_client.post(f"/penyaluran/{distribution.id}/meja/serahkan", data={
        "worker_id": str(other.id), "card_id": str(other_card.id), "request_id": request_id.group(1)}))
    assert response.status_code == 200 and "verdict-ok" in bodies[-1]

    # Exports.
    for path in ("/laporan/cakupan.csv", f"/laporan/penyaluran/{distribution.id}/penerima.csv",
                 f"/laporan/penyaluran/{distribution.id}/bast.pdf", "/laporan/audit.csv"):
        assert keep(staff_client.get(path)).status_code == 200, path
    keep(staff_client.post("/keluar"))

    # Secrets on disk: private files.
    assert mode_of(instance / "secret_key") == 0o600
    assert mode_of(instance / "card-keys") == 0o700
    keys = sorted((instance / "card-keys").glob("*.key"))
    assert keys and all(mode_of(k) == 0o600 for k in keys)
    assert not setup.code_exists()  # consumed

    logs = "\n".join(every_log_record.lines)
    assert "kiosk.request" in logs and "/kiosk/pindai" in logs  # the capture works
    worker_niks = [w.nik for w in db.session.query(Worker)]
    forbidden = {"token": token, "other token": other_token, "fallback code": fallback,
                 "typed fallback code": tokens.format_fallback_code(fallback),
                 "device credential": credential, "setup code": setup_code}
    for n in worker_niks:
        forbidden[f"NIK {n}"] = n
        forbidden[f"formatted NIK {n}"] = format_nik(n)
    forbidden.update(secrets_of(instance))
    leaked = [name for name, value in forbidden.items() if value and value in logs]
    assert not leaked, f"in the logs: {leaked}"

    everything = "\n".join(bodies)
    secret_values = {"setup code": setup_code, "device credential": credential, **secrets_of(instance)}
    leaked = [name for name, value in secret_values.items() if value in everything]
    assert not leaked, f"in a response body: {leaked}"


def test_cli_rotate_and_retire_refuse_old_cards_and_list_workers(app, tmp_path):
    """The real command line, as an operator runs it after a key leaked."""
    old_worker = make_worker(name="Ani Kartu Lama")
    old_token = card_registry.token_for(card_registry.issue(old_worker, staff=None))
    first_key = card_registry.keyring().current_id
    old_worker_id = old_worker.id
    db.session.remove()
    db.engine.dispose()

    env = dict(os.environ, KIOSK_INSTANCE_PATH=app.instance_path)
    env.pop("DATABASE_URL", None)
    flask = [str(Path(sys.executable).with_name("flask")), "--app", "kiosk"]

    def run(*args, input=None):
        return subprocess.run(flask + list(args), cwd=ROOT, env=env, input=input, capture_output=True, text=True, timeout=60)

    rotated = run("rotate-card-key")
    assert rotated.returncode == 0, rotated.stderr
    assert "is now the current key" in rotated.stdout
    retired = run("retire-card-key", first_key, "--yes")
    assert retired.returncode == 0, retired.stderr
    assert "1 valid card(s) need a reissue" in retired.stdout
    assert f"worker {old_worker_id}" in retired.stdout and "Ani Kartu Lama" in retired.stdout
    instance = Path(app.instance_path)
    for name, value in secrets_of(instance).items():
        assert value not in rotated.stdout + rotated.stderr + retired.stdout + retired.stderr, name
    assert all(mode_of(k) == 0o600 for k in (instance / "card-keys").glob("*.key"))

    # The running app (another process in real life) notices within the registry's cache age
    # (tokens.STATE_MAX_AGE) and refuses the old card; it may still accept it for that long.
    deadline = time.monotonic() + tokens.STATE_MAX_AGE + 2
    while (lookup := card_registry.resolve(old_token)).ok and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not lookup.ok and lookup.refusal is tokens.Refusal.RETIRED_KEY
    new_card = card_registry.issue(make_worker(name="Budi Kartu Baru"), staff=None)
    assert new_card.key_id != first_key and card_registry.resolve(card_registry.token_for(new_card)).ok


def test_secret_key_is_never_rendered(app, client):
    """Pages embed CSRF tokens derived from the secret, never the secret itself."""
    secret = Path(app.instance_path, "secret_key").read_text().strip()
    for path in ("/masuk", "/setup", "/kiosk/", "/kiosk/pasang"):
        response = client.get(path)
        assert secret not in response.get_data(as_text=True)
