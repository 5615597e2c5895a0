"""Crash safety: the real server (gunicorn, 2 workers, ``gunicorn.conf.py``) is killed with
SIGKILL — master and workers at once — in the middle of a stream of package handovers (the
desk) and enrollments, restarted, and the database is checked: every request that got a success
answer is there, nothing is half-written (every enrolled worker has their coverage, every
distribution's ``packages_given`` equals its non-voided collections, every collection has its
claim request), and SQLite's ``PRAGMA integrity_check`` is ok. On SQLite and PostgreSQL.

``Server`` and ``Browser`` are reused by tests/test_rate_limits.py and tests/test_logs_secrets.py.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select, text

from factories import make_coverage, make_distribution, make_staff, make_worker, nik_for
from kiosk.coverage import today_jakarta

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")  # beside the interpreter running the tests
KILLS = 2  # per engine
SUCCESSES_BEFORE_KILL = 12
BIRTH = date(1985, 7, 14)

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving ``wsgi:app`` in its own process group, output captured to a file."""

    def __init__(self, instance: str, database_url: str | None, log_path: Path, env: dict | None = None, workers: int = 2):
        self.port = free_port()
        self.log_path = log_path
        self.env = dict(os.environ)
        self.env.pop("DATABASE_URL", None)
        self.env.update({
            "KIOSK_INSTANCE_PATH": instance,
            "KIOSK_BIND": f"127.0.0.1:{self.port}",
            "KIOSK_WORKERS": str(workers),
            "PYTHONUNBUFFERED": "1",
        })
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.env.update(env or {})
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "Server":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(GUNICORN), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-2000:]}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/masuk")
                conn.getresponse().read()
                return self
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
            finally:
                conn.close()
        self.kill()
        raise RuntimeError("gunicorn did not answer in time")

    def kill(self) -> None:
        """SIGKILL the whole process group: master and workers at once, no clean shutdown."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.kill()
        self.process = None


class Browser:
    """A minimal HTTP client with cookies and the page's CSRF token (no redirects followed)."""

    def __init__(self, port: int, source: str | None = None):
        self.port = port
        self.source = source  # another loopback address to come from (127.0.0.2, …): another device
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.raw = b""

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None, timeout: float = 20,
                body: bytes | None = None):
        """``data``: a form, sent urlencoded; or ``body`` as it is (give its Content-Type)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                          source_address=(self.source, 0) if self.source else None)
        try:
            all_headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
            if data is not None:
                body = urlencode(data)
                all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            if method != "GET" and self.csrf:
                all_headers["X-CSRFToken"] = self.csrf
            all_headers.update(headers or {})
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            self.raw = response.read()  # the body's bytes (an image, a PDF)
            payload = self.raw.decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                value = rest.split(";", 1)[0]
                if "expires=thu, 01 jan 1970" in header.lower() or (not value and "max-age=0" in header.lower()):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
            found = re.search(r'"X-CSRFToken": "([^"]+)"', payload)
            if found:
                self.csrf = found.group(1)
            return response.status, dict(response.headers), payload
        finally:
            conn.close()

    def sign_in(self, username: str, password: str = "rahasia-123") -> None:
        self.request("GET", "/masuk")
        status, _, body = self.request("POST", "/masuk", {"username": username, "password": password, "csrf_token": self.csrf})
        assert status == 302, body[-500:]
        self.request("GET", "/")  # a page of the signed-in session: its CSRF token


def enroll_data(serial: int, desa: str, csrf: str) -> dict:
    return {
        "nik": nik_for(BIRTH, "L", serial=serial), "name": f"Pekerja Tahan Banting {serial}", "sex": "L",
        "birth_place": "Muara Enim", "birth_date": BIRTH.isoformat(), "address": f"Jl. Uji {serial}",
        "kecamatan": "160302", "desa": desa, "occupation": "Petani", "occupation_other": "",
        "phone": "", "kpj": "", "income": "Rp1.500.000", "with_coverage": "1",
        "start": today_jakarta().isoformat(), "end": "", "funder": "Pemkab Muara Enim", "csrf_token": csrf,
    }


class Stream:
    """Threads that hand packages over at the desk and enroll workers until told to stop,
    remembering every request that got a success answer."""

    def __init__(self, port: int, distribution_id: int, worker_ids: list[int], desa: str, serials):
        self.port = port
        self.distribution_id = distribution_id
        self.worker_ids = worker_ids
        self.desa = desa
        self.serials = serials
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.claimed: dict[str, int] = {}  # request id -> worker id, answered "collected"
        self.enrolled: dict[int, str] = {}  # worker id -> NIK, answered with the new worker's page
        self.errors: list[str] = []
        self.niks_sent: list[str] = []
        self.server_errors: list[str] = []

    def successes(self) -> int:
        with self.lock:
            return len(self.claimed) + len(self.enrolled)

    def _next_worker(self) -> int | None:
        with self.lock:
            return self.worker_ids.pop() if self.worker_ids else None

    def claimer(self, browser: Browser) -> None:
        path = f"/penyaluran/{self.distribution_id}/meja/serahkan"
        while not self.stop.is_set():
            worker_id = self._next_worker()
            if worker_id is None:
                return
            request_id = uuid.uuid4().hex
            data = {"worker_id": str(worker_id), "card_id": "", "request_id": request_id, "proxy_name": "",
                    "proxy_relation": "", "csrf_token": browser.csrf}
            try:
                status, _, body = browser.request("POST", path, data, headers={"HX-Request": "true", "HX-Target": "desk-result"})
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(repr(exc))
                continue
            if status >= 500:
                self.server_errors.append(f"claim {status}")
            if status == 200 and "verdict verdict-ok" in body:
                with self.lock:
                    self.claimed[request_id] = worker_id

    def enroller(self, browser: Browser) -> None:
        while not self.stop.is_set():
            serial = next(self.serials)
            data = enroll_data(serial, self.desa, browser.csrf)
            self.niks_sent.append(data["nik"])
            try:
                status, headers, _ = browser.request("POST", "/pekerja/baru", data)
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(repr(exc))
                continue
            if status >= 500:
                self.server_errors.append(f"enroll {status}")
            location = headers.get("Location", "")
            found = re.fullmatch(r"/pekerja/(\d+)", location)
            if status == 303 and found:
                with self.lock:
                    self.enrolled[int(found.group(1))] = data["nik"]


def check_database(app, stream: Stream, engine: str) -> dict:
    """Every answered success is stored; nothing half-written. Returns the figures."""
    from kiosk.extensions import db
    from kiosk.models import ClaimRequest, Collection, Coverage, Distribution, Worker

    db.session.remove()
    for request_id, worker_id in stream.claimed.items():
        stored = db.session.get(ClaimRequest, request_id)
        assert stored is not None, f"answered claim {request_id} lost"
        assert stored.collection_id is not None
        collection = db.session.get(Collection, stored.collection_id)
        assert collection is not None and collection.worker_id == worker_id and collection.voided_at is None
    for worker_id, nik in stream.enrolled.items():
        worker = db.session.get(Worker, worker_id)
        assert worker is not None and worker.nik == nik, f"answered enrollment {worker_id} lost"
    # Nothing half-written: every worker of the stream has their coverage.
    stream_workers = list(db.session.scalars(select(Worker).where(Worker.name.like("Pekerja Tahan Banting %"))))
    for worker in stream_workers:
        assert db.session.scalar(select(func.count()).select_from(Coverage).where(Coverage.worker_id == worker.id)) == 1, worker.nik
    for distribution in db.session.scalars(select(Distribution)):
        live = db.session.scalar(
            select(func.count()).select_from(Collection)
            .where(Collection.distribution_id == distribution.id, Collection.voided_at.is_(None))
        )
        assert distribution.packages_given == live
    orphans = db.session.scalar(
        select(func.count()).select_from(Collection)
        .where(~select(ClaimRequest.request_id).where(ClaimRequest.collection_id == Collection.id).exists())
    )
    assert orphans == 0, "collections without their claim request"
    if engine == "sqlite":
        assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert db.session.execute(text("PRAGMA foreign_key_check")).all() == []
    figures = {
        "claims_answered": len(stream.claimed),
        "enrollments_answered": len(stream.enrolled),
        "workers_stored": len(stream_workers),
        "collections_stored": db.session.scalar(select(func.count()).select_from(Collection)),
    }
    db.session.remove()
    return figures


def test_sigkill_mid_stream_loses_nothing(engine_app, tmp_path, capsys):
    from kiosk.extensions import db
    from kiosk.wilayah import desa_list

    app = engine_app
    engine = "sqlite" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else "postgresql"
    make_staff(role="admin", username="admin-crash")
    for n in range(4):
        make_staff(role="petugas", username=f"meja{n}")
    distribution = make_distribution(packages=1000)
    today = today_jakarta()
    worker_ids = []
    for n in range(80):
        worker = make_worker(name=f"Penerima {n}")
        make_coverage(worker, start=today - timedelta(days=3), end=today + timedelta(days=60))
        worker_ids.append(worker.id)
    distribution_id = distribution.id
    desa = desa_list("160302")[0].code
    db.session.remove()
    db.engine.dispose()

    import itertools

    serials = itertools.count(5000)
    url = None if engine == "sqlite" else app.config["SQLALCHEMY_DATABASE_URI"]
    server = Server(app.instance_path, url, tmp_path / "gunicorn.log")
    stream = Stream(server.port, distribution_id, worker_ids, desa, serials)
    kills = 0
    try:
        server.start()
        for _round in range(KILLS):
            stream.stop.clear()
            browsers = [Browser(server.port) for _ in range(4)]
            for n, browser in enumerate(browsers):
                browser.sign_in(f"meja{n}")
            threads = [threading.Thread(target=stream.claimer, args=(browsers[0],)),
                       threading.Thread(target=stream.claimer, args=(browsers[1],)),
                       threading.Thread(target=stream.enroller, args=(browsers[2],)),
                       threading.Thread(target=stream.enroller, args=(browsers[3],))]
            target = stream.successes() + SUCCESSES_BEFORE_KILL
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 60
            while stream.successes() < target and time.monotonic() < deadline:
                time.sleep(0.02)
            server.kill()  # mid-stream: the threads are still sending
            kills += 1
            stream.stop.set()
            for thread in threads:
                thread.join(30)
            assert stream.successes() >= target, "the stream did not get going before the kill"
            server.start()
        # The restarted server serves: one more round trip of each kind.
        browser = Browser(server.port)
        browser.sign_in("meja0")
        assert browser.request("GET", f"/penyaluran/{distribution_id}/meja")[0] == 200
    finally:
        server.stop()
    assert not stream.server_errors, stream.server_errors
    figures = check_database(app, stream, engine)
    # The live server's own output (its request log, warnings) holds no NIK that was sent.
    output = server.log_path.read_text()
    assert '"endpoint":"workers.new"' in output and '"endpoint":"distributions.desk_handover"' in output
    leaked = [nik for nik in stream.niks_sent if nik in output]
    assert not leaked, f"NIKs in the server output: {leaked[:3]}"
    with capsys.disabled():
        print(f"\ncrash safety ({engine}): {kills} SIGKILLs survived, {figures}, rows lost: 0")
