"""Durability: what ``synchronous = FULL`` (the app's setting, kiosk/database.py) costs a claim and
an enrollment on SQLite, against ``NORMAL`` (what it ran with before), measured side by side.

Two identical instances (same workers, an open distribution, a paired collect kiosk), one app
on each; the NORMAL one gets an extra connect listener that lowers the pragma after the app's own
(the app has no switch for it). Each op is the domain call the view makes, in-process (no HTTP,
one station, no contention): ``kiosk.distribution.claim`` for AMBIL, and
``kiosk.enrollment.enroll`` of a new worker with their first coverage period. Rounds alternate
FULL and NORMAL so that a busy moment of the shared machine falls on both; figures are medians
over every op of every round. Then the same claims from ``STATIONS`` threads at once (in-process,
so the write lock is contended, as on a busy distribution day): claims per second, since FULL's
fsync happens while the lock is held.

What FULL adds is one fsync of the WAL per commit (NORMAL syncs only at checkpoints); how much that
costs depends on the disk more than on anything else — the figures are for this machine's disk.
"""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import timedelta

from . import dataset
from .common import BenchResult, Context, median, percentile, ratio

MODES = ("FULL", "NORMAL")
STATIONS = 8


def _app(ctx: Context, mode: str, workers: int, packages: int):
    from sqlalchemy import event

    from kiosk import create_app
    from kiosk.extensions import db

    instance = dataset.make_instance(ctx, f"durability-{mode.lower()}")
    path = instance / "kiosk.sqlite3"
    dataset.load_sqlite(path, workers, dataset.key_ring(instance).current_id)
    distribution = dataset.add_distribution_sqlite(path, packages=packages)
    device_id = dataset.add_device_sqlite(path, "Meja 1", secrets.token_urlsafe(16), mode="collect",
                                          distribution_id=distribution)
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": dataset.DESK_SECRET,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        if mode != "FULL":
            event.listen(db.engine, "connect",
                         lambda conn, _rec: conn.execute(f"PRAGMA synchronous = {mode}"))
        db.engine.dispose()  # connections made from now on get the listener
        with db.engine.connect() as conn:
            level = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    expected = {"FULL": 2, "NORMAL": 1}[mode]
    if level != expected:
        raise RuntimeError(f"{mode} app runs with PRAGMA synchronous = {level}")
    return app, distribution, device_id


def _enroll_clean(nik_maker, n: int) -> tuple[dict, dict]:
    from kiosk.coverage import today_jakarta

    nik, sex, birth = nik_maker(n)
    clean = {"nik": nik, "name": f"Pekerja Baru {n}", "sex": sex, "birth_date": birth,
             "birth_place": "Muara Enim", "address": f"Jl. Bench No. {n}", "kecamatan_code": nik[:6],
             "desa_name": "", "occupation": "Petani", "phone": None, "income": 1_500_000}
    start = today_jakarta()
    coverage = {"start": start, "end": start + timedelta(days=90), "programmes": ("JKK", "JKM"),
                "funder": "Pemkab Muara Enim"}
    return clean, coverage


