"""Two servers, one system (issue 19): two real gunicorn servers, each with its own instance
folder, on one PostgreSQL database made for this run and one secrets folder
(``KIOSK_SECRETS_DIR``), as docs/operations.md "Several servers" tells an operator to run them.
Everything is shown through HTTP, as a browser, a kiosk and the office's IT person meet it:

- a session and a form (its CSRF token) from A are accepted by B;
- a pairing code made on A pairs a kiosk on B; a card issued on A scans on B's kiosk (and B's
  PNG of that card holds the same token);
- a card key rotated and the old one retired on A (the CLI, with A's settings) are seen by B
  within its registry's few seconds (polled, never timed);
- a photo uploaded on A is shown by B; an import preview made on A is confirmed on B;
- the sign-in limit counts once over both;
- a third server given other secrets refuses to start, saying why.

The same in one process, with the functions behind them: tests/test_installation.py.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import select

from cardimages import decode_one, png_image
from conftest import _make_app, new_postgres_database, postgres_answers
from factories import make_coverage, make_staff, make_worker
from import_files import as_csv, person
from test_crash_safety import ROOT, Browser, Server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FLASK = os.path.join(os.path.dirname(sys.executable), "flask")
POLL_SECONDS = 60  # a generous bound for "within seconds" (the registry is kept 5 s): never a timing


@pytest.fixture
def installation(tmp_path):
    """A fresh PostgreSQL database, migrated, its secrets registered from ``secrets/``, with staff
    and workers; dropped at the end."""
    if not postgres_answers():
        pytest.skip("no PostgreSQL server answers at 127.0.0.1:5432")
    from flask_migrate import upgrade

    from kiosk import installation as setup_check
    from kiosk.extensions import db

    with new_postgres_database("kiosk_two") as url:
        secrets = tmp_path / "secrets"
        seed = _make_app(tmp_path / "seed" / "instance", {"SQLALCHEMY_DATABASE_URI": url, "SECRETS_DIR": str(secrets)})
        try:
            with seed.app_context():
                upgrade()
                db.session.remove()
            setup_check.check_before_serving(seed)  # registers the secret key and card key A
            with seed.app_context():
                make_staff(role="admin", username="admin")
                make_staff(role="petugas", username="siti")
                workers = {}
                for n in range(12):
                    worker = make_worker(name=f"Pekerja Dua Server {n}")
                    make_coverage(worker)
                    workers[n] = worker.id
                db.session.remove()
            yield {"url": url, "secrets": secrets, "seed": seed, "workers": workers, "tmp": tmp_path}
        finally:
            with seed.app_context():
                db.session.remove()
                db.engine.dispose()


def server(setup: dict, label: str, secrets=None) -> Server:
    instance = setup["tmp"] / label / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    env = {"KIOSK_SECRETS_DIR": str(secrets or setup["secrets"])}
    return Server(str(instance), setup["url"], setup["tmp"] / f"{label}.log", env=env, workers=2)


def cli(setup: dict, on: Server, *args: str) -> str:
    """``flask --app kiosk <args>`` with the settings of server ``on`` (its instance, secrets, database)."""
    done = subprocess.run([FLASK, "--app", "kiosk", *args], cwd=ROOT, env=on.env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, dict]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data, kind) in files.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  f"Content-Type: {kind}\r\n\r\n".encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (480, 600), (120, 160, 200)).save(out, "JPEG")
    return out.getvalue()


def card_of(setup: dict, worker_id: int):
    """(card id, key id) of the worker's valid card, read from the database."""
    from kiosk.extensions import db
    from kiosk.models import Card

    with setup["seed"].app_context():
        try:
            return db.session.execute(select(Card.id, Card.key_id).where(Card.worker_id == worker_id,
                                                                         Card.revoked_at.is_(None))).first()
        finally:
            db.session.remove()


def scan(kiosk: Browser, code: str) -> str:
    status, _, page = kiosk.request("POST", "/kiosk/pindai", {"code": code, "csrf_token": kiosk.csrf})
    assert status == 200, page[-500:]
    return page


