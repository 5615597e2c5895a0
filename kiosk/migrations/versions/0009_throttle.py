"""Throttle counters in the database (kiosk.throttle): failed sign-ins, typed card codes, setup
and pairing codes and exit PINs counted where every server process and every server sees them,
instead of in each process's memory. Rows live a few minutes; nothing to carry over.

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('throttle',
    sa.Column('bucket', sa.String(length=80), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', name=op.f('pk_throttle'))
    )
    with op.batch_alter_table('throttle', schema=None) as batch_op:
        batch_op.create_index('ix_throttle_expires_at', ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('throttle', schema=None) as batch_op:
        batch_op.drop_index('ix_throttle_expires_at')
    op.drop_table('throttle')
