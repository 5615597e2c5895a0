"""Safe upgrades: a database holding the office's data, at the first migration, is upgraded to
head (as `git pull && make run` does) on both engines. Before the first migration runs a backup is
taken; nothing is lost; and both ways back work: ``flask db downgrade`` keeps the data, and
restoring the pre-upgrade backup gives the database exactly as it was."""

from __future__ import annotations

import tarfile
from datetime import date, datetime, timezone

from flask_migrate import downgrade, upgrade
from sqlalchemy import MetaData, func, select, text
from werkzeug.security import generate_password_hash

from kiosk import backup
from kiosk.backup import check_archive
from kiosk.extensions import db

FIRST = "0001"
TABLES = ("staff", "worker", "coverage", "card", "distribution", "collection", "claim_request", "device",
          "audit_event")


def _first_release_data(conn) -> None:
    """An office's data written against the first migration's schema (reflected, so later
    migrations cannot change what this writes)."""
    tables = MetaData()
    tables.reflect(conn)
    t = tables.tables
    sqlite = conn.dialect.name == "sqlite"

    def at(*args):
        moment = datetime(*args, tzinfo=timezone.utc)
        return moment.replace(tzinfo=None) if sqlite else moment

    conn.execute(t["staff"].insert(), [
        {"id": 1, "username": "siti", "full_name": "Siti Admin", "password_hash": generate_password_hash("lama-sekali-1"),
         "role": "admin", "active": True, "session_version": 1, "created_at": at(2026, 1, 5, 2)},
    ])
    conn.execute(t["worker"].insert(), [
        {"id": n, "nik": f"160302010185{n:04d}", "name": f"Pekerja {n}", "sex": "L", "birth_place": "Muara Enim",
         "birth_date": date(1985, 1, 1), "address": "Jl. Merdeka", "kecamatan_code": "160302", "desa_name": "",
         "occupation": "Petani", "income": 1_500_000, "created_at": at(2026, 1, 6, 3), "created_by_id": 1}
        for n in range(1, 6)
    ])
    conn.execute(t["coverage"].insert(), [
        {"worker_id": n, "jkk": True, "jkm": True, "jht": False, "start_date": date(2026, 1, 6),
         "end_date": date(2026, 4, 5), "funder": "Pemkab Muara Enim", "income_basis": 1_500_000,
         "monthly_contribution": 21_800, "created_at": at(2026, 1, 6, 3)}
        for n in range(1, 6)
    ])
    conn.execute(t["card"].insert(), [
        {"id": n, "worker_id": n, "fallback_code": f"{n:011d}", "key_id": "k1", "issued_at": at(2026, 1, 6, 4)}
        for n in range(1, 6)
    ])
    conn.execute(t["distribution"].insert(), [{
        "id": 1, "name": "Penyaluran Tahap I", "day": date(2026, 1, 20), "place": "Aula", "packages_total": 100,
        "packages_given": 1, "next_seq": 2, "contents": "Beras", "eligibility": "coverage", "status": "open",
        "bast_number": "", "official_name": "", "official_nip": "", "official_title": "", "receiver_name": "",
        "receiver_title": "", "witness1_name": "", "witness2_name": "", "created_at": at(2026, 1, 10, 1),
    }])
    conn.execute(t["device"].insert(), [
        {"id": 1, "name": "Kios aula", "mode": "collect", "distribution_id": 1, "created_at": at(2026, 1, 19, 1)},
    ])
    conn.execute(t["collection"].insert(), [
        {"id": 1, "distribution_id": 1, "worker_id": 1, "card_id": 1, "device_id": 1, "station": "Kios aula",
         "seq": 1, "collected_at": at(2026, 1, 20, 2)},
    ])
    conn.execute(t["claim_request"].insert(), [
        {"request_id": "r1", "distribution_id": 1, "worker_id": 1, "outcome": "collected", "collection_id": 1,
         "created_at": at(2026, 1, 20, 2)},
    ])
    conn.execute(t["audit_event"].insert(), [
        {"at": at(2026, 1, 20, 2), "action": "collection.create", "entity_type": "collection", "entity_id": 1},
    ])
    if not sqlite:  # explicit ids: move the sequences past them, as a real database would be
        for name in ("staff", "worker", "card", "distribution", "device", "collection"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"))


def _counts() -> dict:
    with db.engine.connect() as conn:
        return {name: conn.execute(text(f"SELECT count(*) FROM {name}")).scalar() for name in TABLES}


def _revision() -> str:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_upgrade_with_data_from_the_first_migration_to_head(engine_app):
    app = engine_app
    head = _revision()
    assert head != FIRST, "only one migration: nothing to upgrade"
    downgrade(revision=FIRST)  # an empty database: no backup needed
    db.session.remove()
    assert backup.archives(backup.backup_folder()) == []
    with db.engine.begin() as conn:
        _first_release_data(conn)
    before = _counts()

    upgrade()  # what `make run` does after `git pull`
    db.session.remove()
    assert _revision() == head
    assert _counts() == before
    made = backup.archives(backup.backup_folder())
    assert [a.kind for a in made] == ["upgrade"]
    with tarfile.open(made[0].path) as tar:
        manifest = check_archive(tar)
    assert manifest["revision"] == FIRST

    # The app runs on the upgraded data: the first release's admin signs in and sees a worker.
    client = app.test_client()
    assert client.post("/masuk", data={"username": "siti", "password": "lama-sekali-1"}).status_code == 302
    assert "Pekerja 3" in client.get("/pekerja/3").get_data(as_text=True)

    # Nothing to migrate: no backup.
    upgrade()
    db.session.remove()
    assert len(backup.archives(backup.backup_folder())) == 1

    # Going back, way 1: downgrade to the old revision keeps the data.
    downgrade(revision=FIRST)
    db.session.remove()
    assert _revision() == FIRST and _counts() == before
    upgrade()
    db.session.remove()

    # Going back, way 2: restore the pre-upgrade backup (server stopped): the old revision, the old data.
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM claim_request"))
    db.session.remove()
    db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["restore", str(made[0].path), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert _revision() == FIRST and _counts() == before
    upgrade()  # leave the database at head for the next test
    db.session.remove()


def test_a_new_database_is_migrated_without_a_backup(tmp_path):
    from kiosk import create_app

    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        upgrade()
        db.session.remove()
        db.engine.dispose()
    assert not (tmp_path / "backups").exists()


def test_a_failed_backup_stops_the_migration(app, tmp_path):
    import pytest

    head = _revision()
    downgrade(revision=FIRST)
    with db.engine.begin() as conn:
        _first_release_data(conn)
    db.session.remove()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    app.config["BACKUP_DIR"] = str(blocker / "backups")
    with pytest.raises(backup.BackupError, match="nothing was migrated"):
        upgrade()
    db.session.remove()
    assert _revision() == FIRST
    app.config["BACKUP_DIR"] = None
    upgrade()
    db.session.remove()
    assert _revision() == head
    assert db.session.scalar(select(func.count()).select_from(text("worker"))) == 5
