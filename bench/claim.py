"""Claim: 16 kiosk stations claiming sembako packages for 10,000 workers at once, with
duplicates mixed in, on SQLite and on PostgreSQL, through HTTP (gunicorn as in production).

Each station is a paired "collect" kiosk device (its own credential cookie and session) posting
AMBIL (``POST /kiosk/ambil``) with the claim ticket the scan screen would have given it. The
tickets are minted by the bench with the app's secret (the format of kiosk/terminal/views.py
``_claim_ticket``) instead of scanning 10,000 cards first; the first claim checks that the app
accepts them. What is timed is AMBIL alone: ticket check, ``kiosk.distribution.claim`` (one write
transaction: claim request, conditional UPDATE of the distribution, the collection, its audit
event) and the answer fragment.

Duplicates: a share of the workers is claimed a second time by another station at the same moment
(a race the database must settle), and a share of the claims is posted twice by the same station
(a double tap: same ticket, same request id, the stored answer again). Afterwards the database
must show exactly one collection per worker and ``packages_given`` equal to the number of workers.

The ceiling (bench/ceiling.py ``/claim``): the same requests against a bare Flask route doing one
indexed SELECT and one INSERT into a table with a unique index, same server, same database,
measured just before the app's load and again after it; the ratio is against their mean.

If the kiosk's AMBIL endpoint is missing, the bench calls ``kiosk.distribution.claim`` from 16
threads in-process instead and says so.
"""

from __future__ import annotations

import random
import secrets
import time
import uuid

from . import dataset
from .common import BenchResult, Conn, Context, Gunicorn, build_request, ratio, run_load
from .kiosk_client import KioskSession, open_session, panel_state, sembako_state

STATIONS = 16
RACE_SHARE = 0.10  # workers claimed by two stations at once
DOUBLE_TAP_SHARE = 0.02  # claims posted twice by the same station
GOAL_RATIO = 0.5


def schedule(count: int, seed: int = 7) -> list[list[tuple[int, str, bool]]]:
    """Per station, the claims it posts in order: (worker id, request id, is_repeat).

    Every worker is claimed once; RACE_SHARE of them also by the next station at the same
    position; DOUBLE_TAP_SHARE of the claims are posted again right away with the same request id."""
    rng = random.Random(seed)
    workers = list(range(1, count + 1))
    rng.shuffle(workers)
    plan: list[list[tuple[int, str, bool]]] = [[] for _ in range(STATIONS)]
    for pos, worker in enumerate(workers):
        station = pos % STATIONS
        request_id = uuid.UUID(int=rng.getrandbits(128)).hex
        plan[station].append((worker, request_id, False))
        if rng.random() < DOUBLE_TAP_SHARE:
            plan[station].append((worker, request_id, True))
        if rng.random() < RACE_SHARE:
            other = (station + 1) % STATIONS
            plan[other].append((worker, uuid.UUID(int=rng.getrandbits(128)).hex, True))
    return plan


def mint_ticket(worker_id: int, card_id: int, device_id: int, distribution_id: int, request_id: str) -> str:
    """A claim ticket as kiosk/terminal/views.py ``_claim_ticket`` makes it (kiosk.terminal.tickets)."""
    from kiosk.terminal import tickets

    return tickets.make(dataset.DESK_SECRET, "claim", worker_id, card_id, device_id, distribution_id, request_id)


