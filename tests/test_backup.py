"""Backup and restore: a consistent copy taken while the app keeps writing, put back whole."""

import os
import stat
import tarfile
import threading
from pathlib import Path

import pytest

from sqlalchemy import func, select, text

from factories import make_worker
from kiosk.extensions import db
from kiosk.models import Coverage, Worker


def _write_pairs(app, stop: threading.Event, written: list):
    """Keep enrolling workers, each with a coverage row, in one transaction per pair."""
    from datetime import date

    from kiosk.database import write_transaction

    n = 0
    with app.app_context():
        while not stop.is_set() and n < 400:
            n += 1
            with write_transaction():
                worker = Worker(nik=f"16030201019{n:05d}"[:16], name=f"Beban {n}", sex="L",
                                birth_date=date(1990, 1, 1), kecamatan_code="160302")
                db.session.add(worker)
                db.session.flush()
                db.session.add(Coverage(worker_id=worker.id, start_date=date(2026, 1, 1), end_date=date(2026, 3, 31)))
            written.append(n)
        db.session.remove()


def _counts():
    return (
        db.session.scalar(select(func.count(Worker.id))),
        db.session.scalar(select(func.count(Coverage.id))),
    )


def test_backup_under_load_and_restore(engine_app, tmp_path):
    app = engine_app
    runner = app.test_cli_runner()
    from kiosk import card_registry, photos
    from kiosk.models import Photo

    db.session.add(Photo(name=PHOTO, data=b"\xff\xd8photo"))
    db.session.commit()
    make_worker(name="Sebelum Cadangan", photo=PHOTO)

    card_registry.keyring()  # make the card keys exist
    db.session.remove()

    stop, written = threading.Event(), []
    writer = threading.Thread(target=_write_pairs, args=(app, stop, written))
    writer.start()
    try:
        while len(written) < 20:
            threading.Event().wait(0.01)
        result = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    finally:
        stop.set()
        writer.join(30)
    assert result.exit_code == 0, result.output
    archive = result.output.strip().splitlines()[-1]
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "instance/secret_key" in names and "instance/card-keys/A.key" in names
    assert not any(name.startswith("instance/photos") for name in names)  # photos are in the database

    total_after_load = _counts()
    # damage: a row removed, the photo gone
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM coverage"))
        conn.execute(text("DELETE FROM worker WHERE name = 'Sebelum Cadangan'"))
        conn.execute(text("DELETE FROM photo"))
    db.session.remove()

    result = runner.invoke(args=["restore", archive, "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    workers, coverages = _counts()
    # a consistent moment: every pair whole, the pre-backup worker back, nothing from after
    assert workers == coverages + 1
    assert 20 <= coverages <= total_after_load[1]
    assert db.session.scalar(select(Worker).where(Worker.name == "Sebelum Cadangan")) is not None
    assert photos.load(PHOTO) == b"\xff\xd8photo"
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


PHOTO = "0123456789abcdef0123456789abcdef.jpg"


@pytest.fixture
def app_config(request, tmp_path):
    """The secrets in a folder of their own (KIOSK_SECRETS_DIR) for the test that says so."""
    return {"SECRETS_DIR": str(tmp_path / "secrets")} if "secrets_elsewhere" in request.node.name else {}


def test_secrets_elsewhere_are_backed_up_and_restored_there(app, tmp_path):
    from kiosk import card_registry, tls

    secrets = tmp_path / "secrets"
    assert app.config["SECRETS_DIR"] == str(secrets)
    card_registry.keyring()
    paths = tls.files(secrets)
    paths.folder.mkdir()
    paths.ca_key.write_text("office CA key")
    runner = app.test_cli_runner()
    archive = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")]).output.strip()
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"instance/secret_key", "instance/card-keys/A.key", "instance/tls/ca.key"} <= names
    key = (secrets / "card-keys" / "A.key").read_text()
    (secrets / "card-keys" / "A.key").unlink()
    paths.ca_key.unlink()
    db.session.remove()
    assert runner.invoke(args=["restore", archive, "--yes"]).exit_code == 0
    assert (secrets / "card-keys" / "A.key").read_text() == key and paths.ca_key.read_text() == "office CA key"
    assert not (Path(app.instance_path) / "card-keys").exists()


def test_an_older_archive_with_photos_on_disk_restores_them_for_the_upgrade(app, tmp_path):
    runner = app.test_cli_runner()
    archive = runner.invoke(args=["backup", "--to", str(tmp_path)]).output.strip()
    old = _tampered(tmp_path, archive, "older", lambda ms, mf: (
        ms + [_file("instance/photos/", kind=tarfile.DIRTYPE), _file(f"instance/photos/{PHOTO}", b"\xff\xd8old")],
        mf | {"folders": mf["folders"] + ["photos"]}))
    db.session.remove()
    assert runner.invoke(args=["restore", old, "--yes"]).exit_code == 0
    assert (Path(app.instance_path) / "photos" / PHOTO).read_bytes() == b"\xff\xd8old"


def test_restore_refuses_other_engine_backup(app, tmp_path):
    runner = app.test_cli_runner()
    archive = runner.invoke(args=["backup", "--to", str(tmp_path)]).output.strip()
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://nobody@127.0.0.1/none"
    result = runner.invoke(args=["restore", archive, "--yes"])
    assert result.exit_code != 0 and "sqlite" in result.output


# ---- a tampered archive is refused before anything is touched -------------------------------


def _tampered(tmp_path, archive: str, name: str, mutate) -> str:
    """A copy of ``archive`` rewritten by ``mutate(members, manifest)`` -> (members, manifest)."""
    import io
    import json

    out = tmp_path / f"tampered-{name}.tar.gz"
    with tarfile.open(archive) as src:
        members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src.getmembers()]
    manifest = json.loads(dict((m.name, d) for m, d in members)["manifest.json"])
    members = [(m, d) for m, d in members if m.name != "manifest.json"]
    members, manifest = mutate(members, manifest)
    with tarfile.open(out, "w:gz") as dst:
        for member, data in members:
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        dst.addfile(info, io.BytesIO(data))
    return str(out)


