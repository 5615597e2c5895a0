"""Scan: the kiosk's scan endpoint (POST /kiosk/pindai, htmx, aimed at the result panel) served
by gunicorn as in production (gunicorn.conf.py: 2 workers, gthread), with 10,000 and 1,000,000
enrolled workers, under 1, 4 and 16 keep-alive clients; against the ceiling (bench/ceiling.py: a
bare Flask route answering a fragment of the same size, same server settings).

Each scan is the whole path: token signature, card + worker lookup, coverage, the sembako status
of an open distribution (the device is a "collect" kiosk), the claim ticket and the fragment.
Cards are drawn at random from the whole population. Targets are measured in interleaved rounds
(ceiling, 10k, 1M, ceiling, ...) so that the shared machine's drift hits them alike; the figure of
a target is the median over its rounds.

Beside them, the app's **floor** (bench/floor.py): the same app and requests, the scan's view
answering at once with the ceiling's fragment. Floor ÷ ceiling is the best ratio any scan could
reach on this app's request handling (the device and form-token check, session, hooks, request
log, headers); the scan between the two is its own work.

Also here, because it needs the same server: memory, the peak RSS (VmHWM) of each server worker
after at least 10,000 scans (on the largest population).
"""

from __future__ import annotations

import random
import secrets
import time

from . import dataset
from .common import BenchResult, Conn, Context, Gunicorn, build_request, median, ratio, run_load, vm_hwm_kib
from .kiosk_client import CSRF_FIELD, KioskSession, open_session, panel_state

CONCURRENCY = (1, 4, 16)
SAMPLE_TOKENS = 4096
MEMORY_SCANS = 10_000  # quick: 1,000
GOAL_RATIO = 0.5
FLAT_TOLERANCE = 1.25  # "flat": p50 at the largest population within +25 % of the smallest
PG_SIZE = 10_000  # the same scans on PostgreSQL (the population's size is SQLite's to show)


class ScanTarget:
    """One server to load: the app on a population, or the ceiling."""

    def __init__(self, label: str, server: Gunicorn, request_for, check):
        self.label = label
        self.server = server
        self.request_for = request_for  # (client, i) -> bytes, after setup
        self.check = check
        self.sent = 0


def _prepare_population(ctx: Context, count: int) -> dict:
    instance = dataset.make_instance(ctx, f"scan-{count}")
    ring = dataset.key_ring(instance)
    ctx.log(f"scan: loading {count:,} workers")
    phases = dataset.load_sqlite(instance / "kiosk.sqlite3", count, ring.current_id)
    ctx.log(f"scan: loaded {count:,} workers in {phases['total']:.1f} s")
    db = instance / "kiosk.sqlite3"
    distribution = dataset.add_distribution_sqlite(db, packages=count)
    credential = secrets.token_urlsafe(32)
    dataset.add_device_sqlite(db, "Kiosk Aula 1", credential, mode="collect", distribution_id=distribution)
    rng = random.Random(count)
    ids = [rng.randint(1, count) for _ in range(SAMPLE_TOKENS)]
    return {
        "instance": instance, "count": count, "credential": credential, "load": phases,
        "tokens": dataset.tokens_for(instance, ids),
    }


def _prepare_pg_population(ctx: Context, count: int) -> dict:
    """The same population on PostgreSQL (its own database, dropped by ``run``)."""
    import uuid

    pg = dataset.PgDatabase(f"kiosk_bench_{uuid.uuid4().hex[:8]}").__enter__()
    try:
        instance = dataset.make_instance(ctx, f"scan-pg-{count}", sqlite=False)
        ring = dataset.key_ring(instance)
        dataset.migrate(instance, pg.sqlalchemy_url)
        ctx.log(f"scan: loading {count:,} workers into PostgreSQL")
        seconds = dataset.load_postgres(pg.url, count, ring.current_id)
        distribution = dataset.add_distribution_pg(pg.url, count)
        credential = secrets.token_urlsafe(32)
        dataset.add_device_pg(pg.url, "Kiosk Aula 1", credential, mode="collect", distribution_id=distribution)
    except BaseException:
        pg.__exit__(None, None, None)  # never leave our database behind
        raise
    rng = random.Random(count)
    ids = [rng.randint(1, count) for _ in range(SAMPLE_TOKENS)]
    return {
        "instance": instance, "count": count, "credential": credential, "load": {"total": seconds},
        "tokens": dataset.tokens_for(instance, ids), "pg": pg, "label": f"PostgreSQL {count:,}",
    }


