"""Installation secrets in the database, as digests: the card keys' registry (``card_key``: key id,
fingerprint, made, retired) and ``installation_secret`` (the app secret's fingerprint, the setup
code's hash), so that several servers on one database agree on them. The keys of an older
version's ``instance/card-keys/`` are registered by the app on first use, not here (the migration
may run on a machine without them).

Revision ID: 0007
Revises: 0006
"""
import json
import os
from pathlib import Path

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('card_key',
    sa.Column('id', sa.String(length=1), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_key'))
    )
    op.create_table('installation_secret',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_installation_secret'))
    )


KEY_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _card_keys_folder() -> Path | None:
    try:
        from flask import current_app

        return Path(current_app.config.get("SECRETS_DIR") or current_app.instance_path) / "card-keys"
    except RuntimeError:  # alembic run without the app
        return None


def downgrade():
    # The older version reads the current and retired keys from card-keys/ring.json: write the
    # registry there, so a rotation or retirement made since the upgrade is not forgotten.
    rows = op.get_bind().execute(sa.text("SELECT id, retired_at FROM card_key")).all()
    folder = _card_keys_folder()
    live = sorted((r.id for r in rows if r.retired_at is None), key=KEY_IDS.index)
    if live and folder is not None and folder.is_dir():
        state = {"current": live[-1], "retired": sorted(r.id for r in rows if r.retired_at is not None)}
        tmp = folder / ".ring.json.downgrade.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(state) + "\n")
        os.replace(tmp, folder / "ring.json")
    op.drop_table('installation_secret')
    op.drop_table('card_key')