def test_two_servers_act_as_one_app(installation):
    setup = installation
    workers = setup["workers"]
    a, b = server(setup, "a"), server(setup, "b")
    try:
        a.start(timeout=60)
        b.start(timeout=60)

        # A session made on A is good on B, and so is a form (its CSRF token) loaded on A.
        on_a = Browser(a.port)
        on_a.sign_in("admin")
        on_b = Browser(b.port)
        on_b.cookies, on_b.csrf = dict(on_a.cookies), on_a.csrf
        status, _, page = on_b.request("GET", "/admin/perangkat")
        assert status == 200 and "Perangkat" in page, page[-500:]
        on_a.request("GET", "/admin/perangkat/baru")  # the form, loaded on A
        device_form = {"name": "Kios dari formulir A", "mode": "check", "distribution": "0", "slip_paper": "",
                       "csrf_token": on_a.csrf}
        status, _, page = on_b.request("POST", "/admin/perangkat/baru", device_form, headers={"X-CSRFToken": on_a.csrf})
        assert status == 200 and "data-pairing-code" in page, page[-800:]

        # A pairing code made on A pairs a kiosk on B.
        status, _, page = on_a.request("POST", "/admin/perangkat/baru", {**device_form, "name": "Kios aula B"})
        assert status == 200, page[-800:]
        code = re.search(r"data-pairing-code>\s*([^<]+?)\s*<", page).group(1)
        kiosk = Browser(b.port)
        kiosk.request("GET", "/kiosk/pasang")
        status, _, page = kiosk.request("POST", "/kiosk/pasang", {"code": code, "csrf_token": kiosk.csrf})
        assert status == 303, page[-800:]
        assert kiosk.request("GET", "/kiosk/")[0] == 200

        # A card issued on A scans on B's kiosk; B draws the same QR.
        first = workers[0]
        status, _, page = on_a.request("POST", f"/kartu/pekerja/{first}/terbitkan", {"csrf_token": on_a.csrf})
        assert status in (200, 302, 303), page[-800:]
        card_id, key_id = card_of(setup, first)
        assert key_id == "A"
        assert on_a.request("GET", f"/kartu/{card_id}.png")[0] == 200
        token = decode_one(png_image(on_a.raw))
        assert token
        assert on_b.request("GET", f"/kartu/{card_id}.png")[0] == 200
        assert decode_one(png_image(on_b.raw)) == token
        page = scan(kiosk, token)
        assert 'data-state="result"' in page and "Pekerja Dua Server 0" in page

        # A photo uploaded on A is shown by B.
        photo_worker = workers[1]
        body, headers = multipart({"csrf_token": on_a.csrf}, {"photo_file": ("foto.jpg", jpeg(), "image/jpeg")})
        status, _, page = on_a.request("POST", f"/pekerja/{photo_worker}/foto", body=body, headers=headers)
        assert status == 303, page[-800:]
        assert on_a.request("GET", f"/pekerja/{photo_worker}/foto")[0] == 200
        from_a = on_a.raw
        status, got, _ = on_b.request("GET", f"/pekerja/{photo_worker}/foto")
        assert status == 200 and got["Content-Type"].startswith("image/jpeg") and on_b.raw == from_a

        # An import preview made on A is confirmed on B.
        body, headers = multipart({"csrf_token": on_a.csrf},
                                  {"berkas": ("daftar.csv", as_csv([person(n) for n in range(1, 4)]), "text/csv")})
        status, got, page = on_a.request("POST", "/pekerja/impor", body=body, headers=headers)
        assert status == 303 and "/pekerja/impor/" in got["Location"], page[-800:]
        assert "/kolom" not in got["Location"], got["Location"]  # the columns were known
        preview = got["Location"].split("?")[0].rsplit("/", 1)[1]
        assert on_b.request("GET", f"/pekerja/impor/{preview}")[0] == 200
        status, got, page = on_b.request("POST", f"/pekerja/impor/{preview}", {"csrf_token": on_a.csrf})
        assert status == 303 and "/impor" not in got["Location"], (got, page[-800:])
        status, _, page = on_b.request("GET", got["Location"])
        assert "Impor selesai: 3 pekerja ditambahkan" in page

        # A card key rotated on A: B signs new cards with it within seconds.
        assert "card key B is now the current key" in cli(setup, a, "rotate-card-key")
        spare = iter(workers[n] for n in range(2, 12))
        deadline = time.monotonic() + POLL_SECONDS
        while True:
            worker_id = next(spare)
            status, _, page = on_b.request("POST", f"/kartu/pekerja/{worker_id}/terbitkan", {"csrf_token": on_b.csrf})
            assert status in (200, 302, 303), page[-800:]
            new_card, key_id = card_of(setup, worker_id)
            if key_id == "B" or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert key_id == "B", "B kept signing with key A"
        assert on_b.request("GET", f"/kartu/{new_card}.png")[0] == 200
        new_token = decode_one(png_image(on_b.raw))
        # ... and key A retired on A: B's kiosk refuses A's cards within seconds, B's still pass.
        assert "card key A retired" in cli(setup, a, "retire-card-key", "A", "--yes")
        deadline = time.monotonic() + POLL_SECONDS
        while 'data-state="refused"' not in (page := scan(kiosk, token)) and time.monotonic() < deadline:
            time.sleep(1)
        assert 'data-state="refused"' in page and "Kartu sudah tidak berlaku" in page
        assert 'data-state="result"' in scan(kiosk, new_token)

        # The sign-in limit counts once over both servers: 10 failures in all, then both refuse.
        guesses = [Browser(a.port), Browser(b.port)]
        for guesser in guesses:
            guesser.request("GET", "/masuk")
        statuses = []
        for n in range(12):
            guesser = guesses[n % 2]
            statuses.append(guesser.request("POST", "/masuk", {"username": "siti", "password": "salah",
                                                                "csrf_token": guesser.csrf})[0])
        assert statuses == [401] * 10 + [429, 429], statuses
    finally:
        a.stop()
        b.stop()
    for log in ("a.log", "b.log"):
        text_of_log = (setup["tmp"] / log).read_text()
        assert "Traceback" not in text_of_log, text_of_log[-3000:]

    # A server given other secrets than the installation's refuses to start, and says why.
    stranger = server(setup, "c", secrets=setup["tmp"] / "other-secrets")
    with pytest.raises(RuntimeError) as refused:
        stranger.start(timeout=60)
    stranger.stop()
    message = str(refused.value)
    assert "that database is in use with secrets this server does not hold" in message, message
    assert "card key B is in use but not on this server" in message and "KIOSK_SECRETS_DIR" in message
