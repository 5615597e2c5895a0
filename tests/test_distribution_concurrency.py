"""Exactly once under load: many threads (each its own app context and session) and several
real server processes claim — and desks hand over — at once, on SQLite and on PostgreSQL.

Afterwards: one non-voided collection per worker, ``packages_given`` equals the number of
collections and never passes ``packages_total``, each package handed over at most once (by the
desk whose answer said so), and every call got an answer.
"""

from __future__ import annotations

import http.cookiejar
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from contextlib import nullcontext
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from factories import make_coverage, make_distribution, make_staff, make_worker
from kiosk import distribution as dist
from kiosk.database import one_connection
from kiosk.distribution import ClaimResult, Handover, HandoverResult, Outcome
from kiosk.extensions import db
from kiosk.models import AuditEvent, ClaimRequest, Collection, Distribution, Staff

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 11, 20)
THREADS = 16


def covered_workers(n: int) -> list[int]:
    ids = []
    for _ in range(n):
        worker = make_worker()
        make_coverage(worker, start=DAY - timedelta(days=10), end=DAY + timedelta(days=80))
        ids.append(worker.id)
    return ids


def check_invariants(distribution_id: int, packages: int) -> list[Collection]:
    db.session.rollback()  # end any read snapshot taken before the threads ran
    rows = db.session.scalars(
        select(Collection).where(Collection.distribution_id == distribution_id, Collection.voided_at.is_(None))
    ).all()
    per_worker = Counter(r.worker_id for r in rows)
    assert not [w for w, n in per_worker.items() if n > 1], "a worker collected twice"
    distribution = db.session.get(Distribution, distribution_id)
    assert distribution.packages_given == len(rows) <= packages
    assert len({r.seq for r in rows}) == len(rows)
    return rows


def run_threads(app, jobs_per_thread: list[list[dict]], distribution_id: int, *, held: bool = False) -> list:
    """Run each list of claims in its own thread with its own app context; collect every answer
    (or the exception raised). ``held``: each claim on one connection, as AMBIL runs it
    (``database.one_connection``: a lost race's retry reads and writes again on it)."""
    barrier = threading.Barrier(len(jobs_per_thread))
    answers: list = []
    lock = threading.Lock()

    def work(jobs):
        mine = []
        with app.app_context():
            barrier.wait(timeout=30)
            for job in jobs:
                try:
                    with one_connection() if held else nullcontext():
                        mine.append((job, dist.claim(distribution_id, **job)))
                except Exception as exc:  # noqa: BLE001 - the test reports any failure
                    mine.append((job, exc))
            db.session.remove()
        with lock:
            answers.extend(mine)

    with ThreadPoolExecutor(max_workers=len(jobs_per_thread)) as pool:
        list(pool.map(work, jobs_per_thread))
    return answers


@pytest.mark.parametrize("seed, held", [(1, False), (2, True)])
def test_threads_claim_exactly_once(engine_app, seed, held):
    """16 threads, 60 claimants for 40 packages, each worker scanned 2-4 times at different
    stations, some scans retried with the same request id; each claim on connections of its
    own, or on one (``held``, as AMBIL)."""
    rng = random.Random(seed)
    packages = 40
    distribution_id = make_distribution(packages=packages, day=DAY).id
    workers = covered_workers(60)
    scans = []
    for worker_id in workers:
        for _ in range(rng.randint(2, 4)):
            scans.append({"worker_id": worker_id, "request_id": uuid.uuid4().hex,
                          "station": f"Kiosk {rng.randint(1, 4)}"})
    scans += [dict(s) for s in rng.sample(scans, 30)]  # retries of the same scan
    rng.shuffle(scans)
    jobs = [scans[i::THREADS] for i in range(THREADS)]

    answers = run_threads(engine_app, jobs, distribution_id, held=held)

    assert len(answers) == len(scans)
    failures = [(job, a) for job, a in answers if not isinstance(a, ClaimResult)]
    assert not failures, failures[:3]
    rows = check_invariants(distribution_id, packages)
    assert len(rows) == packages  # more claimants than packages: all were handed out
    fresh_successes = [a for _, a in answers if a.outcome is Outcome.COLLECTED and not a.replayed]
    assert len(fresh_successes) == packages
    assert sorted(a.seq for a in fresh_successes) == list(range(1, packages + 1))
    # Every answer for one request id is the same answer.
    by_request: dict[str, set] = {}
    for job, a in answers:
        by_request.setdefault(job["request_id"], set()).add((a.outcome, a.collection_id))
    assert all(len(v) == 1 for v in by_request.values())
    # Winners got COLLECTED once; everyone else a reason.
    outcomes = Counter(a.outcome for _, a in answers)
    assert set(outcomes) <= {Outcome.COLLECTED, Outcome.ALREADY_COLLECTED, Outcome.SOLD_OUT}
    assert db.session.scalar(select(func.count()).select_from(ClaimRequest)) == len(by_request)


