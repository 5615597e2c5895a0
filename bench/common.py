"""What every benchmark shares: statistics, the result record, a gunicorn server on 127.0.0.1,
a lean keep-alive HTTP load generator, and the run's context (sizes, deadlines, work folder).

Everything here only ever talks to 127.0.0.1, and every load is bounded both in requests and in
seconds.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN_CONF = ROOT / "gunicorn.conf.py"


class NotAvailable(Exception):
    """A benchmark whose subject is not in the tree (yet), or whose tool is missing."""


# ---- statistics -------------------------------------------------------------------------------


def percentile(values: Iterable[float], p: float) -> float | None:
    """The ``p``-th percentile (0..100) by linear interpolation; None for no values."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return data[0]
    k = (len(data) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def median(values: Iterable[float]) -> float | None:
    """The median; None for no values."""
    return percentile(values, 50)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


# ---- results ------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the printed table: a figure, its unit, and the goal it is held against."""

    bench: str
    what: str
    value: float | str | None
    unit: str = ""
    goal: str = ""
    met: bool | None = None  # None: no goal, or not measurable
    note: str = ""

    def shown(self) -> str:
        v = self.value
        if v is None:
            return "—"
        if isinstance(v, str):
            return v
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,} {self.unit}".strip()
        if self.unit == "%":
            return f"{v:.0f} %"
        if abs(v) >= 1000:
            return f"{v:,.0f} {self.unit}".strip()
        if abs(v) >= 100:
            return f"{v:.0f} {self.unit}".strip()
        if abs(v) >= 10:
            return f"{v:.1f} {self.unit}".strip()
        return f"{v:.2f} {self.unit}".strip()


@dataclass
class BenchResult:
    """What one benchmark hands back: table rows, raw data for the JSON, and its status."""

    name: str
    rows: list[Row] = field(default_factory=list)
    raw: dict = field(default_factory=dict)
    status: str = "ok"  # ok | not available: <why> | failed: <why>
    seconds: float = 0.0

    def add(self, what: str, value, unit: str = "", goal: str = "", met: bool | None = None, note: str = "") -> Row:
        row = Row(self.name, what, value, unit, goal, met, note)
        self.rows.append(row)
        return row


@dataclass
class Context:
    """The run: sizes (quick or full), the work folder, and shared pieces built once."""

    quick: bool
    work: Path
    log: Callable[[str], None]
    shared: dict = field(default_factory=dict)
    deadline: float = float("inf")  # time.monotonic() by which the whole run should be done

    def size(self, full, quick):
        return quick if self.quick else full

    def remaining(self) -> float:
        """Seconds left of the run's budget."""
        return self.deadline - time.monotonic()


