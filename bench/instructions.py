"""Instructions per scan: the CPU instructions one scan executes in-process, the app's and the
ceiling's, counted by valgrind (cachegrind without its cache model).

Why beside the timed figures: a count does not move with the machine. The scan ÷ ceiling ratio
of the same code read 41–44 % on one of these shared machines and 24–33 % on the next
(bench/README.md, "sixth pass"): what a scan costs in time depends on the host's caches and
neighbours more than the ceiling's does. The count says whether a change made a scan do less.

How: the WSGI app is called directly with prebuilt requests (no HTTP, no gunicorn), in a child
process run twice under valgrind: once with the warm-up only, once with ``SCANS`` scans more;
the difference ÷ ``SCANS`` is the figure. ``PYTHONHASHSEED=0`` keeps both runs alike.

A third count, the **floor** (``bench/floor.py``): the app with the scan's view answering at once
with the ceiling's fragment of the scan's size, everything else as served: the kiosk's device
and form-token check, the session, the hooks, the request log, the answer headers, the static
layer. It is the least a scan can cost on this app's request handling, whatever its view does.

``python -m bench.instructions --child app|floor|ceiling SPEC.json N`` is the child.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

SCANS = 300
WARMUP = 100
ROOT = Path(__file__).resolve().parent.parent


def available() -> str | None:
    """None when valgrind is here, else why not."""
    return None if shutil.which("valgrind") else "valgrind is not installed (Debian: apt-get install valgrind)"


def per_scan(population: dict, which: str, work: Path, scans: int = SCANS) -> float:
    """Instructions per scan of ``which`` ("app", "floor" or "ceiling") on ``population`` (scan.py's, with
    ``fragment_bytes``: the size of the scan's answer, which the ceiling answers too)."""
    spec = work / f"instructions-{which}.json"
    spec.write_text(json.dumps({"instance": str(population["instance"]), "credential": population["credential"],
                                "tokens": population["tokens"], "size": population["fragment_bytes"]}))
    runs = [_start(which, spec, n) for n in (0, scans)]
    base, loaded = (_instructions(run) for run in runs)
    return (loaded - base) / scans


def _start(which: str, spec: Path, scans: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT), "KIOSK_INSTANCE_PATH": "",
           "KIOSK_BACKUP_AUTOMATIC": "false"}
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         sys.executable, "-m", "bench.instructions", "--child", which, str(spec), str(scans)],
        cwd=str(ROOT), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def _instructions(run: subprocess.Popen) -> int:
    _out, err = run.communicate(timeout=1800)
    found = re.search(r"I\s+refs:\s+([\d,]+)", err)
    if run.returncode != 0 or found is None:
        raise RuntimeError(f"valgrind run failed ({run.returncode}): {err[-500:]}")
    return int(found[1].replace(",", ""))


def _child(which: str, spec_path: str, scans: int) -> None:
    from urllib.parse import urlencode

    from bench.kiosk_client import CSRF_FIELD

    spec = json.loads(Path(spec_path).read_text())
    if which == "ceiling":
        from bench.ceiling import app

        def request(_i: int) -> tuple:
            return ("POST", "/kiosk/pindai", f"bytes={spec['size']}", {
                "HX-Request": "true", "HX-Target": "scan-result",
                "Content-Type": "application/x-www-form-urlencoded"}, b"code=" + b"K" * 26)
    else:
        os.environ["KIOSK_INSTANCE_PATH"] = spec["instance"]
        if which == "floor":
            from bench.floor import app  # the scan's view answering at once (?bytes=, as the ceiling)
        else:
            from kiosk import create_app

            app = create_app()
        query = f"bytes={spec['size']}" if which == "floor" else ""
        cookie = f"kiosk_device={spec['credential']}"
        _status, page = _call(app, "GET", "/kiosk/", "", {"Cookie": cookie}, b"")
        token = CSRF_FIELD.search(page)[1].decode()
        tokens = spec["tokens"]

        def request(i: int) -> tuple:
            return ("POST", "/kiosk/pindai", query, {
                "Cookie": cookie, "X-CSRFToken": token, "HX-Request": "true", "HX-Target": "scan-result",
                "HX-Current-URL": "http://127.0.0.1/kiosk/", "Content-Type": "application/x-www-form-urlencoded",
            }, urlencode({"code": tokens[i % len(tokens)]}).encode())

    for i in range(WARMUP + scans):
        status, body = _call(app, *request(i))
        if not status.startswith("200") or (which != "ceiling" and b'data-state="result"' not in body):
            raise SystemExit(f"scan {i} answered {status}: {body[:200]!r}")
        if i == WARMUP - 1:
            import gc

            gc.collect()
            gc.freeze()  # as gunicorn.conf.py does after the app is built


def _call(app, method: str, path: str, query: str, headers: dict, body: bytes) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(), "wsgi.multithread": True,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0), "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)), "HTTP_HOST": "127.0.0.1:8000",
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    answer = {}

    def start_response(status, _headers, _exc=None):
        answer["status"] = status

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return answer["status"], data


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit(__doc__)
