"""The office PC's server process: gunicorn with ``gunicorn.conf.py`` beside other gunicorns of
the same user."""

from __future__ import annotations

import http.client
import shutil

import pytest

from test_crash_safety import Server


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