def test_same_request_id_from_many_threads(engine_app):
    """A burst of retries of one scan: one collection, the same answer everywhere."""
    distribution_id = make_distribution(packages=5, day=DAY).id
    (worker_id,) = covered_workers(1)
    request_id = uuid.uuid4().hex
    jobs = [[{"worker_id": worker_id, "request_id": request_id, "station": f"Kiosk {i}"}] for i in range(THREADS)]
    answers = run_threads(engine_app, jobs, distribution_id)
    results = [a for _, a in answers]
    assert all(isinstance(a, ClaimResult) for a in results), results
    assert {(a.outcome, a.collection_id, a.seq) for a in results} == {(Outcome.COLLECTED, results[0].collection_id, 1)}
    assert sum(not a.replayed for a in results) == 1
    check_invariants(distribution_id, 5)


def test_claims_racing_a_void_and_a_close(engine_app):
    """Voids and the close-out land between claims without breaking the count."""
    admin_id = make_staff(role="admin").id
    distribution_id = make_distribution(packages=10, day=DAY).id  # plain ids: objects stay in this thread
    workers = covered_workers(12)
    first = [dist.claim(distribution_id, w, request_id=uuid.uuid4().hex) for w in workers[:4]]
    claim_jobs = [[{"worker_id": w, "request_id": uuid.uuid4().hex}] for w in workers[4:]]
    barrier = threading.Barrier(len(claim_jobs) + 2)
    errors: list = []

    def voider():
        with engine_app.app_context():
            barrier.wait(timeout=30)
            try:
                for result in first[:2]:
                    dist.void(result.collection_id, staff=db.session.get(Staff, admin_id), reason="uji")
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            db.session.remove()

    def claimer(jobs):
        with engine_app.app_context():
            barrier.wait(timeout=30)
            for job in jobs:
                try:
                    dist.claim(distribution_id, **job)
                except Exception as exc:  # noqa: BLE001
                    errors.append(exc)
            db.session.remove()

    def closer():
        with engine_app.app_context():
            barrier.wait(timeout=30)
            time.sleep(0.05)
            try:
                dist.close_distribution(distribution_id, staff=None, unhanded="keep")
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            db.session.remove()

    threads = [threading.Thread(target=voider), threading.Thread(target=closer)]
    threads += [threading.Thread(target=claimer, args=(jobs,)) for jobs in claim_jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    rows = check_invariants(distribution_id, 10)
    report = db.session.get(Distribution, distribution_id).frozen_report
    # The frozen report is exactly what the database holds after the close (nothing was handed
    # over: every claim is listed apart, as claimed but not handed over).
    assert report["recipients"] == []
    assert sorted(r["seq"] for r in report["claimed_not_handed_over"]) == sorted(r.seq for r in rows)


def test_desks_hand_over_each_package_exactly_once(engine_app):
    """8 desks in 16 threads all try to hand over the same 30 kiosk claims (each in its own
    order, some taps sent twice): each package is handed over once, by the desk told so."""
    rng = random.Random(3)
    distribution_id = make_distribution(packages=30, day=DAY).id
    collection_ids = [dist.claim(distribution_id, w, request_id=uuid.uuid4().hex, station="Kios 1").collection_id
                      for w in covered_workers(30)]
    desks = [make_staff().id for _ in range(8)]
    jobs_per_thread = []
    for i in range(THREADS):
        jobs = [{"collection_id": c, "staff_id": desks[i % len(desks)], "request_id": uuid.uuid4().hex}
                for c in rng.sample(collection_ids, len(collection_ids))]
        jobs += [dict(j) for j in rng.sample(jobs, 5)]  # a double tap: the same request again
        rng.shuffle(jobs)
        jobs_per_thread.append(jobs)
    barrier = threading.Barrier(THREADS)
    answers: list = []
    lock = threading.Lock()

    def desk(jobs):
        mine = []
        with engine_app.app_context():
            barrier.wait(timeout=30)
            for job in jobs:
                try:
                    staff = db.session.get(Staff, job["staff_id"])
                    mine.append((job, dist.hand_over(job["collection_id"], staff=staff, request_id=job["request_id"])))
                except Exception as exc:  # noqa: BLE001 - the test reports any failure
                    mine.append((job, exc))
            db.session.remove()
        with lock:
            answers.extend(mine)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(desk, jobs_per_thread))

    failures = [(job, a) for job, a in answers if not isinstance(a, HandoverResult)]
    assert not failures, failures[:3]
    assert {a.outcome for _, a in answers} == {Handover.HANDED_OVER, Handover.ALREADY_HANDED_OVER}
    winners = {a.collection_id: job for job, a in answers if a.ok and not a.replayed}
    assert sorted(winners) == sorted(collection_ids)  # each once, none twice
    assert sum(a.ok and not a.replayed for _, a in answers) == len(collection_ids)
    # A replayed answer belongs to the request that won; everyone else was told who was first.
    for job, a in answers:
        if a.replayed:
            assert winners[a.collection_id]["request_id"] == job["request_id"]
    db.session.rollback()
    rows = db.session.scalars(select(Collection).where(Collection.distribution_id == distribution_id)).all()
    for row in rows:
        assert row.handed_over_by_id == winners[row.id]["staff_id"]
        assert row.handover_request_id == winners[row.id]["request_id"]
    events = db.session.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.action == "collection.hand_over"))
    assert events == len(collection_ids)
    check_invariants(distribution_id, 30)