def _app_target(ctx: Context, population: dict, *, floor_size: int | None = None) -> ScanTarget:
    """The app on ``population``, scanned as a paired kiosk scans; with ``floor_size``, the app's
    floor (``bench/floor.py``: the scan's view answering at once with that many bytes) on it."""
    pg = population.get("pg")
    name = f"scan-pg-{population['count']}" if pg else f"scan-{population['count']}"
    app, path, label = "wsgi:app", "/kiosk/pindai", population.get("label") or f"{population['count']:,}"
    if floor_size is not None:
        app, path, label, name = "bench.floor:app", f"/kiosk/pindai?bytes={floor_size}", "floor", "floor-scan"
    server = Gunicorn(app, dataset.server_env(population["instance"], pg.url if pg else None),
                      ctx.work / "logs" / f"{name}.log").start()
    sessions: dict[int, KioskSession] = {}
    tokens = population["tokens"]

    def setup(n: int, conn: Conn) -> None:
        sessions[n] = open_session(conn, population["credential"])

    def request_for(n: int, i: int) -> bytes:
        return sessions[n].post(path, {"code": tokens[(n * 7919 + i) % len(tokens)]})

    def check(status: int, _headers: dict, body: bytes) -> str | None:
        if status != 200:
            return f"HTTP {status}"
        state = panel_state(body)
        return None if state == "result" else f"panel state {state!r}"

    target = ScanTarget(label, server, request_for, check)
    target.setup = setup
    return target


def _ceiling_target(ctx: Context, size: int) -> ScanTarget:
    server = Gunicorn("bench.ceiling:app", {}, ctx.work / "logs" / "ceiling-scan.log").start()
    body = b"code=" + b"K" * 26

    def request_for(n: int, i: int) -> bytes:
        return build_request("POST", f"/kiosk/pindai?bytes={size}", server.port, {
            "HX-Request": "true", "HX-Target": "scan-result",
            "Content-Type": "application/x-www-form-urlencoded"}, body)

    def check(status: int, _headers: dict, _body: bytes) -> str | None:
        return None if status == 200 else f"HTTP {status}"

    target = ScanTarget("ceiling", server, request_for, check)
    target.setup = None
    return target


def _probe_size(target: ScanTarget) -> int:
    """The median byte size of the scan answer (the ceiling answers as much)."""
    conn = Conn(target.server.port)
    try:
        target.setup(0, conn)
        sizes = []
        for i in range(21):
            status, _h, body = conn.request(target.request_for(0, i))
            if status != 200 or panel_state(body) != "result":
                raise RuntimeError(f"scan answered {status} / {panel_state(body)!r}: {body[:300]!r}")
            sizes.append(len(body))
        target.sent += 21
        return int(median(sizes))
    finally:
        conn.close()


