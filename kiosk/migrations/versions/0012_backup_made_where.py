"""Where the last backup was made: the server (host name) and the archive's path. Each server
keeps the archives it makes in its own backup folder while the schedule lives in the shared
database, so the page *Cadangan* of another server says where the last one is.

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scheduled_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_ok_host', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('last_ok_path', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('scheduled_task', schema=None) as batch_op:
        batch_op.drop_column('last_ok_path')
        batch_op.drop_column('last_ok_host')
