"""Backup and restore: a consistent copy taken while the app keeps writing, put back whole."""

import os
import stat
import tarfile
import threading

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
    make_worker(name="Sebelum Cadangan")
    photos = os.path.join(app.instance_path, "photos")
    os.makedirs(photos, exist_ok=True)
    with open(os.path.join(photos, "a.jpg"), "wb") as fh:
        fh.write(b"\xff\xd8photo")
    from kiosk import card_registry

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
    assert "instance/secret_key" in names and "instance/photos/a.jpg" in names
    assert any(name.startswith("instance/card-keys/") for name in names)

    total_after_load = _counts()
    # damage: a row removed, the photo gone
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM coverage"))
        conn.execute(text("DELETE FROM worker WHERE name = 'Sebelum Cadangan'"))
    os.remove(os.path.join(photos, "a.jpg"))
    db.session.remove()

    result = runner.invoke(args=["restore", archive, "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    workers, coverages = _counts()
    # a consistent moment: every pair whole, the pre-backup worker back, nothing from after
    assert workers == coverages + 1
    assert 20 <= coverages <= total_after_load[1]
    assert db.session.scalar(select(Worker).where(Worker.name == "Sebelum Cadangan")) is not None
    with open(os.path.join(photos, "a.jpg"), "rb") as fh:
        assert fh.read() == b"\xff\xd8photo"
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_restore_refuses_other_engine_backup(app, tmp_path):
    runner = app.test_cli_runner()
    archive = runner.invoke(args=["backup", "--to", str(tmp_path)]).output.strip()
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://nobody@127.0.0.1/none"
    result = runner.invoke(args=["restore", archive, "--yes"])
    assert result.exit_code != 0 and "sqlite" in result.output
