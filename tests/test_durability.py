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


def _writers():
    """Every place the app puts a file in place by rename or link, as (name, write(folder))."""
    from kiosk import config, static_files, tls
    from kiosk.backup import make_backup
    from kiosk.tokens.keyring import FolderRegistry, KeyStore

    def backup(folder):
        import sqlite3

        sqlite3.connect(folder / "db.sqlite3").close()
        make_backup(str(folder), f"sqlite:///{folder / 'db.sqlite3'}", str(folder / "backups"), "manual")

    def static(folder):
        (folder / "app.js").write_text("console.log('kiosk');\n" * 200)
        static_files.compress(folder, quiet=True)

    return [
        ("secret key", lambda folder: config.secret_key(folder)),
        ("card key", lambda folder: KeyStore(folder / "card-keys").create("A")),
        ("card key ring", lambda folder: FolderRegistry(folder / "card-keys")._write("A", set())),
        ("backup archive", backup),
        ("LAN certificate", lambda folder: tls.make_certificate(folder, ["kiosk.lan"], ["10.0.0.2"])),
        ("compressed static file", static),
    ]


@pytest.mark.parametrize("writer", _writers(), ids=lambda w: w[0])
def test_every_file_put_in_place_has_its_folder_synced_after(writer, tmp_path, monkeypatch):
    """A rename or link is on the disk only once its folder is fsynced (else a power cut can
    lose a backup whose row was committed, or a key). What this can prove: each rename/link
    into a folder is followed by an fsync of that folder. Not what a real disk does on a power
    cut (that needs pulling the plug)."""
    import os
    from pathlib import Path

    from kiosk import private_files

    events = []
    real_replace, real_link, real_sync = os.replace, os.link, private_files.sync_folder

    def replace(source, destination, *args, **kwargs):
        real_replace(source, destination, *args, **kwargs)
        events.append(("placed", Path(destination).parent.resolve()))

    def link(source, destination, *args, **kwargs):
        real_link(source, destination, *args, **kwargs)
        events.append(("placed", Path(destination).parent.resolve()))

    def sync(path):
        real_sync(path)
        events.append(("synced", Path(path).resolve()))

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "rename", replace)
    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(private_files, "sync_folder", sync)
    name, write = writer
    write(tmp_path)
    placed = [i for i, (what, _) in enumerate(events) if what == "placed"]
    assert placed, f"{name}: nothing was put in place by rename or link"
    for i in placed:
        assert ("synced", events[i][1]) in events[i + 1:], f"{name}: {events[i][1]} not synced after"
