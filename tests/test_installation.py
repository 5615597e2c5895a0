"""Several servers on one database, in one process: each "server" is an app with its own
instance folder on the engine's database. Secrets are given (a shared KIOSK_SECRETS_DIR, or
KIOSK_SECRET_KEY / KIOSK_CARD_KEYS), never invented on a database already in use; the card keys'
registry is in the database, so a key id means one key everywhere; a server short of a key says
so instead of failing. The same through real gunicorn servers: tests/test_two_servers.py."""

from __future__ import annotations

import itertools
import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import _make_app
from factories import make_card, make_staff, make_worker
from kiosk import card_registry, installation, tokens
from kiosk.extensions import db
from kiosk.models import Card, CardKey, InstallationSecret, Worker
from kiosk.tokens import Refusal

_n = itertools.count(1)


@pytest.fixture
def servers(engine_app, tmp_path):
    """Make another server of the test's database: ``servers(SECRETS_DIR=..., ...)``."""
    made = []

    def make(**config):
        instance = tmp_path / f"server-{next(_n)}" / "instance"
        app = _make_app(instance, {"SQLALCHEMY_DATABASE_URI": engine_app.config["SQLALCHEMY_DATABASE_URI"], **config})
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@contextmanager
def on(app):
    """Run the block as ``app`` (its own app context and session)."""
    with app.app_context():
        try:
            yield
        finally:
            db.session.remove()


def signed_in(app, role="petugas"):
    client = app.test_client()
    with on(app):
        username = make_staff(role=role).username
        make_staff(role="admin")
    assert client.post("/masuk", data={"username": username, "password": "rahasia-123"}).status_code == 302
    return client


def test_the_first_server_registers_its_secrets_and_a_second_with_its_own_is_refused(servers, tmp_path):
    first = servers()
    installation.check_before_serving(first)
    with on(first):
        assert db.session.get(InstallationSecret, "secret_key").digest == installation.secret_fingerprint(first.secret_key)
        assert [k.id for k in db.session.scalars(select(CardKey))] == ["A"]
    first_key = (Path(first.config["SECRETS_DIR"]) / "card-keys" / "A.key").read_text()

    second = servers()  # `make run` in another clone: its own instance/, nothing given
    with pytest.raises(installation.InstallationError) as refused:
        installation.check_before_serving(second)
    message = str(refused.value)
    assert "the secret key" in message and "card key A is in use but not on this server" in message
    assert "KIOSK_SECRETS_DIR" in message and "Several servers" in message
    assert first.secret_key not in message and first_key.strip() not in message
    assert not (Path(second.config["SECRETS_DIR"]) / "card-keys" / "A.key").exists()  # no key A of its own


def test_servers_given_one_secrets_folder_are_one_installation(servers, tmp_path):
    shared = tmp_path / "secrets"
    a, b = servers(SECRETS_DIR=str(shared)), servers(SECRETS_DIR=str(shared))
    installation.check_before_serving(a)
    installation.check_before_serving(b)
    assert a.secret_key == b.secret_key
    assert sorted(p.name for p in shared.iterdir()) == ["card-keys", "secret_key"]

    with on(a):
        card, token = make_card(make_worker())
        card_id = card.id
    with on(b):
        assert card_registry.resolve(token).ok  # a card issued on A is genuine on B

    with on(a):
        assert card_registry.rotate_key() == "B"
        new_card, new_token = make_card(make_worker())
        assert new_card.key_id == "B"
    with on(b):
        # B has not re-read the registry yet (it keeps it a few seconds), but a token naming a
        # key id it has not seen makes it look at once.
        assert card_registry.resolve(new_token).ok
        assert card_registry.keyring().current_id == "B"
        assert card_registry.rotate_key() == "C"  # key ids are unique across the installation
    with on(a):
        card_registry.retire_key("A")
    with on(b):
        card_registry.keyring().forget_cached_state()  # as it does by itself within seconds
        assert card_registry.resolve(token).refusal is Refusal.RETIRED_KEY
        assert card_registry.needs_reissue(db.session.get(Card, card_id))


def test_keys_given_in_the_environment_work_like_the_folder(servers, tmp_path):
    a = servers(SECRETS_DIR=str(tmp_path / "secrets"))
    installation.check_before_serving(a)
    key_a = (tmp_path / "secrets" / "card-keys" / "A.key").read_text().strip()
    b = servers(SECRET_KEY=a.secret_key, CARD_KEYS=f"A:{key_a}")
    installation.check_before_serving(b)
    with on(a):
        _card, token = make_card(make_worker())
    with on(b):
        assert card_registry.resolve(token).ok


