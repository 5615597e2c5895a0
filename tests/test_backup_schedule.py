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