def _file(name: str, data: bytes = b"x", kind=tarfile.REGTYPE, target: str = ""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, (data if kind == tarfile.REGTYPE else None)


TAMPERING = {
    "manifest folder ../": lambda ms, mf: (ms + [_file("instance/../outside/x")], mf | {"folders": mf["folders"] + ["../outside"]}),
    "manifest file ../": lambda ms, mf: (ms, mf | {"files": ["../../outside-file"]}),
    "manifest absolute": lambda ms, mf: (ms, mf | {"folders": ["/tmp"]}),
    "member ../": lambda ms, mf: (ms + [_file("../escape")], mf),
    "member absolute": lambda ms, mf: (ms + [_file("/tmp/escape")], mf),
    "member in instance/../": lambda ms, mf: (ms + [_file("instance/photos/../../escape")], mf),
    "symlink": lambda ms, mf: (ms + [_file("instance/photos/link.jpg", kind=tarfile.SYMTYPE, target="/etc/passwd")], mf),
    "hard link": lambda ms, mf: (ms + [_file("instance/photos/hard.jpg", kind=tarfile.LNKTYPE, target="instance/secret_key")], mf),
    "device": lambda ms, mf: (ms + [_file("instance/photos/dev", kind=tarfile.CHRTYPE)], mf),
    "unknown instance file": lambda ms, mf: (ms + [_file("instance/config.py", b"SECRET_KEY='x'")], mf),
    "unknown manifest folder": lambda ms, mf: (ms + [_file("instance/tls/server.key")], mf | {"folders": mf["folders"] + ["tls"]}),
    "manifest names a missing file": lambda ms, mf: ([(m, d) for m, d in ms if m.name != "instance/secret_key"], mf),
    "manifest is not a dict": lambda ms, mf: (ms, ["sqlite"]),
    "backslash name": lambda ms, mf: (ms + [_file("instance\\..\\..\\escape")], mf),
}


def test_restore_refuses_a_tampered_archive_before_touching_anything(app, tmp_path):
    """Restore refuses any member outside instance/ (../, absolute, links, devices), any name a
    backup never writes and a manifest that does not match the archive — before the database or
    a single file is touched."""
    from kiosk.backup import BackupError, restore_backup

    runner = app.test_cli_runner()
    make_worker(name="Tetap Ada")
    photos = os.path.join(app.instance_path, "photos")
    os.makedirs(photos, exist_ok=True)
    with open(os.path.join(photos, "a.jpg"), "wb") as fh:
        fh.write(b"\xff\xd8photo")
    archive = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")]).output.strip()
    make_worker(name="Setelah Cadangan")  # a restore would remove this one
    db.session.remove()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    before = sorted(os.listdir(app.instance_path)), sorted(os.listdir(photos))
    for name, mutate in TAMPERING.items():
        bad = _tampered(tmp_path, archive, name.replace(" ", "-").replace("/", "_"), mutate)
        try:
            restore_backup(bad, app.instance_path, app.config["SQLALCHEMY_DATABASE_URI"])
        except BackupError:
            pass
        else:
            raise AssertionError(f"{name}: restored")
        result = runner.invoke(args=["restore", bad, "--yes"])
        assert result.exit_code != 0, name
        db.session.remove()
        assert db.session.scalar(select(Worker).where(Worker.name == "Setelah Cadangan")) is not None, name
        assert (sorted(os.listdir(app.instance_path)), sorted(os.listdir(photos))) == before, name
        assert sorted(os.listdir(outside)) == ["keep"], name
        assert not (tmp_path / "escape").exists() and not os.path.exists("/tmp/escape"), name
    # The untampered archive still restores.
    result = runner.invoke(args=["restore", archive, "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert db.session.scalar(select(Worker).where(Worker.name == "Setelah Cadangan")) is None


def test_restore_of_something_that_is_not_an_archive(app, tmp_path):
    not_archive = tmp_path / "x.tar.gz"
    not_archive.write_bytes(b"not a tar")
    result = app.test_cli_runner().invoke(args=["restore", str(not_archive), "--yes"])
    assert result.exit_code != 0 and "not a backup archive" in result.output