# ---- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn serving ``app`` ("module:callable") on 127.0.0.1 with the production settings
    (gunicorn.conf.py: 2 workers, gthread), started and stopped by this process only."""

    def __init__(self, app: str, env: dict[str, str], log_path: Path, *, workers: int = 2, threads: int | None = None):
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        merged = {**os.environ, **env, "KIOSK_BIND": f"127.0.0.1:{self.port}", "KIOSK_WORKERS": str(workers)}
        self.env = {k: v for k, v in merged.items() if v is not None}  # None: unset it
        if threads is not None:
            self.env["KIOSK_THREADS"] = str(threads)
        self.env.setdefault("PYTHONPATH", str(ROOT))
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 60) -> "Gunicorn":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{self.port}", self.app],
            cwd=str(ROOT), env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn {self.app} exited ({self.proc.returncode}); see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
                if len(self.worker_pids()) >= 1:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn {self.app} did not answer in {timeout:.0f} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        """The pids of the master's worker processes."""
        if self.proc is None:
            return []
        try:
            out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True).stdout
        except OSError:
            return []
        return [int(x) for x in out.split()]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # gunicorn's graceful stop of master + workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU the processes ``pids`` have used so far, from /proc/<pid>/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def vm_hwm_kib(pid: int) -> int | None:
    """Peak resident set size (VmHWM) of ``pid`` in KiB, from /proc."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+)\s+kB", text, re.M)
    return int(m.group(1)) if m else None


# ---- HTTP load ----------------------------------------------------------------------------------


class HttpError(Exception):
    pass


class Conn:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1, as lean as Python allows so that the
    client costs the shared CPUs as little as possible (the same client drives app and ceiling)."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = b""

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def request(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send one prepared request; returns (status, headers (lower-case names), body).
        Reconnects once if the server closed the kept-alive connection."""
        for attempt in (0, 1):
            if self.sock is None:
                self._connect()
            try:
                self.sock.sendall(raw)
                return self._read()
            except (ConnectionError, HttpError, socket.timeout) as error:
                self.close()
                if attempt or isinstance(error, socket.timeout):
                    raise
        raise HttpError("unreachable")

    def _read(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise HttpError("connection closed")
            self.buf += chunk
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            if name == "set-cookie" and name in headers:
                headers[name] += "\n" + value
            else:
                headers[name] = value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body, rest = self._chunked(rest)
        else:
            length = int(headers.get("content-length", "0"))
            while len(rest) < length:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise HttpError("connection closed in body")
                rest += chunk
            body, rest = rest[:length], rest[length:]
        self.buf = rest
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def _chunked(self, rest: bytes) -> tuple[bytes, bytes]:
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += self._recv()
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += self._recv()
            body += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                return body, rest

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise HttpError("connection closed in chunked body")
        return chunk


def build_request(method: str, path: str, port: int, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    """The bytes of one HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: keep-alive"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def cookies_from(headers: dict[str, str]) -> dict[str, str]:
    """name -> value of every Set-Cookie in a response's headers."""
    found = {}
    for line in headers.get("set-cookie", "").split("\n"):
        if "=" in line:
            pair = line.split(";", 1)[0]
            name, _, value = pair.partition("=")
            found[name.strip()] = value.strip()
    return found


@dataclass
class LoadReport:
    """What one load run measured. Latencies in milliseconds."""

    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    error_samples: list[str]
    client_cpu_s: float = 0.0  # CPU the load generator itself used (it shares the machine)
    server_cpu_s: float | None = None  # CPU the server's workers used during the run, if asked

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        if self.server_cpu_s is None or not self.requests:
            return None
        return self.server_cpu_s * 1000 / self.requests

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def summary(self) -> dict:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "p50_ms": _round(percentile(self.latencies_ms, 50)),
            "p90_ms": _round(percentile(self.latencies_ms, 90)),
            "p99_ms": _round(percentile(self.latencies_ms, 99)),
            "max_ms": _round(max(self.latencies_ms) if self.latencies_ms else None),
            "error_samples": self.error_samples[:5],
            "client_cpu_s": round(self.client_cpu_s, 3),
            "server_cpu_s": _round(self.server_cpu_s),
            "server_cpu_ms_per_request": _round(self.server_cpu_ms_per_request, 4),
        }


def _round(v: float | None, digits: int = 3) -> float | None:
    return None if v is None else round(v, digits)


def run_load(
    port: int,
    clients: int,
    make_request: Callable[[int, int], bytes],
    check: Callable[[int, dict, bytes], str | None],
    *,
    seconds: float,
    max_requests: int,
    warmup: int = 0,
    setup: Callable[[int, Conn], None] | None = None,
    server_pids: Iterable[int] | None = None,
) -> LoadReport:
    """Drive ``clients`` threads, each on its own keep-alive connection, until ``seconds`` have
    passed or ``max_requests`` were sent. ``make_request(client, i)`` gives the raw bytes of the
    client's i-th request; ``check(status, headers, body)`` returns None or an error text.
    Each client first sends ``warmup`` untimed requests. With ``server_pids``, the CPU those
    processes used during the timed part is measured too."""
    import inspect

    wants_index = len(inspect.signature(check).parameters) >= 4
    lock = threading.Lock()
    counter = [0]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0]
    samples: list[str] = []
    start_gate = threading.Barrier(clients + 1)
    state = {"deadline": 0.0}

    def take() -> bool:
        with lock:
            if counter[0] >= max_requests:
                return False
            counter[0] += 1
            return True

    def worker(n: int) -> None:
        conn = Conn(port)
        try:
            if setup is not None:
                setup(n, conn)
            for i in range(warmup):
                conn.request(make_request(n, -1 - i))
        except Exception as error:  # noqa: BLE001 - reported, not raised, from a thread
            with lock:
                errors[0] += 1
                samples.append(f"setup: {error!r}")
        start_gate.wait()
        mine = latencies[n]
        i = 0
        perf = time.perf_counter
        while perf() < state["deadline"]:
            raw = make_request(n, i)
            if raw is None or not take():
                break
            i += 1
            t0 = perf()
            try:
                status, headers, body = conn.request(raw)
                problem = check(status, headers, body, (n, i - 1)) if wants_index else check(status, headers, body)
            except Exception as error:  # noqa: BLE001
                problem = repr(error)
                conn.close()
            mine.append((perf() - t0) * 1000)
            if problem:
                with lock:
                    errors[0] += 1
                    if len(samples) < 20:
                        samples.append(problem)
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    state["deadline"] = time.perf_counter() + 3600  # set for real just below, once all are ready
    pids = list(server_pids or ())
    start_gate.wait()
    server_start = cpu_seconds(pids) if pids else None
    t_start = time.perf_counter()
    cpu_start = time.process_time()
    state["deadline"] = t_start + seconds
    for t in threads:
        t.join(seconds + 120)
    elapsed = time.perf_counter() - t_start
    server_cpu = cpu_seconds(pids) - server_start if pids else None
    flat = [x for per in latencies for x in per]
    return LoadReport(len(flat), errors[0], elapsed, flat, samples, time.process_time() - cpu_start, server_cpu)