def _contended(app, distribution: int, device_id: int, first: int, burst: int) -> tuple[float, int]:
    """``STATIONS`` threads claiming ``burst`` workers each at once; (claims/s, collected)."""
    import threading

    from kiosk.distribution import Outcome, claim
    from kiosk.extensions import db

    collected = []
    start = threading.Barrier(STATIONS + 1)

    def station(n: int) -> None:
        with app.app_context():
            device = dataset.kiosk_device(device_id)
            start.wait()
            got = 0
            for i in range(burst):
                w = first + n * burst + i
                answer = claim(distribution, w, request_id=uuid.uuid4().hex, card_id=w, device=device,
                               station=device.name)
                got += answer.outcome is Outcome.COLLECTED
            collected.append(got)
            db.session.remove()

    threads = [threading.Thread(target=station, args=(n,)) for n in range(STATIONS)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return STATIONS * burst / elapsed, sum(collected)


def _fsync_ms(folder, count: int) -> list[float]:
    """Append 4 kB to a file and fsync it, ``count`` times: the disk's own price of FULL."""
    import os

    path = folder / "fsync-probe"
    out = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(count):
            os.write(fd, b"x" * 4096)
            t0 = time.perf_counter()
            os.fsync(fd)
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return out


def run(ctx: Context) -> BenchResult:
    from kiosk.distribution import Outcome, claim
    from kiosk.enrollment import enroll
    from kiosk.extensions import db

    result = BenchResult("durability")
    rounds = ctx.size(6, 2)
    per_round = ctx.size(40, 10)
    burst = ctx.size(25, 5)  # claims per station per contended round
    workers = rounds * (per_round + STATIONS * burst) + 10
    apps = {mode: _app(ctx, mode, workers, workers) for mode in MODES}
    nik_maker = dataset.NikMaker()
    times: dict[tuple[str, str], list[float]] = {(m, op): [] for m in MODES for op in ("claim", "enroll")}
    claimed = {m: 0 for m in MODES}
    rates: dict[str, list[float]] = {m: [] for m in MODES}
    next_worker = {m: 1 for m in MODES}
    next_enrol = {m: workers + 100 for m in MODES}
    for _round in range(rounds):
        for mode in MODES:
            app, distribution, device_id = apps[mode]
            with app.app_context():
                device = dataset.kiosk_device(device_id)
                for _ in range(per_round):
                    w = next_worker[mode]
                    next_worker[mode] += 1
                    t0 = time.perf_counter()
                    answer = claim(distribution, w, request_id=uuid.uuid4().hex, card_id=w, device=device,
                                   station=device.name)
                    times[(mode, "claim")].append((time.perf_counter() - t0) * 1000)
                    claimed[mode] += answer.outcome is Outcome.COLLECTED
                for _ in range(per_round):
                    clean, coverage = _enroll_clean(nik_maker, next_enrol[mode])
                    next_enrol[mode] += 1
                    t0 = time.perf_counter()
                    enroll(clean, staff=None, coverage=coverage)
                    times[(mode, "enroll")].append((time.perf_counter() - t0) * 1000)
                db.session.remove()
            first = next_worker[mode]
            next_worker[mode] += STATIONS * burst
            rate, collected = _contended(app, distribution, device_id, first, burst)
            rates[mode].append(rate)
            claimed[mode] += collected
    for mode in MODES:
        app = apps[mode][0]
        with app.app_context():
            db.engine.dispose()
    ops = rounds * per_round
    result.raw = {"rounds": rounds, "per_round": per_round, "stations": STATIONS, "burst": burst,
                  "claimed": claimed, "claims_per_s": rates,
                  "ms": {f"{m}/{op}": v for (m, op), v in times.items()}}
    for op, label in (("claim", "one claim"), ("enroll", "one enrollment with its coverage")):
        full, normal = (median(times[(m, op)]) for m in MODES)
        for mode, p50 in (("FULL", full), ("NORMAL", normal)):
            result.add(f"{label}, SQLite synchronous={mode}: p50", p50, "ms",
                       note=f"p90 {percentile(times[(mode, op)], 90):.2f} ms; {ops} ops in {rounds} alternating rounds")
        share = ratio(full, normal)
        result.add(f"{label}: FULL ÷ NORMAL (p50)", share, "×",
                   note=f"FULL adds {full - normal:+.2f} ms per {op} (one WAL fsync per commit)" if share else "")
    full, normal = median(rates["FULL"]), median(rates["NORMAL"])
    for mode, rate in (("FULL", full), ("NORMAL", normal)):
        result.add(f"{STATIONS} stations claiming at once, synchronous={mode}", rate, "claims/s",
                   note=f"median of {rounds} rounds of {STATIONS} × {burst} claims (threads, in-process)")
    share = ratio(full, normal)
    result.add(f"{STATIONS} stations: FULL ÷ NORMAL (claims/s)", share * 100 if share else None, "%")
    expected = ops + rounds * STATIONS * burst
    syncs = _fsync_ms(ctx.work, ctx.size(200, 20))
    result.raw["fsync_ms"] = syncs
    result.add("this disk: one fsync of 4 kB appended: p50", median(syncs), "ms",
               note=f"p90 {percentile(syncs, 90):.2f} ms; the work folder's file system")
    if claimed["FULL"] != expected or claimed["NORMAL"] != expected:
        result.add("claims answered 'collected'", f"{claimed}", goal=f"{expected} each", met=False)
    return result
