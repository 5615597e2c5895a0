"""Durable as the answers it gives (invariant 8): SQLite commits with ``synchronous = FULL`` in
WAL mode; a PostgreSQL session never runs with ``synchronous_commit = off``, whatever the server,
database, role or connection says."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import create_engine, text

from kiosk.database import configure_engine


def test_sqlite_commits_are_synchronous_full_in_wal(app):
    from kiosk.extensions import db

    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


@pytest.mark.postgres
def test_postgres_session_turns_synchronous_commit_back_on(postgres_url, caplog, monkeypatch):
    monkeypatch.setattr("kiosk.database._server_warned", set())
    # The connection asks for it off (as postgresql.conf, ALTER DATABASE or ALTER ROLE could).
    engine = create_engine(postgres_url, connect_args={"options": "-c synchronous_commit=off"})
    plain = create_engine(postgres_url, connect_args={"options": "-c synchronous_commit=off"})
    configure_engine(engine)
    try:
        with plain.connect() as conn:  # without the app's check it really is off
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "off"
        with caplog.at_level(logging.WARNING, logger="kiosk.database"), engine.connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
            conn.execute(text("SELECT 1"))
            conn.rollback()
        assert any("synchronous_commit" in r.getMessage() for r in caplog.records)
        with engine.connect() as conn:  # a pooled connection keeps it after the pool's reset
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
    finally:
        engine.dispose()
        plain.dispose()


@pytest.mark.postgres
def test_postgres_stronger_settings_are_left_alone(postgres_url):
    engine = create_engine(postgres_url, connect_args={"options": "-c synchronous_commit=remote_apply"})
    configure_engine(engine)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "remote_apply"
    finally:
        engine.dispose()


def test_app_on_postgres_is_durable(engine_app):
    from kiosk.extensions import db

    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        else:
            assert conn.execute(text("SHOW synchronous_commit")).scalar() in ("on", "local", "remote_write", "remote_apply")
