"""The backup job's lease names its owner (host, process) and is renewed while the backup runs,
so a backup whose process is gone is seen as gone within minutes instead of blocking every backup
for half an hour; ``pending_kind`` is the kind the next due backup makes (``close`` when a
distribution was closed while another backup was running).

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scheduled_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('pending_kind', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('scheduled_task', schema=None) as batch_op:
        batch_op.drop_column('pending_kind')
        batch_op.drop_column('lease_owner')
