"""The office PC's server process: gunicorn with ``gunicorn.conf.py`` beside other gunicorns of
the same user."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from test_crash_safety import Server

ROOT = Path(__file__).resolve().parent.parent


def systemd_analyze() -> str:
    """The path of ``systemd-analyze``; Debian's ``systemd`` package is installed for it when it is
    missing and this machine can (root with apt-get); else the test is skipped saying why."""
    found = shutil.which("systemd-analyze")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("systemd-analyze is missing and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "systemd"]):
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            pytest.skip(f"systemd-analyze is missing; {' '.join(command)} failed: {result.stderr.strip()[-300:]}")
    return shutil.which("systemd-analyze") or pytest.skip("Debian's systemd package has no systemd-analyze")


def _make_default(name: str) -> str:
    return re.search(rf"^{name} \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_the_service_unit_passes_systemd_analyze_verify(app, tmp_path, https):
    """The unit ``make install-service`` installs (``flask service-unit``, which the make target
    calls with make run's HOST/PORT/WORKERS/HTTPS): systemd finds nothing to object to."""
    analyze = systemd_analyze()
    unit = tmp_path / "kiosk-bpu.service"
    args = ["service-unit", "--user", "kantor", "--output", str(unit)] + (["--https"] if https else [])
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    check = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout + check.stderr == "", check.stdout + check.stderr

    text = unit.read_text()
    # The settings of `make run`: its defaults, the same gunicorn config and app, migrations first.
    assert f"Environment=KIOSK_BIND={_make_default('HOST')}:{_make_default('PORT')}" in text
    assert f"Environment=KIOSK_WORKERS={_make_default('WORKERS')}" in text
    assert f"ExecStart={ROOT}/.venv/bin/gunicorn --config {ROOT}/gunicorn.conf.py wsgi:app" in text
    assert text.index("flask --app kiosk db upgrade") < text.index("ExecStart=")
    assert "User=kantor" in text and "Restart=always" in text and "WantedBy=multi-user.target" in text
    assert f"ReadWritePaths={app.instance_path} {Path(app.instance_path).parent / 'backups'}" in text
    assert ("KIOSK_CERTFILE=" in text) is https
    assert "KIOSK_INSTANCE_PATH=" in text  # this test's instance is not the checkout's instance/


def test_the_service_never_runs_as_root(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["service-unit", "--user", "root"])
    assert result.exit_code != 0 and "not as root" in result.output
    if os.geteuid() == 0:  # make install-service, run by root, refuses before touching anything
        make = subprocess.run(["make", "-s", "service-unit"], cwd=ROOT, capture_output=True, text=True)
        assert make.returncode != 0 and "not root" in make.stdout + make.stderr


def _answers(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/kiosk/")  # the pairing screen: a page that reads the database
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.slow
def test_two_gunicorns_of_one_user_share_no_control_socket(tmp_path, sqlite_template):
    """gunicorn 25+ puts a control socket at $XDG_RUNTIME_DIR/gunicorn.ctl (else
    ~/.gunicorn/gunicorn.ctl) for every server of the user; ours makes none, so two servers side
    by side never take over or remove each other's."""
    runtime, home = tmp_path / "run", tmp_path / "home"
    runtime.mkdir()
    home.mkdir()
    env = {"XDG_RUNTIME_DIR": str(runtime), "HOME": str(home)}
    servers = []
    for name in ("a", "b"):
        instance = tmp_path / name
        instance.mkdir()
        shutil.copy(sqlite_template, instance / "kiosk.sqlite3")
        servers.append(Server(str(instance), None, tmp_path / f"{name}.log", env=env, workers=1))
    try:
        for server in servers:
            server.start()
        assert [_answers(s.port) for s in servers] == [200, 200]
        assert not (runtime / "gunicorn.ctl").exists()
        assert not (home / ".gunicorn").exists()
        servers[0].stop()
        assert _answers(servers[1].port) == 200
        for name in ("a", "b"):
            assert "control socket" not in (tmp_path / f"{name}.log").read_text().lower()
    finally:
        for server in servers:
            server.stop()


@pytest.mark.slow
def test_three_gunicorn_workers_make_one_daily_backup(tmp_path, sqlite_template):
    """Every worker runs the backup scheduler; the schedule's row in the database lets exactly one
    of them make the due backup, and then it is not due for a day."""
    import time

    from kiosk.backup import archives

    instance = tmp_path / "instance"
    instance.mkdir()
    shutil.copy(sqlite_template, instance / "kiosk.sqlite3")
    log = tmp_path / "server.log"
    server = Server(str(instance), None, log, env={"KIOSK_BACKUP_POLL_SECONDS": "1"}, workers=3)
    try:
        server.start()
        deadline = time.monotonic() + 120
        while not archives(tmp_path / "backups") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert archives(tmp_path / "backups"), log.read_text()[-3000:]
        while log.read_text().count("backup scheduler started") < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert log.read_text().count("backup scheduler started") == 3
        time.sleep(5)  # every worker looks again several times (every ~1 s)
        made = archives(tmp_path / "backups")
    finally:
        server.stop()
    assert [a.kind for a in made] == ["daily"], [a.name for a in made]
    assert log.read_text().count("backup (daily) made") == 1
