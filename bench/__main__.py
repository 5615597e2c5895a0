"""``python -m bench [--quick] [--only scan,claim,...]``: run the benchmarks, print one table,
write the raw output to bench/results/<UTC timestamp>.json and the table to bench/results/latest.md
(latest-quick.md for a --quick run, so a smoke run never replaces the real figures).

See bench/README.md for what each benchmark measures and how to read the figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from .common import ROOT, BenchResult, Context, NotAvailable

# Claim runs last: it is bounded by what is left of the run's budget (BUDGET_S).
BENCHES = ("scan", "camera", "weight", "cards", "bast", "imports", "durability", "claim")
BUDGET_S = {False: 550, True: 110}
ALIASES = {"memory": "scan", "import": "imports", "page": "weight", "pageweight": "weight"}
RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """What the figures were measured on."""
    info = {"nproc": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        info["loadavg_at_start"] = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        pass
    try:
        out = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=20)
        info["chromium"] = out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["chromium"] = None
    try:
        import gunicorn

        info["gunicorn"] = gunicorn.__version__
    except ImportError:
        pass
    return info


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every benchmark (~2 min)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHES)} (memory = scan)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (databases, server logs)")
    parser.add_argument("--work", default="", help="work folder (default: a new temporary folder)")
    parser.add_argument("--results", default=str(RESULTS), help="where to write the JSON and latest.md")
    return parser.parse_args(argv)


def selected(only: str) -> list[str]:
    if not only:
        return list(BENCHES)
    wanted = []
    for name in only.split(","):
        name = name.strip().lower()
        name = ALIASES.get(name, name)
        if name not in BENCHES:
            raise SystemExit(f"unknown benchmark {name!r}; choose from {', '.join(BENCHES)}")
        if name not in wanted:
            wanted.append(name)
    return [b for b in BENCHES if b in wanted]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table_rows(results: list[BenchResult]) -> list[list[str]]:
    rows = []
    for res in results:
        if res.status != "ok" and not res.rows:
            rows.append([res.name, "—", res.status, "", "", ""])
            continue
        for row in res.rows:
            met = "" if row.met is None else ("yes" if row.met else "**MISS**")
            rows.append([row.bench, row.what, row.shown(), row.goal, met, row.note])
        if res.status != "ok":
            rows.append([res.name, "—", res.status, "", "", ""])
    return rows


HEAD = ["bench", "what", "figure", "goal", "met", "note"]


def markdown(results: list[BenchResult], info: dict, started: datetime, elapsed: float, quick: bool) -> str:
    lines = [
        f"Run {started:%Y-%m-%d %H:%M} UTC{' (--quick: small sizes, not the real figures)' if quick else ''}, "
        f"{elapsed:.0f} s. Machine: {info.get('nproc')} CPUs ({info.get('cpu', '?')}), "
        f"{info.get('memory_gib', '?')} GiB, load average at start {' '.join(info.get('loadavg_at_start', []))}; "
        f"Python {info.get('python')}, SQLite {info.get('sqlite')}, gunicorn {info.get('gunicorn', '?')}, "
        f"{info.get('chromium') or 'no chromium'}.",
        "",
        "| " + " | ".join(HEAD) + " |",
        "|" + "|".join("---" for _ in HEAD) + "|",
    ]
    for row in table_rows(results):
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    misses = [f"{r.bench}: {r.what} ({r.shown()}, goal {r.goal})" for res in results for r in res.rows if r.met is False]
    if misses:
        lines += ["", "Missed goals: " + "; ".join(misses) + "."]
    return "\n".join(lines) + "\n"


def plain_table(results: list[BenchResult]) -> str:
    rows = [HEAD] + [[c.replace("**", "") for c in r] for r in table_rows(results)]
    widths = [min(60, max(len(r[i]) for r in rows)) for i in range(len(HEAD))]
    out = []
    for n, r in enumerate(rows):
        out.append("  ".join(c[:60].ljust(w) for c, w in zip(r, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    names = selected(args.only)
    started = datetime.now(timezone.utc)
    t_start = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f} s] {message}", file=sys.stderr, flush=True)

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="kiosk-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.pop("DATABASE_URL", None)  # the benches choose their databases themselves
    sys.path.insert(0, str(ROOT))
    ctx = Context(quick=args.quick, work=work, log=log, deadline=time.monotonic() + BUDGET_S[args.quick])
    info = machine()
    log(f"benchmarks: {', '.join(names)}{' (quick)' if args.quick else ''}; work folder {work}")
    results: list[BenchResult] = []
    try:
        for name in names:
            t0 = time.perf_counter()
            log(f"--- {name}")
            try:
                module = importlib.import_module(f"bench.{name}")
                res = module.run(ctx)
            except NotAvailable as why:
                res = BenchResult(name, status=f"not available: {why}")
            except Exception as error:  # noqa: BLE001 - one broken bench must not hide the others
                traceback.print_exc()
                res = BenchResult(name, status=f"failed: {type(error).__name__}: {error}")
            res.seconds = round(time.perf_counter() - t0, 1)
            try:  # the machine is shared: keep how busy it was next to each figure
                res.raw.setdefault("loadavg_after", Path("/proc/loadavg").read_text().split()[:3])
            except OSError:
                pass
            log(f"{name}: {res.status} in {res.seconds:.1f} s")
            results.append(res)
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - t_start

    out_dir = Path(args.results)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    raw = {
        "started": started.isoformat(), "seconds": round(elapsed, 1), "quick": args.quick, "benchmarks_run": names,
        "machine": info,
        "results": {
            r.name: {"status": r.status, "seconds": r.seconds, "rows": [row.__dict__ for row in r.rows], "raw": r.raw}
            for r in results
        },
    }
    json_path = out_dir / f"{stamp}{'-quick' if args.quick else ''}.json"
    json_path.write_text(json.dumps(raw, indent=1, default=str) + "\n")
    md = markdown(results, info, started, elapsed, args.quick)
    latest = out_dir / ("latest-quick.md" if args.quick else "latest.md")
    latest.write_text(md)
    print(plain_table(results))
    print(f"\n{elapsed:.0f} s in all. Raw output: {json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}; "
          f"table: {latest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
