"""The office's backups: the admin page *Cadangan* (back up now, download, the recent backups),
the daily backup made by exactly one of many processes (its due state in the database), one when a
distribution is closed, keeping the newest N of each kind, and the dashboard's warnings."""

from __future__ import annotations

import os
import tarfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from factories import make_distribution, make_staff
from kiosk import backup
from kiosk.backup import check_archive
from kiosk.database import utcnow
from kiosk.extensions import db
from kiosk.models import ScheduledTask


def _admin_client(app):
    client = app.test_client()
    make_staff(role="admin", username="admin", password="rahasia-123")
    assert client.post("/masuk", data={"username": "admin", "password": "rahasia-123"}).status_code == 302
    return client


def _wait_until_done(limit: float = 120) -> dict:
    """Wait (without timing anything) for the background backup to finish; the schedule's row."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        db.session.remove()
        state = backup.status()
        if not state["running"] and (state["last_ok_at"] or state["last_error"]):
            return state
        time.sleep(0.05)
    raise AssertionError("the backup did not finish")


def test_back_up_now_list_and_download(engine_app):
    client = _admin_client(engine_app)
    page = client.get("/admin/cadangan").get_data(as_text=True)
    assert "Belum ada cadangan di folder ini." in page and 'data-running="no"' in page

    response = client.post("/admin/cadangan")
    assert response.status_code == 302
    state = _wait_until_done()
    assert state["last_error"] is None and state["last_ok_at"] is not None

    made = backup.archives(backup.backup_folder())
    assert [a.kind for a in made] == ["manual"]
    page = client.get("/admin/cadangan").get_data(as_text=True)
    assert f'data-backup="{made[0].name}"' in page and "Dibuat admin" in page

    download = client.get(f"/admin/cadangan/{made[0].name}")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == f"attachment; filename={made[0].name}"
    assert "no-store" in download.headers["Cache-Control"]
    archive = Path(engine_app.instance_path).parent / "downloaded.tar.gz"
    archive.write_bytes(download.data)
    download.close()  # the archive is streamed from its open file
    with tarfile.open(archive) as tar:
        manifest = check_archive(tar)
    assert manifest["kind"] == "manual" and manifest["revision"]
    assert manifest["engine"] == db.engine.dialect.name


def test_the_panel_refreshes_itself_only_while_a_backup_runs(app):
    client = _admin_client(app)
    with db.engine.begin() as conn:  # another process holds the job
        backup.schedule._task()
        conn.execute(update(ScheduledTask).values(lease_until=utcnow() + timedelta(minutes=5)))
    db.session.remove()
    panel = client.get("/admin/cadangan", headers={"HX-Request": "true", "HX-Target": "backups"})
    html = panel.get_data(as_text=True)
    assert html.lstrip().startswith("<section") and 'id="backups"' in html and "<html" not in html
    assert 'hx-trigger="every 2s"' in html and "Sedang membuat cadangan" in html
    assert "HX-Target" in panel.headers["Vary"]
    assert client.post("/admin/cadangan", follow_redirects=True).get_data(as_text=True).count(
        "Cadangan lain sedang dibuat") == 1
    with db.engine.begin() as conn:
        conn.execute(update(ScheduledTask).values(lease_until=None))
    db.session.remove()
    html = client.get("/admin/cadangan", headers={"HX-Request": "true", "HX-Target": "backups"}).get_data(as_text=True)
    assert "hx-trigger" not in html


def test_download_only_serves_backups_of_the_folder(app):
    client = _admin_client(app)
    folder = backup.backup_folder()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.txt").write_text("x")
    for name in ("notes.txt", "kiosk-backup-20260101T000000000000Z-daily.tar.gz", "..%2Finstance%2Fsecret_key",
                 "kiosk-backup-20260101T000000000000Z-daily.tar.gz.partial"):
        response = client.get(f"/admin/cadangan/{name}")
        response.close()
        assert response.status_code == 404, name


def test_only_one_of_many_processes_makes_the_due_backup(engine_app):
    """Eight workers look at once whether the daily backup is due: one makes it, the others
    find it taken (the conditional UPDATE on the schedule's row), and then nobody finds it due."""
    app = engine_app
    backup.schedule._task()
    db.session.remove()
    made, errors = [], []
    start = threading.Barrier(8)

    def worker():
        with app.app_context():
            try:
                start.wait()
                result = backup.run("daily", due_only=True)
                if result is not None:
                    made.append(result)
            except Exception as error:  # noqa: BLE001
                errors.append(error)
            finally:
                db.session.remove()

    # Each thread stands for a process: the per-process lock must not be what decides.
    threads = [threading.Thread(target=worker) for _ in range(8)]
    original = backup.schedule._local_lock
    backup.schedule._local_lock = _PerThreadLock()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        backup.schedule._local_lock = original
    assert errors == []
    assert len(made) == 1 and made[0].kind == "daily"
    assert [a.name for a in backup.archives(backup.backup_folder())] == [made[0].name]
    state = backup.status()
    assert state["last_ok_at"] is not None and state["due_at"] - state["last_ok_at"] > timedelta(hours=23)
    assert backup.run("daily", due_only=True) is None  # made: not due again today


class _PerThreadLock:
    """A lock each thread holds alone (as if each were its own process)."""

    def __init__(self):
        self._local = threading.local()

    def acquire(self, blocking=True):
        return True

    def release(self):
        return None


def test_closing_a_distribution_makes_a_backup(app):
    client = _admin_client(app)
    distribution = make_distribution(status="open")
    assert client.post(f"/penyaluran/{distribution.id}/tutup").status_code == 302
    _wait_until_done()
    assert [a.kind for a in backup.archives(backup.backup_folder())] == ["close"]


def test_the_newest_of_each_kind_are_kept(tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    names = []
    for day in range(1, 6):
        for kind in ("daily", "manual"):
            name = f"kiosk-backup-202601{day:02d}T010000000000Z-{kind}.tar.gz"
            (folder / name).write_bytes(b"x")
            names.append(name)
    (folder / "kiosk-backup-20251231T010000000000Z.tar.gz").write_bytes(b"x")  # the first release's name
    old_partial = folder / "kiosk-backup-20260106T010000000000Z-daily.tar.gz.partial"
    old_partial.write_bytes(b"x")
    os.utime(old_partial, (time.time() - 7200, time.time() - 7200))
    fresh_partial = folder / "kiosk-backup-20260107T010000000000Z-daily.tar.gz.partial"
    fresh_partial.write_bytes(b"x")  # a backup being written right now
    backup.prune(folder, keep=2)
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted([
        "kiosk-backup-20260104T010000000000Z-daily.tar.gz", "kiosk-backup-20260105T010000000000Z-daily.tar.gz",
        "kiosk-backup-20260104T010000000000Z-manual.tar.gz", "kiosk-backup-20260105T010000000000Z-manual.tar.gz",
        fresh_partial.name,
    ])


@pytest.fixture
def app_config(tmp_path):
    return {"BACKUP_KEEP": 3}


def test_dashboard_warns_an_admin_not_a_petugas(app):
    admin = _admin_client(app)
    home = admin.get("/").get_data(as_text=True)
    assert "Belum ada cadangan data." in home

    petugas = app.test_client()
    make_staff(role="petugas", username="petugas", password="rahasia-123")
    petugas.post("/masuk", data={"username": "petugas", "password": "rahasia-123"})
    assert "data-office-pc-warning" not in petugas.get("/").get_data(as_text=True)

    backup.run("manual")
    assert "data-office-pc-warning" not in admin.get("/").get_data(as_text=True)

    with db.engine.begin() as conn:
        conn.execute(update(ScheduledTask).values(last_ok_at=utcnow() - timedelta(hours=25)))
    db.session.remove()
    assert "lebih dari 24 jam lalu" in admin.get("/").get_data(as_text=True)

    app.config["DISK_WARN_FREE_PERCENT"] = 101  # every real disk is "nearly full" by this measure
    assert "Disk hampir penuh" in admin.get("/").get_data(as_text=True)


def test_a_failed_backup_is_recorded_retried_and_shown(app, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    app.config["BACKUP_DIR"] = str(blocker / "backups")
    with pytest.raises(backup.BackupError):
        backup.run("daily")
    db.session.remove()
    state = backup.status()
    assert state["last_error"] and state["last_ok_at"] is None
    assert timedelta(minutes=50) < state["due_at"] - state["last_error_at"] <= timedelta(hours=1)
    admin = _admin_client(app)
    assert "Cadangan terakhir gagal" in admin.get("/").get_data(as_text=True)
    assert 'data-backup-state="failed"' in admin.get("/admin/cadangan").get_data(as_text=True)


def test_backup_holds_the_lan_certificate(app, tmp_path):
    tls = Path(app.instance_path) / "tls"
    tls.mkdir()
    (tls / "ca.key").write_text("secret")
    made = backup.run("manual")
    with tarfile.open(made.path) as tar:
        assert "instance/tls/ca.key" in tar.getnames()
    assert oct(os.stat(made.path).st_mode & 0o777) == "0o600"


def _dead_pid() -> int:
    """The pid of a process of this host that has ended."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _plant_lease(owner, until):
    backup.schedule._task()
    with db.engine.begin() as conn:
        conn.execute(update(ScheduledTask).values(lease_owner=owner, lease_until=until))
    db.session.remove()


def test_a_distribution_closed_while_a_backup_runs_is_backed_up_right_after_it(engine_app, monkeypatch):
    client = _admin_client(engine_app)
    distribution_id = make_distribution(status="open").id
    db.session.remove()
    release, made_kinds = threading.Event(), []
    real = backup.schedule.make_backup

    def slow_make_backup(secrets_dir, database_uri, target, kind):
        if kind == "manual":
            assert release.wait(60)
        made_kinds.append(kind)
        return real(secrets_dir, database_uri, target, kind)

    monkeypatch.setattr(backup.schedule, "make_backup", slow_make_backup)
    assert backup.start(engine_app, "manual")
    deadline = time.monotonic() + 30
    while not backup.status()["running"]:  # the manual backup holds the job
        assert time.monotonic() < deadline
        db.session.remove()
        time.sleep(0.02)
    assert client.post(f"/penyaluran/{distribution_id}/tutup").status_code == 302
    db.session.remove()
    assert backup.status()["pending_kind"] == "close"  # owed, not silently skipped
    release.set()
    deadline = time.monotonic() + 120
    while sorted(a.kind for a in backup.archives(backup.backup_folder())) != ["close", "manual"]:
        assert time.monotonic() < deadline, made_kinds
        time.sleep(0.05)
    state = _wait_until_done()
    db.session.remove()
    state = backup.status()
    assert state["pending_kind"] is None and not state["running"] and state["last_error"] is None
    assert state["due_at"] - state["last_ok_at"] > timedelta(hours=23)


def test_an_owed_close_backup_is_made_by_the_scheduler_as_a_close_backup(app):
    backup.mark_due(app, "close")
    made = backup.run(None, due_only=True)
    assert made.kind == "close"
    assert backup.status()["pending_kind"] is None
    assert backup.run(None, due_only=True) is None


@pytest.mark.parametrize("lease", ["dead process of this host", "silent on another host"])
def test_a_killed_backup_frees_the_job_and_is_recorded_as_interrupted(engine_app, lease):
    """A backup killed with its server (SIGKILL, systemctl restart): its process stops renewing
    the lease. The same host sees the pid gone at once; another host's lease runs out within
    LEASE. Either way the next backup starts and the page says the last one was interrupted."""
    host = backup.schedule.HOST
    if lease == "dead process of this host":
        _plant_lease(f"{host}:{_dead_pid()}:0000", utcnow() + backup.schedule.LEASE)
    else:
        _plant_lease("kiosk-b.lan:4242:0000", utcnow() - timedelta(seconds=1))
    assert backup.schedule.LEASE <= timedelta(minutes=3)
    client = _admin_client(engine_app)
    page = client.post("/admin/cadangan", follow_redirects=True).get_data(as_text=True)
    assert "Cadangan lain sedang dibuat" not in page and "Cadangan sedang dibuat" in page
    state = _wait_until_done()
    assert state["last_ok_at"] is not None
    with db.engine.connect() as conn:
        row = conn.execute(select(ScheduledTask.last_error, ScheduledTask.lease_owner)).one()
    assert row.last_error.startswith("interrupted:") and row.lease_owner is None
    assert state["last_error"] is None  # made since: the page no longer shows it
    assert [a.kind for a in backup.archives(backup.backup_folder())] == ["manual"]


def test_the_interrupted_backup_shows_on_the_page_and_is_due_again(app):
    _plant_lease(f"{backup.schedule.HOST}:{_dead_pid()}:0000", utcnow() + backup.schedule.LEASE)
    with db.engine.begin() as conn:
        conn.execute(update(ScheduledTask).values(due_at=utcnow() + timedelta(hours=20)))
    db.session.remove()
    page = _admin_client(app).get("/admin/cadangan").get_data(as_text=True)
    assert 'data-running="no"' in page and 'data-backup-state="failed"' in page and "interrupted" in page
    assert backup.status()["due_at"] <= utcnow()
    assert backup.run(None, due_only=True).kind == "daily"


def test_a_live_lease_of_this_host_is_not_taken(app):
    # This process (another thread's backup) holds it: nobody may take it, nor reap it.
    _plant_lease(backup.schedule.owner(), utcnow() + backup.schedule.LEASE)
    assert backup.status()["running"]
    assert backup.run("manual") is None
    _plant_lease("kiosk-b.lan:4242:0000", utcnow() + backup.schedule.LEASE)  # another host, beating
    assert backup.run("manual") is None and backup.status()["last_error"] is None


def test_the_lease_is_renewed_while_the_backup_runs(app, monkeypatch):
    monkeypatch.setattr(backup.schedule, "HEARTBEAT", timedelta(seconds=0.05))
    monkeypatch.setattr(backup.schedule, "LEASE", timedelta(seconds=1))
    seen = []
    real = backup.schedule.make_backup

    def watched(*args):
        for _ in range(6):
            time.sleep(0.2)
            with db.engine.connect() as conn:
                seen.append(conn.execute(select(ScheduledTask.lease_until, ScheduledTask.lease_owner)).one())
        return real(*args)

    monkeypatch.setattr(backup.schedule, "make_backup", watched)
    assert backup.run("manual") is not None
    assert {owner for _, owner in seen} == {backup.schedule.owner()}
    assert seen[-1][0] > seen[0][0] + timedelta(seconds=0.5)  # renewed, past its first second
    assert not backup.status()["running"]


def test_a_dead_backups_leftovers_are_removed_at_once(tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    host, dead, me = backup.schedule.HOST, _dead_pid(), os.getpid()
    dead_staging = folder / f".staging-{dead}@{host}-ab12cd"
    dead_staging.mkdir()
    (dead_staging / "database.pgdump").write_bytes(b"half")
    dead_partial = folder / f"kiosk-backup-20260101T000000000000Z-daily.tar.gz.{dead}@{host}.partial"
    dead_partial.write_bytes(b"half")
    live_staging = folder / f".staging-{me}@{host}-ef34gh"  # a backup of this process, running
    live_staging.mkdir()
    other_host = folder / f".staging-{dead}@kiosk-b.lan-ij56kl"  # another server's, fresh
    other_host.mkdir()
    removed = backup.prune(folder, keep=2)
    assert sorted(removed) == sorted([dead_staging, dead_partial])
    assert sorted(p.name for p in folder.iterdir()) == sorted([live_staging.name, other_host.name])


def test_the_page_says_on_which_server_the_last_backup_was_made(app):
    """Two servers on one database: the schedule is shared, the archives are not. The server
    that did not make the last backup says where it is instead of a time and an empty list."""
    client = _admin_client(app)
    made = backup.run("manual")
    db.session.remove()
    with db.engine.connect() as conn:
        row = conn.execute(select(ScheduledTask.last_ok_host, ScheduledTask.last_ok_path)).one()
    assert row == (backup.schedule.HOST, str(made.path))
    page = client.get("/admin/cadangan").get_data(as_text=True)
    assert "data-backup-elsewhere" not in page
    with db.engine.begin() as conn:  # the other server backed up since
        conn.execute(update(ScheduledTask).values(last_ok_host="kiosk-b.lan", last_ok_path="/srv/kiosk/backups/x.tar.gz"))
    db.session.remove()
    page = client.get("/admin/cadangan").get_data(as_text=True)
    assert "Dibuat di server kiosk-b.lan dan disimpan di sana (/srv/kiosk/backups/x.tar.gz)" in page


def test_a_backup_first_deletes_photos_nobody_refers_to(app):
    """No photo is taken for days: the daily backup still carries no face nobody refers to."""
    from kiosk import photos
    from kiosk.models import Photo

    db.session.add_all([Photo(name="a" * 32 + ".jpg", data=b"old", created_at=utcnow() - timedelta(days=2)),
                        Photo(name="b" * 32 + ".jpg", data=b"young", created_at=utcnow())])
    db.session.commit()
    backup.run("manual")
    db.session.remove()
    assert set(db.session.scalars(select(Photo.name))) == {"b" * 32 + ".jpg"}
    assert photos.UNREFERRED_HOURS < 48
