"""What the app keeps on disk is the office's alone (issue #12), on both engines: with the
usual umask 022, a fresh start (a real ``flask --app kiosk db upgrade``), an enrollment with a
photo through the form, an import preview, the LAN certificate and a backup (a real ``flask --app
kiosk backup``) leave every file under ``instance/`` and ``backups/`` mode 0600 and every folder
0700 — the SQLite database and its -wal/-shm included. And a start tightens what an older version
left open."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import CHEAP_HASH, _make_app
from factories import make_staff

FLASK = Path(sys.executable).with_name("flask")  # beside the interpreter running the tests


@contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def flask(instance: Path, *args: str, mask: int = 0o022, database: str | None = None) -> str:
    env = {**os.environ, "KIOSK_INSTANCE_PATH": str(instance), "KIOSK_PASSWORD_HASH_METHOD": CHEAP_HASH}
    env.pop("DATABASE_URL", None)
    if database:
        env["DATABASE_URL"] = database
    result = subprocess.run([str(FLASK), "--app", "kiosk", *args], env=env, capture_output=True, text=True,
                            timeout=120, preexec_fn=lambda: os.umask(mask))
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def modes(*roots: Path) -> dict[str, str]:
    """Every path under ``roots`` (the roots too) that is not 0600 (a file) or 0700 (a folder)."""
    wrong = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in [None, *files]:
                path = Path(folder) if name is None else Path(folder, name)
                info = path.lstat()
                want = 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
                if stat.S_IMODE(info.st_mode) != want:
                    wrong[str(path.relative_to(root.parent))] = oct(stat.S_IMODE(info.st_mode))
    return wrong


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 120, 150)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.skipif(not FLASK.exists(), reason="the flask command is not beside the interpreter")
@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_everything_the_app_makes_on_disk_is_0600_and_0700_whatever_the_umask(tmp_path, request, engine):
    """On PostgreSQL the database is the server's files; what is ours is instance/ (the secret
    key, the card keys, the certificate) and the backups (pg_dump archives)."""
    from test_workers_views import enroll_form

    from conftest import _truncate_postgres
    from kiosk.extensions import db
    from kiosk.tls import make_certificate

    database = request.getfixturevalue("postgres_url") if engine == "postgresql" else None
    config = {"SQLALCHEMY_DATABASE_URI": database} if database else None
    instance, backups = tmp_path / "instance", tmp_path / "backups"
    flask(instance, "db", "upgrade", database=database)  # a fresh start: instance/, its secret key
    assert (instance / "secret_key").is_file()
    assert (instance / "kiosk.sqlite3").is_file() == (engine == "sqlite")
    assert modes(instance) == {}

    with umask(0o022):
        app = _make_app(instance, config)
        with app.app_context():
            try:
                make_staff(role="admin", username="kepala")
                client = app.test_client()
                assert client.post("/masuk", data={"username": "kepala", "password": "rahasia-123"}).status_code == 302
                data = enroll_form() | {"photo_file": (io.BytesIO(jpeg()), "kamera.jpg", "image/jpeg")}
                response = client.post("/pekerja/baru", data=data, content_type="multipart/form-data")
                assert response.status_code == 303, response.get_data(as_text=True)[-500:]
                listing = client.get("/pekerja/impor/templat.csv").get_data()
                client.post("/pekerja/impor", data={"berkas": (io.BytesIO(listing), "daftar.csv", "text/csv")},
                            content_type="multipart/form-data")
                make_certificate(app.config["SECRETS_DIR"], ["kiosk.local"], ["192.168.1.10"])
                if engine == "sqlite":  # the server is running: the database's -wal and -shm are there
                    assert (instance / "kiosk.sqlite3-wal").exists() and (instance / "kiosk.sqlite3-shm").exists()
                flask(instance, "backup", database=database)  # while serving, as the scheduler does
                assert list(backups.glob("kiosk-backup-*.tar.gz"))
                assert {p.name for p in instance.iterdir()} >= {"secret_key", "tls"}
                assert modes(instance, backups) == {}
            finally:
                db.session.remove()
                db.engine.dispose()
    if database:
        _truncate_postgres(app)
    assert modes(instance, backups) == {}


def test_a_start_tightens_what_an_older_version_left_open(tmp_path):
    from kiosk.extensions import db

    instance = tmp_path / "instance"
    with umask(0o022):
        app = _make_app(instance)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    (instance / "imports").mkdir(mode=0o755)
    (instance / "imports" / "old.json").write_text("{}")
    for path in (instance, instance / "imports"):
        os.chmod(path, 0o755)
    for path in (instance / "kiosk.sqlite3", instance / "secret_key", instance / "imports" / "old.json"):
        os.chmod(path, 0o644)
    outside = tmp_path / "outside.txt"
    outside.write_text("not the app's")
    os.chmod(outside, 0o644)
    (instance / "link").symlink_to(outside)
    assert modes(instance)
    _make_app(instance)
    wrong = modes(instance)
    assert list(wrong) == ["instance/link"]  # the link itself is left alone, and never followed:
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
