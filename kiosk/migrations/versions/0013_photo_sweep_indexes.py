"""Indexes for deleting photos nobody refers to (``kiosk.photos.sweep``): the photos older than
the grace period are found by ``photo.created_at``, and whether a worker or a collection still
refers to each by ``worker.photo`` and ``collection.handover_photo``. Nothing else changes.

Revision ID: 0013
Revises: 0012
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.create_index('ix_photo_created_at', ['created_at'], unique=False)
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.create_index('ix_worker_photo', ['photo'], unique=False)
    with op.batch_alter_table('collection', schema=None) as batch_op:
        batch_op.create_index('ix_collection_handover_photo', ['handover_photo'], unique=False)


def downgrade():
    with op.batch_alter_table('collection', schema=None) as batch_op:
        batch_op.drop_index('ix_collection_handover_photo')
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.drop_index('ix_worker_photo')
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_index('ix_photo_created_at')