class Engine:
    """One database engine's setup: loaded workers, an open distribution, 16 paired stations."""

    def __init__(self, ctx: Context, kind: str, count: int):
        self.ctx, self.kind, self.count = ctx, kind, count
        self.pg: dataset.PgDatabase | None = None
        self.instance = dataset.make_instance(ctx, f"claim-{kind}", sqlite=(kind == "sqlite"))
        self.key_id = dataset.key_ring(self.instance).current_id
        self.url: str | None = None  # SQLAlchemy URL of the database

    def __enter__(self) -> "Engine":
        ctx = self.ctx
        if self.kind == "sqlite":
            db = self.instance / "kiosk.sqlite3"
            self.load = dataset.load_sqlite(db, self.count, self.key_id)
            self.distribution = dataset.add_distribution_sqlite(db, packages=self.count)
            self.url = f"sqlite:///{db}"
            self.server_url = None
        else:
            self.pg = dataset.PgDatabase(f"kiosk_bench_{uuid.uuid4().hex[:8]}").__enter__()
            try:
                dataset.migrate(self.instance, self.pg.sqlalchemy_url)
                self.load = {"total": dataset.load_postgres(self.pg.url, self.count, self.key_id)}
                self.distribution = dataset.add_distribution_pg(self.pg.url, self.count)
            except BaseException:
                self.pg.__exit__(None, None, None)  # never leave our database behind
                raise
            self.url = self.pg.sqlalchemy_url
            self.server_url = self.pg.url
        ctx.log(f"claim/{self.kind}: {self.count:,} workers loaded in {self.load['total']:.1f} s")
        self.devices: list[tuple[int, str]] = []
        for n in range(STATIONS):
            credential = secrets.token_urlsafe(32)
            name = f"Meja {n + 1}"
            if self.kind == "sqlite":
                device_id = dataset.add_device_sqlite(self.instance / "kiosk.sqlite3", name, credential,
                                                      mode="collect", distribution_id=self.distribution)
            else:
                device_id = dataset.add_device_pg(self.pg.url, name, credential, mode="collect",
                                                  distribution_id=self.distribution)
            self.devices.append((device_id, credential))
        return self

    def __exit__(self, *exc) -> None:
        if self.pg is not None:
            self.pg.__exit__(*exc)

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql), params or {})]
        finally:
            engine.dispose()


def _verify(engine: Engine, expected: int | None) -> dict:
    """Exactly one non-voided collection per claimed worker, and the package count agrees."""
    d = engine.distribution
    total, distinct = engine.query(
        "SELECT count(*), count(DISTINCT worker_id) FROM collection WHERE distribution_id = :d AND voided_at IS NULL",
        {"d": d})[0]
    doubled = engine.query(
        "SELECT count(*) FROM (SELECT worker_id FROM collection WHERE distribution_id = :d AND voided_at IS NULL "
        "GROUP BY worker_id HAVING count(*) > 1) x", {"d": d})[0][0]
    given = engine.query("SELECT packages_given FROM distribution WHERE id = :d", {"d": d})[0][0]
    seqs = engine.query("SELECT count(DISTINCT seq), min(seq), max(seq) FROM collection WHERE distribution_id = :d",
                        {"d": d})[0]
    if expected is None:  # the time bound cut the run short: check what was claimed
        expected = distinct
    ok = total == distinct == given == expected and doubled == 0 and seqs[0] == total
    return {"collections": total, "distinct_workers": distinct, "workers_with_more_than_one": doubled,
            "packages_given": given, "expected": expected, "distinct_seq": seqs[0], "exactly_one_each": ok}