def test_a_server_short_of_a_key_says_so_and_never_answers_500(servers, tmp_path):
    a = servers(SECRETS_DIR=str(tmp_path / "secrets"))
    installation.check_before_serving(a)
    with on(a):
        worker = make_worker()
        card, token = make_card(worker)
        worker_id, card_id = worker.id, card.id
    # B has the secret key but not the card keys (say, started before they were copied).
    b = servers(SECRET_KEY=a.secret_key)
    staff = signed_in(b)
    for path in (f"/kartu/{card_id}.png", f"/kartu/{card_id}.pdf", "/kartu/lembar.pdf?pilihan=semua"):
        response = staff.get(path)
        assert response.status_code == 503, path
        assert "Kartu dengan kunci A tidak bisa dibuat di server ini" in response.get_data(as_text=True)
    with on(b):
        other_id = make_worker().id
    response = staff.post(f"/kartu/pekerja/{other_id}/terbitkan")
    assert response.status_code == 503  # not issued: it could not be printed here
    with on(b):
        assert card_registry.valid_card(db.session.get(Worker, other_id)) is None
        assert card_registry.resolve(token).refusal is Refusal.UNKNOWN_KEY
        with pytest.raises(tokens.KeyRingError, match="card key A is in use but not on this server"):
            card_registry.token_for(db.session.get(Card, card_id))
    assert staff.get(f"/pekerja/{worker_id}").status_code == 200


def test_register_secret_key_replaces_a_lost_one_only_when_asked(servers):
    first = servers()
    installation.check_before_serving(first)
    second = servers()  # its own secret key: the first one's is "lost"
    with on(second):
        runner = second.test_cli_runner()
        declined = runner.invoke(args=["register-secret-key"], input="n\n")
        assert declined.exit_code != 0
        assert not installation.register_secret_key()
        done = runner.invoke(args=["register-secret-key", "--yes"])
        assert done.exit_code == 0 and "now the installation's" in done.output
        assert installation.register_secret_key()


def test_downgrade_leaves_the_ring_an_older_version_reads(engine_app):
    from flask_migrate import downgrade, upgrade

    card_registry.keyring()
    card_registry.rotate_key()
    card_registry.retire_key("A")
    db.session.remove()
    downgrade(revision=BEFORE_SECRETS)
    db.session.remove()
    ring_file = json.loads((card_registry.keyring().path / "ring.json").read_text())
    assert ring_file == {"current": "B", "retired": ["A"]}
    old = tokens.KeyRing.load_or_create(card_registry.keyring().path)  # as the older version opens it
    assert old.current_id == "B" and old.retired_ids == {"A"}
    upgrade()
    db.session.remove()


BEFORE_SECRETS = "0006"  # the migration before 0007_installation_secrets


@pytest.mark.parametrize("env, folder", [
    ({}, "instance/tls"),
    ({"KIOSK_INSTANCE_PATH": "/srv/kiosk-b/instance"}, "/srv/kiosk-b/instance/tls"),
    ({"KIOSK_INSTANCE_PATH": "/srv/kiosk-b/instance", "KIOSK_SECRETS_DIR": "/mnt/kiosk-secrets"}, "/mnt/kiosk-secrets/tls"),
])
def test_make_run_https_uses_the_configured_folders(env, folder):
    import os
    import subprocess

    root = Path(__file__).resolve().parent.parent
    clean = {k: v for k, v in os.environ.items() if k not in ("KIOSK_INSTANCE_PATH", "KIOSK_SECRETS_DIR")}
    plan = subprocess.run(["make", "-n", "-C", str(root), "run", "HTTPS=1"], env={**clean, **env},
                          capture_output=True, text=True, check=True).stdout
    assert f'test -f "{folder}/server.crt"' in plan
    assert f'KIOSK_CERTFILE="{folder}/server.crt" KIOSK_KEYFILE="{folder}/server.key"' in plan


def test_make_cert_writes_into_the_secrets_folder(servers, tmp_path):
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is missing")
    app = servers(SECRETS_DIR=str(tmp_path / "shared-secrets"))
    with on(app):
        result = app.test_cli_runner().invoke(args=["make-cert", "--name", "kiosk-a.lan", "--name", "kiosk-b.lan"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "shared-secrets" / "tls" / "server.crt").is_file()
    assert "kiosk-a.lan" in result.output and "kiosk-b.lan" in result.output
    assert app.test_client().get("/kiosk/sertifikat").status_code == 200


def test_an_empty_secret_key_is_never_the_installations(servers):
    # An older version could record the fingerprint of an empty key (its secret_key file cut
    # short by a power failure). A server with a real key takes its place without being asked,
    # and no server can record a key too short to be one, not even with register-secret-key.
    first = servers()
    with on(first):
        db.session.merge(InstallationSecret(name="secret_key", digest=installation.secret_fingerprint("")))
        db.session.commit()
    installation.check_before_serving(first)
    with on(first):
        expected = installation.secret_fingerprint(first.secret_key)
        assert db.session.get(InstallationSecret, "secret_key").digest == expected
        first.secret_key = first.config["SECRET_KEY"] = "short"
        with pytest.raises(installation.InstallationError, match="shorter than 32"):
            installation.register_secret_key(replace=True)
        done = first.test_cli_runner().invoke(args=["register-secret-key", "--yes"])
        assert done.exit_code != 0
        assert db.session.get(InstallationSecret, "secret_key").digest == expected