def inprocess_profile(population: dict, scans: int = 60) -> dict:
    """The scan without HTTP or gunicorn (Flask's test client, this process): SQL statements per
    scan and the median time of the view, to tell the app's own cost from the server's."""
    from sqlalchemy import event

    from kiosk import create_app
    from kiosk.extensions import db

    app = create_app({"INSTANCE_PATH": str(population["instance"]), "SECRET_KEY": dataset.DESK_SECRET,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{population['instance'] / 'kiosk.sqlite3'}"})
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    # Counted at the driver (SQLite's trace callback on every connection the pool hands out):
    # the scan runs its statement straight on the driver (kiosk.database.read_alone).
    event.listen(engine, "checkout", lambda dbapi_conn, *_a: dbapi_conn.set_trace_callback(statements.append))
    event.listen(engine, "checkin", lambda dbapi_conn, *_a: dbapi_conn.set_trace_callback(None))
    client = app.test_client()
    client.set_cookie("kiosk_device", population["credential"])
    page = client.get("/kiosk/")
    csrf = CSRF_FIELD.search(page.data).group(1).decode()
    headers = {"X-CSRFToken": csrf, "HX-Request": "true", "HX-Target": "scan-result"}
    tokens = population["tokens"]
    times, cpu = [], []
    for i in range(scans + 5):
        statements.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.post("/kiosk/pindai", data={"code": tokens[i % len(tokens)]}, headers=headers)
        took, used = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"in-process scan answered {response.status_code}")
        if i >= 5:
            times.append(took)
            cpu.append(used)
    kinds = [" ".join(sql.split()[:1]).upper() for sql in statements]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return {"ms_p50": median(times), "cpu_ms_p50": median(cpu), "statements_per_scan": len(statements),
            "statements": [" ".join(sql.split())[:120] for sql in statements], "kinds": kinds}


def _count_instructions(ctx: Context, result: BenchResult, raw: dict, population: dict) -> None:
    """Instructions per scan in-process, the app's and the ceiling's (``bench.instructions``):
    the figure that does not move with the machine. After the timed rounds (valgrind takes both
    cores for about a minute)."""
    from . import instructions

    why = instructions.available()
    if why is not None:
        result.add("instructions per scan, in-process", "not measured", note=why)
        return
    try:
        scans = ctx.size(instructions.SCANS, 100)
        app = instructions.per_scan(population, "app", ctx.work, scans)
        floor = instructions.per_scan(population, "floor", ctx.work, scans)
        ceiling = instructions.per_scan(population, "ceiling", ctx.work, scans)
    except Exception as error:  # noqa: BLE001 - a diagnostic only
        raw["instructions_error"] = repr(error)
        result.add("instructions per scan, in-process", "not measured", note=repr(error)[:200])
        return
    raw["instructions"] = {"app": app, "floor": floor, "ceiling": ceiling, "scans": scans}
    result.add("instructions per scan, in-process (valgrind)", app / 1e6, "M",
               note=f"ceiling {ceiling / 1e6:.2f} M, app ÷ ceiling {app / ceiling:.2f} ×; the same on any "
                    f"machine (no HTTP: gunicorn adds the same to both); {population['count']:,} workers")
    result.add("instructions per scan, the view answering at once (the app's floor)", floor / 1e6, "M",
               note=f"floor ÷ ceiling {floor / ceiling:.2f} ×: the device and form-token check, session, hooks, "
                    f"request log and headers around any scan; the scan's own work is app − floor = "
                    f"{(app - floor) / 1e6:.2f} M")
    ctx.log(f"scan: instructions per scan: app {app / 1e6:.3f} M, floor {floor / 1e6:.3f} M, "
            f"ceiling {ceiling / 1e6:.3f} M")


def run(ctx: Context) -> BenchResult:
    result = BenchResult("scan")
    sizes = (10_000, 1_000_000) if not ctx.quick else (10_000, 100_000)
    seconds = 1.0 if ctx.quick else 2.0
    rounds = 1 if ctx.quick else 3
    populations = [_prepare_population(ctx, n) for n in sizes]
    ctx.shared["scan_population"] = populations[0]  # the camera and page-weight benches reuse it
    pg_why = dataset.pg_available()
    pg_population = _prepare_pg_population(ctx, PG_SIZE) if pg_why is None else None
    targets: list[ScanTarget] = []
    try:
        apps = [_app_target(ctx, p) for p in populations]
        targets.extend(apps)
        size = _probe_size(apps[0])
        for app in apps[1:]:
            _probe_size(app)
        on_pg = []
        if pg_population is not None:
            on_pg = [_app_target(ctx, pg_population)]
            _probe_size(on_pg[0])
            targets.extend(on_pg)
        ceiling = _ceiling_target(ctx, size)
        targets.insert(0, ceiling)
        targets.insert(1, _app_target(ctx, populations[0], floor_size=size))  # each stopped at the end
        raw = {"fragment_bytes": size, "load_seconds": {t.label: p["load"] for t, p in
                                                         zip(apps + on_pg, populations + [pg_population])},
               "runs": []}
        figures: dict[tuple[str, int], list[dict]] = {}
        for clients in CONCURRENCY:
            for round_no in range(rounds):
                for target in targets:
                    report = run_load(
                        target.server.port, clients, target.request_for, target.check,
                        seconds=seconds, max_requests=20_000, warmup=5, setup=target.setup,
                        server_pids=target.server.worker_pids(),
                    )
                    target.sent += report.requests + 5 * clients
                    summary = {"target": target.label, "clients": clients, "round": round_no, **report.summary()}
                    raw["runs"].append(summary)
                    figures.setdefault((target.label, clients), []).append(summary)
                    ctx.log(f"scan: {target.label:>9} c={clients:<2} {summary['rps']:8.1f} req/s "
                            f"p50 {summary['p50_ms']:.2f} ms p99 {summary['p99_ms']:.2f} ms errors {summary['errors']}")

        def fig(label: str, clients: int, key: str) -> float | None:
            values = [s[key] for s in figures.get((label, clients), []) if s[key] is not None]
            return median(values)

        small, large = apps[0].label, apps[-1].label
        for clients in CONCURRENCY:
            ceil_rps = fig("ceiling", clients, "rps")
            result.add(f"ceiling, {clients} client{'s' if clients > 1 else ''}", ceil_rps, "req/s",
                       note=f"p50 {fig('ceiling', clients, 'p50_ms'):.2f} ms, p99 {fig('ceiling', clients, 'p99_ms'):.1f} ms")
            ceil_cpu = fig("ceiling", clients, "server_cpu_ms_per_request")
            floor_rps, floor_cpu = fig("floor", clients, "rps"), fig("floor", clients, "server_cpu_ms_per_request")
            floor_share = ratio(floor_rps, ceil_rps)
            result.add(f"the app's floor, {clients} client{'s' if clients > 1 else ''}: floor ÷ ceiling",
                       floor_share * 100 if floor_share else None, "%",
                       note=f"the scan's view answering at once, everything around it as served; {floor_rps:.0f} "
                            f"req/s" + (f"; server CPU {floor_cpu:.2f} ms per request" if floor_cpu is not None else ""))
            for app in apps + on_pg:
                rps = fig(app.label, clients, "rps")
                cpu = fig(app.label, clients, "server_cpu_ms_per_request")
                errors = sum(s["errors"] for s in figures[(app.label, clients)])
                share = ratio(rps, ceil_rps)
                result.add(f"{app.label} workers, {clients} client{'s' if clients > 1 else ''}: scan ÷ ceiling",
                           share * 100 if share else None, "%", goal="≥ 50 %",
                           met=None if share is None else (share >= GOAL_RATIO and not errors),
                           note=f"{rps:.0f} req/s, p50 {fig(app.label, clients, 'p50_ms'):.1f} ms, "
                                f"p99 {fig(app.label, clients, 'p99_ms'):.1f} ms"
                                + (f"; server CPU {cpu:.2f} ms per scan (ceiling {ceil_cpu:.2f})"
                                   if cpu is not None and ceil_cpu is not None else "")
                                + (f", {errors} errors" if errors else ""))
        for clients in CONCURRENCY:
            growth = ratio(fig(large, clients, "p50_ms"), fig(small, clients, "p50_ms"))
            result.add(f"p50 {large} ÷ p50 {small} workers, {clients} client{'s' if clients > 1 else ''}", growth, "×",
                       goal=f"flat (≤ {FLAT_TOLERANCE:.2f}×)", met=None if growth is None else growth <= FLAT_TOLERANCE)
        try:
            profile = inprocess_profile(populations[0])
            raw["inprocess"] = profile
            result.add("one scan in-process (no HTTP): p50", profile["ms_p50"] * 1000, "µs",
                       note=f"CPU p50 {profile['cpu_ms_p50'] * 1000:.0f} µs; Flask test client, "
                            f"{populations[0]['count']:,} workers")
            result.add("SQL statements per scan", profile["statements_per_scan"], "", goal="≤ 2",
                       met=profile["statements_per_scan"] <= 2,
                       note="; ".join(s.split(" FROM ")[0][:40] for s in profile["statements"]))
            cpus = [fig(app.label, c, "server_cpu_ms_per_request") for app in apps[:1] for c in CONCURRENCY]
            ceil_cpus = [fig("ceiling", c, "server_cpu_ms_per_request") for c in CONCURRENCY]
            if all(v is not None for v in cpus + ceil_cpus):
                result.add(f"server CPU per scan ({apps[0].label} workers, median over 1/4/16 clients)",
                           median(cpus), "ms", note=f"ceiling: {median(ceil_cpus):.2f} ms per request "
                           "(gunicorn workers' user+system CPU ÷ requests)")
        except Exception as error:  # noqa: BLE001 - a diagnostic only
            raw["inprocess_error"] = repr(error)
        _count_instructions(ctx, result, raw, {**populations[0], "fragment_bytes": size})
        if pg_why is not None:
            result.add("PostgreSQL", "not available", note=pg_why)
        raw["errors"] = sum(s["errors"] for s in raw["runs"])
        if raw["errors"]:
            samples = [e for s in raw["runs"] for e in s["error_samples"]][:5]
            result.add("scan errors", raw["errors"], "", goal="0", met=False, note="; ".join(samples))

        # Memory: top the largest population's server up to MEMORY_SCANS scans, then VmHWM.
        largest = apps[-1]
        wanted = ctx.size(MEMORY_SCANS, 1_000)
        extra = max(0, wanted - largest.sent)
        if extra:
            t0 = time.perf_counter()
            report = run_load(largest.server.port, 8, largest.request_for, largest.check,
                              seconds=ctx.size(90, 15), max_requests=extra, warmup=0, setup=largest.setup)
            largest.sent += report.requests
            ctx.log(f"memory: {report.requests} more scans in {time.perf_counter() - t0:.1f} s")
        peaks = {pid: vm_hwm_kib(pid) for pid in largest.server.worker_pids()}
        ceiling_peaks = {pid: vm_hwm_kib(pid) for pid in ceiling.server.worker_pids()}
        raw["memory"] = {"scans": largest.sent, "population": largest.label,
                         "worker_vmhwm_kib": peaks, "ceiling_worker_vmhwm_kib": ceiling_peaks}
        ctx.shared["memory"] = raw["memory"]
        known = [v for v in peaks.values() if v]
        short = "" if largest.sent >= wanted else f"; only {largest.sent:,} of {wanted:,} scans within the time bound"
        row = result.add(f"peak RSS of one server worker after {largest.sent:,} scans ({largest.label} workers)",
                         max(known) / 1024 if known else None, "MiB",
                         note="VmHWM, largest of the 2 workers; bare-Flask ceiling worker: "
                              + (f"{max(v for v in ceiling_peaks.values() if v) / 1024:.0f} MiB"
                                 if any(ceiling_peaks.values()) else "?") + short)
        row.bench = "memory"
        result.raw = raw
    finally:
        for target in targets:
            target.server.stop()
        if pg_population is not None:
            pg_population["pg"].__exit__(None, None, None)
    return result