def _http_claims(engine: Engine, plan, seconds: float, before_load=None) -> tuple[dict, object]:
    """The claims over HTTP, after one probe; ``before_load(size)`` runs between the probe (which
    gives the answer's size in bytes) and the load."""
    env = dataset.server_env(engine.instance, engine.server_url)
    server = Gunicorn("wsgi:app", env, engine.ctx.work / "logs" / f"claim-{engine.kind}.log").start()
    try:
        sessions: dict[int, KioskSession] = {}
        requests: list[list[bytes]] = [[] for _ in range(STATIONS)]
        outcomes = {"collected": 0, "already": 0, "other": 0}

        def setup(n: int, conn: Conn) -> None:
            device_id, credential = engine.devices[n]
            session = sessions[n] = open_session(conn, credential)
            requests[n] = [
                session.post("/kiosk/ambil", {"ticket": mint_ticket(w, w, device_id, engine.distribution, r)})
                for w, r, _repeat in plan[n]
            ]

        def make(n: int, i: int) -> bytes | None:
            return requests[n][i] if i < len(requests[n]) else None

        def check(status: int, _headers, body: bytes, where) -> str | None:
            n, i = where
            if status != 200:
                return f"HTTP {status}"
            state = panel_state(body)
            if state == "collected":  # a new collection, or a double tap's stored answer again
                outcomes["collected"] += 1
                return None
            # The race's loser (another station, another request id) is told the package is
            # already claimed: "waiting" while it is not handed over yet (the bench never hands
            # over), "already" once it is (issue 14's screen; tests/test_scan_path.py).
            if state == "result" and sembako_state(body) in ("waiting", "already"):
                outcomes["already"] += 1
                return None
            outcomes["other"] += 1
            return f"panel {state!r} / sembako {sembako_state(body)!r}"

        # Probe: is the AMBIL endpoint there, and does it take our tickets?
        conn = Conn(server.port)
        try:
            device_id, credential = engine.devices[0]
            probe = open_session(conn, credential)
            w, r, _ = plan[0][0]
            status, _h, body = conn.request(probe.post(
                "/kiosk/ambil", {"ticket": mint_ticket(w, w, device_id, engine.distribution, r)}))
        finally:
            conn.close()
        if status == 404:
            return {"mode": "unavailable", "why": "POST /kiosk/ambil answered 404"}, None
        if status != 200 or panel_state(body) != "collected":
            return {"mode": "unavailable",
                    "why": f"AMBIL did not accept a bench ticket ({status}, {panel_state(body)!r}): the ticket "
                           "format of kiosk/terminal/views.py changed; update bench/claim.py mint_ticket"}, None
        # That probe claimed plan[0][0] for real: its own request id again is a replay, fine.
        if before_load is not None:
            before_load(len(body))
        total = sum(len(p) for p in plan)
        report = run_load(server.port, STATIONS, make, check, seconds=seconds, max_requests=total, setup=setup)
        return {"mode": "http", "outcomes": outcomes, "planned": total, "fragment_bytes": len(body)}, report
    finally:
        server.stop()


def _ceiling_claims(engine: Engine, plan, size: int, seconds: float):
    from .ceiling import create_claim_table

    create_claim_table(engine.url)
    server = Gunicorn("bench.ceiling:app", {"CEILING_DATABASE_URL": engine.url},
                      engine.ctx.work / "logs" / f"ceiling-claim-{engine.kind}.log").start()
    try:
        def make(n: int, i: int) -> bytes | None:
            if i >= len(plan[n]):
                return None
            w, r, _ = plan[n][i]
            body = f"worker={w}&station=Meja+{n + 1}&request={r}".encode()
            return build_request("POST", f"/claim?bytes={size}", server.port,
                                 {"Content-Type": "application/x-www-form-urlencoded"}, body)

        def check(status: int, _h, body: bytes) -> str | None:
            if status != 200:
                return f"HTTP {status}"
            return None if (b'data-state="collected"' in body or b'data-state="already"' in body) else "bad answer"

        total = sum(len(p) for p in plan)
        report = run_load(server.port, STATIONS, make, check, seconds=seconds, max_requests=total)
        rows = engine.query("SELECT count(*), count(DISTINCT worker_id) FROM ceiling_claim")[0]
        return report, {"rows": rows[0], "distinct_workers": rows[1]}
    finally:
        server.stop()


