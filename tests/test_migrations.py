"""Migrations: from empty to head and back to base, on both engines; the models match them."""

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from kiosk.extensions import db


# Indexes on an expression, which SQLite's reflection cannot read back (it warns and skips them):
# on SQLite they are checked by their DDL in sqlite_master instead.
EXPRESSION_INDEXES = {"uq_staff_username_lower": "lower(username)"}


def test_models_match_migrations(engine_app):
    sqlite = db.engine.dialect.name == "sqlite"
    with db.engine.connect() as conn, warnings.catch_warnings():
        if sqlite:
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        if sqlite:
            ddl = dict(conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
    if sqlite:
        for name, expression in EXPRESSION_INDEXES.items():
            assert expression in ddl[name].replace('"', "")
        diff = [d for d in diff if not (d[0] == "add_index" and d[1].name in EXPRESSION_INDEXES)]
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(engine_app):
    downgrade(revision="base")
    db.session.remove()
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()
    db.session.remove()
    assert {"worker", "coverage", "card", "distribution", "collection", "staff", "device", "audit_event"} <= set(
        inspect(db.engine).get_table_names()
    )


def test_audit_trail_is_append_only(engine_app):
    import pytest
    from sqlalchemy.exc import DBAPIError

    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_event (at, action, entity_type) VALUES (CURRENT_TIMESTAMP, 'x', 'y')"))
    for statement in ("UPDATE audit_event SET action = 'z'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))


def test_ids_beyond_the_database_integer_are_not_found(engine_app):
    from factories import make_staff

    client = engine_app.test_client()
    make_staff(role="admin", username="siti", password="benar-sekali")
    client.post("/masuk", data={"username": "siti", "password": "benar-sekali"})
    assert client.get("/pekerja/1").status_code == 404
    assert client.get("/pekerja/99999999999").status_code == 404


def test_handover_revision_keeps_rows_and_marks_old_collections_handed_over(engine_app):
    """0003 down and up again with collections, claim requests and a device in the tables:
    nothing is lost, and a collection from before 0003 counts as handed over when claimed."""
    import uuid
    from datetime import timedelta

    from factories import make_coverage, make_distribution, make_staff, make_worker
    from kiosk import distribution as dist
    from kiosk.models import Collection
    from kiosk.terminal import pairing

    d = make_distribution(packages=5)
    worker = make_worker()
    make_coverage(worker, start=d.day - timedelta(days=3), end=d.day + timedelta(days=30))
    staff = make_staff(role="admin")
    staff_id = staff.id
    pairing.add_device("Kios aula", "collect", d, staff=None)
    collection_id = dist.claim(d.id, worker.id, request_id=uuid.uuid4().hex, staff=staff).collection_id
    db.session.remove()
    downgrade(revision="0002")
    db.session.remove()
    assert "handed_over_at" not in {c["name"] for c in inspect(db.engine).get_columns("collection")}
    upgrade()
    db.session.remove()
    row = db.session.get(Collection, collection_id)
    assert row.handed_over_at == row.collected_at and row.handed_over_by_id == staff_id
    assert db.session.scalar(text("SELECT count(*) FROM claim_request")) == 1
