"""Photos in the database: a ``photo`` table, and the JPEGs of ``instance/photos/`` copied into
it under the same names, so every server shows every photo. The files are left in place (delete
the folder once a backup holds the database); ``flask --app kiosk import-photos FOLDER`` copies
the folder of another server that kept its own.

Revision ID: 0005
Revises: 0004
"""
import logging
import re
from datetime import datetime, timezone
from pathlib import Path

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
NAME_RE = re.compile(r"^[0-9a-f]{32}\.jpg$")

photo = sa.table(
    "photo",
    sa.column("name", sa.String),
    sa.column("data", sa.LargeBinary),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _photos_folder() -> Path | None:
    try:
        from flask import current_app

        return Path(current_app.instance_path) / "photos"
    except RuntimeError:  # alembic run without the app: no instance folder to read
        return None


def upgrade():
    op.create_table('photo',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_photo'))
    )
    folder = _photos_folder()
    if folder is None or not folder.is_dir():
        return
    bind = op.get_bind()
    copied = 0
    for path in sorted(folder.glob("*.jpg")):
        if not NAME_RE.match(path.name):
            continue
        made = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        if bind.dialect.name == "sqlite":
            made = made.replace(tzinfo=None)  # the app's UTC columns are naive on SQLite
        bind.execute(photo.insert().values(name=path.name, data=path.read_bytes(), created_at=made))
        copied += 1
    if copied:
        log.info("copied %d photos from %s into the database; the folder is no longer read", copied, folder)


def downgrade():
    folder = _photos_folder()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in op.get_bind().execute(sa.select(photo.c.name, photo.c.data)):
            if NAME_RE.match(name) and not (folder / name).exists():
                (folder / name).write_bytes(data)
    op.drop_table('photo')