def _function_claims(engine: Engine, plan, seconds: float):
    """Fallback: kiosk.distribution.claim from 16 threads in this process (no HTTP)."""
    import threading

    from kiosk import create_app
    from kiosk.distribution import Outcome, claim
    from kiosk.extensions import db

    app = create_app({"INSTANCE_PATH": str(engine.instance), "SECRET_KEY": dataset.DESK_SECRET,
                      "SQLALCHEMY_DATABASE_URI": engine.url})
    latencies: list[float] = []
    errors: list[str] = []
    outcomes = {"collected": 0, "already": 0, "other": 0}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def station(n: int) -> None:
        with app.app_context():
            device = dataset.kiosk_device(engine.devices[n][0])
            for w, r, _repeat in plan[n]:
                if time.perf_counter() > deadline:
                    break
                t0 = time.perf_counter()
                try:
                    res = claim(engine.distribution, w, request_id=r, card_id=w, device=device, station=device.name)
                    key = "collected" if res.outcome is Outcome.COLLECTED else (
                        "already" if res.outcome is Outcome.ALREADY_COLLECTED else "other")
                    with lock:
                        outcomes[key] += 1
                        if key == "other":
                            errors.append(res.outcome.value)
                except Exception as error:  # noqa: BLE001
                    with lock:
                        errors.append(repr(error))
                with lock:
                    latencies.append((time.perf_counter() - t0) * 1000)
            db.session.remove()

    threads = [threading.Thread(target=station, args=(n,)) for n in range(STATIONS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    from .common import LoadReport

    return {"mode": "function", "outcomes": outcomes}, LoadReport(
        len(latencies), len(errors), time.perf_counter() - t0, latencies, errors[:20])


def inprocess_profile(ctx: Context, claims: int = 100) -> dict:
    """One station alone, no HTTP: ``kiosk.distribution.claim`` called in a loop on SQLite, with
    its SQL statements counted, to tell the claim's own cost from contention and the server's."""
    from sqlalchemy import event

    from kiosk import create_app
    from kiosk.distribution import claim
    from kiosk.extensions import db

    instance = dataset.make_instance(ctx, "claim-profile")
    path = instance / "kiosk.sqlite3"
    dataset.load_sqlite(path, claims + 10, dataset.key_ring(instance).current_id)
    distribution = dataset.add_distribution_sqlite(path, packages=claims + 10)
    device_id = dataset.add_device_sqlite(path, "Meja 1", secrets.token_urlsafe(16), mode="collect",
                                          distribution_id=distribution)
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": dataset.DESK_SECRET,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    statements: list[str] = []
    times = []
    with app.app_context():
        # Counted at the driver (SQLite's trace callback on every connection the pool hands out):
        # the claim runs its statements straight on the driver (kiosk.database.driver_write).
        event.listen(db.engine, "checkout", lambda dbapi_conn, *_a: dbapi_conn.set_trace_callback(statements.append))
        event.listen(db.engine, "checkin", lambda dbapi_conn, *_a: dbapi_conn.set_trace_callback(None))
        device = dataset.kiosk_device(device_id)
        for w in range(1, claims + 6):
            statements.clear()
            t0 = time.perf_counter()
            claim(distribution, w, request_id=uuid.uuid4().hex, card_id=w, device=device, station=device.name)
            if w > 5:
                times.append((time.perf_counter() - t0) * 1000)
        db.session.remove()
        db.engine.dispose()
    from .common import median

    begins = [i for i, sql in enumerate(statements) if sql.upper().startswith("BEGIN IMMEDIATE")]
    commits = [i for i, sql in enumerate(statements) if sql.upper().startswith("COMMIT")]
    inside = commits[-1] - begins[-1] - 1 if begins and commits else None
    return {"ms_p50": median(times), "statements_per_claim": len(statements), "inside_write_transaction": inside,
            "statements": [" ".join(sql.split())[:100] for sql in statements]}


def run(ctx: Context) -> BenchResult:
    result = BenchResult("claim")
    count = ctx.size(10_000, 200)
    plan = schedule(count)
    planned = sum(len(p) for p in plan)
    kinds = ["sqlite"]
    pg_why = dataset.pg_available()
    if pg_why is None:
        kinds.append("postgresql")
    result.raw = {"workers": count, "stations": STATIONS, "planned_requests": planned,
                  "race_share": RACE_SHARE, "double_tap_share": DOUBLE_TAP_SHARE, "engines": {}}
    for n, kind in enumerate(kinds):
        # What is left of the run's budget, shared by the engines still to go (app, then ceiling).
        budget = max(ctx.size(40, 10), ctx.remaining() / (len(kinds) - n) - ctx.size(25, 5))
        seconds = min(ctx.size(180, 20), budget * 0.7)
        ceiling_seconds = min(ctx.size(30, 5), budget * 0.15)  # each of two: before and after
        ctx.log(f"claim/{kind}: time bound {seconds:.0f} s (ceiling 2 × {ceiling_seconds:.0f} s)")
        try:
            with Engine(ctx, kind, count) as engine:
                # The ceiling brackets the app's run (once before, once after; the figure is their
                # mean): this shared machine drifts by a third within minutes, and one ceiling
                # measured after the app alone made the ratio swing with it.
                first: list = []

                def ceiling_first(size: int) -> None:  # once the app's answer size is known
                    first.append(_ceiling_claims(engine, plan, size, ceiling_seconds)[0])
                    ctx.log(f"claim/{kind}: ceiling before {first[0].rps:.1f} claims/s")

                info, report = _http_claims(engine, plan, seconds, before_load=ceiling_first)
                if report is None:
                    ctx.log(f"claim/{kind}: HTTP not available ({info['why']}); calling the function from 16 threads")
                    info, report = _function_claims(engine, plan, seconds)
                summary = report.summary()
                verify = _verify(engine, count if report.requests >= planned else None)
                ctx.log(f"claim/{kind}: {summary['rps']:.1f} claims/s p99 {summary['p99_ms']} ms errors {summary['errors']} "
                        f"{info.get('outcomes')} verify {verify}")
                c_report, c_check = _ceiling_claims(engine, plan, info.get("fragment_bytes", 3000), ceiling_seconds)
                c_summary = c_report.summary()
                ceilings = [r.rps for r in first] + [c_report.rps]
                ceiling_rps = sum(ceilings) / len(ceilings)
                ctx.log(f"claim/{kind}: ceiling after {c_summary['rps']:.1f} claims/s p99 {c_summary['p99_ms']} ms; "
                        f"mean {ceiling_rps:.1f}")
                result.raw["engines"][kind] = {"load": engine.load, "app": {**info, **summary}, "verify": verify,
                                               "ceiling": {**c_summary, **c_check, "mean_rps": ceiling_rps,
                                                           "before": first[0].summary() if first else None}}
                how = "HTTP" if info["mode"] == "http" else "function from 16 threads, no HTTP"
                done = f"{report.requests:,} of {planned:,} requests" + ("" if report.requests >= planned else " (time bound)")
                outcomes = info.get("outcomes") or {}
                result.add(f"{kind}: claims/s ({how})", report.rps, "/s",
                           note=f"p50 {summary['p50_ms']:.0f} ms, p99 {summary['p99_ms']:.0f} ms; {done}; "
                                f"answers: {outcomes.get('collected', 0):,} collected, {outcomes.get('already', 0):,} already")
                share = ratio(report.rps, ceiling_rps)
                result.add(f"{kind}: claim ÷ ceiling", share * 100 if share else None, "%", goal="≥ 50 %",
                           met=None if share is None else share >= GOAL_RATIO,
                           note=f"ceiling {ceiling_rps:.0f}/s (mean of {' and '.join(f'{c:.0f}' for c in ceilings)}, "
                                f"{'before and after' if first else 'after'} the app), p99 {c_summary['p99_ms']:.0f} ms")
                spread = ratio(summary["p99_ms"], summary["p50_ms"])
                result.add(f"{kind}: p99 ÷ p50", spread, "×", goal="≤ 4×",
                           met=None if spread is None else spread <= 4,
                           note=f"p50 {summary['p50_ms']:.0f} ms, p99 {summary['p99_ms']:.0f} ms")
                result.add(f"{kind}: errors", summary["errors"], "", goal="0", met=summary["errors"] == 0,
                           note="; ".join(summary["error_samples"][:2]))
                result.add(f"{kind}: each worker exactly one package", "yes" if verify["exactly_one_each"] else "NO",
                           goal="yes", met=verify["exactly_one_each"],
                           note=f"{verify['collections']:,} collections for {verify['distinct_workers']:,} workers, "
                                f"packages_given {verify['packages_given']:,}")
        except Exception as error:  # noqa: BLE001 - one engine failing must not hide the other
            import traceback

            traceback.print_exc()
            result.add(f"{kind}", f"failed: {type(error).__name__}: {error}"[:200], goal="runs", met=False)
    if pg_why:
        result.add("postgresql", "not available", note=pg_why)
    try:
        profile = inprocess_profile(ctx, ctx.size(100, 30))
        result.raw["inprocess"] = profile
        result.add("one claim in-process, one station, SQLite: p50", profile["ms_p50"], "ms",
                   note=f"{profile['statements_per_claim']} SQL statements per claim, "
                        f"{profile['inside_write_transaction']} of them inside the write transaction")
    except Exception as error:  # noqa: BLE001 - a diagnostic only
        result.raw["inprocess_error"] = repr(error)
    return result