def test_handovers_racing_claims_and_a_close(engine_app):
    """Kiosks claim, desks hand over and an admin closes, all at once: a handover either lands
    before the close (and is in its frozen report) or is told the distribution is closed."""
    distribution_id = make_distribution(packages=40, day=DAY).id
    early = [dist.claim(distribution_id, w, request_id=uuid.uuid4().hex).collection_id for w in covered_workers(20)]
    late_workers = covered_workers(12)
    desk_ids = [make_staff().id for _ in range(4)]
    barrier = threading.Barrier(len(desk_ids) + 3 + 1)
    answers: list = []
    errors: list = []
    lock = threading.Lock()

    def desk(i):
        with engine_app.app_context():
            barrier.wait(timeout=30)
            staff = db.session.get(Staff, desk_ids[i])
            for collection_id in early[i::len(desk_ids)] + early[::-1]:
                try:
                    answer = dist.hand_over(collection_id, staff=staff, request_id=uuid.uuid4().hex)
                    with lock:
                        answers.append(answer)
                except Exception as exc:  # noqa: BLE001
                    errors.append(exc)
            db.session.remove()

    def kiosk(workers):
        with engine_app.app_context():
            barrier.wait(timeout=30)
            for w in workers:
                try:
                    dist.claim(distribution_id, w, request_id=uuid.uuid4().hex)
                except Exception as exc:  # noqa: BLE001
                    errors.append(exc)
            db.session.remove()

    def closer():
        with engine_app.app_context():
            barrier.wait(timeout=30)
            time.sleep(0.05)
            try:
                dist.close_distribution(distribution_id, staff=None, unhanded="keep")
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            db.session.remove()

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(len(desk_ids))]
    threads += [threading.Thread(target=kiosk, args=(late_workers[i::3],)) for i in range(3)]
    threads.append(threading.Thread(target=closer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    rows = check_invariants(distribution_id, 40)
    handed = {r.id for r in rows if r.handed_over_at is not None}
    assert handed == {a.collection_id for a in answers if a.ok}
    assert all(a.outcome in (Handover.HANDED_OVER, Handover.ALREADY_HANDED_OVER, Handover.NOT_OPEN) for a in answers)
    distribution = db.session.get(Distribution, distribution_id)
    assert distribution.status == "closed"
    report = distribution.frozen_report
    assert sorted(r["seq"] for r in report["recipients"]) == sorted(r.seq for r in rows if r.id in handed)


# ---- several real server processes -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browserless:
    """A tiny HTTP client with its own cookie jar: signs in, reads the CSRF token, posts forms."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def request(self, path: str, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def csrf(self, path: str) -> str:
        status, html = self.request(path)
        assert status == 200, (path, status, html[:300])
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)

    def sign_in(self, username: str, password: str) -> None:
        token = self.csrf("/masuk")
        status, _ = self.request("/masuk", {"username": username, "password": password, "csrf_token": token})
        assert status == 302


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def wait_until_up(port: int, proc: subprocess.Popen, log_path: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/masuk", timeout=5):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer: a worker is serving
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def test_several_server_processes(engine_app, tmp_path):
    """gunicorn with 3 worker processes (the project's gunicorn.conf.py: gthread workers, so
    threads inside processes) on the test's database; 16 threads post claims at the desk over
    HTTP (duplicates across stations, more claimants than packages)."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    if not gunicorn.exists():
        pytest.skip("gunicorn is not installed")
    packages = 25
    password = "rahasia-123"
    staff = [make_staff(role="petugas", password=password) for _ in range(2)]
    make_staff(role="admin")
    d = make_distribution(packages=packages, day=DAY)
    workers = covered_workers(35)
    distribution_id = d.id
    usernames = [s.username for s in staff]
    url = engine_app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()

    port = free_port()
    env = dict(os.environ, KIOSK_INSTANCE_PATH=engine_app.instance_path, DATABASE_URL=url,
               KIOSK_LOGIN_LIMIT_PER_USER="1000 per minute", KIOSK_LOGIN_LIMIT_PER_ADDRESS="1000 per minute")
    log_path = tmp_path / "gunicorn.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        # --preload: the app is imported once, then forked (three imports in parallel on a
        # small CI machine take longer than the whole test).
        [str(gunicorn), "-w", "3", "-b", f"127.0.0.1:{port}", "--timeout", "60", "--preload",
         "--no-control-socket", "--graceful-timeout", "5", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
    )
    try:
        wait_until_up(port, proc, log_path, time.monotonic() + 60)
        base = f"http://127.0.0.1:{port}"
        clients = []
        for name in usernames:
            c = Browserless(base)
            c.sign_in(name, password)
            c.token = c.csrf(f"/penyaluran/{distribution_id}/meja")
            clients.append(c)

        rng = random.Random(7)
        posts = []
        for worker_id in workers:
            for _ in range(rng.randint(2, 3)):
                posts.append({"worker_id": worker_id, "request_id": uuid.uuid4().hex})
        posts += [dict(p) for p in rng.sample(posts, 10)]
        rng.shuffle(posts)

        def post(i_and_form):
            i, form = i_and_form
            client = clients[i % len(clients)]
            return form, client.request(
                f"/penyaluran/{distribution_id}/meja/serahkan",
                {**form, "csrf_token": client.token},
                {"HX-Request": "true", "HX-Target": "desk-result"},
            )

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            answers = list(pool.map(post, enumerate(posts)))
    finally:
        proc.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            # The workers are gone by now; the master can linger over its own timers.
            proc.kill()
            proc.wait(5)
        log.close()

    statuses = Counter(status for _, (status, _) in answers)
    assert statuses == Counter({200: len(posts)}), statuses
    bodies = [body for _, (_, body) in answers]
    assert not [b for b in bodies if "locked" in b.lower()]
    fresh = [b for b in bodies if 'data-outcome="collected"' in b and "data-replayed" not in b]
    assert len(fresh) == packages
    assert all('data-outcome="' in b for b in bodies)
    check_invariants(distribution_id, packages)
    assert len(check_invariants(distribution_id, packages)) == packages
