"""The office PC: settings an admin edits (one row per changed setting), scheduled tasks (the daily
backup's due state, shared by every server process), and each kiosk's reported clock offset.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('setting',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['staff.id'], name=op.f('fk_setting_updated_by_id_staff')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_setting'))
    )
    op.create_table('scheduled_task',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_ok_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduled_task'))
    )
    with op.batch_alter_table('device') as batch_op:
        batch_op.add_column(sa.Column('clock_offset_s', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('clock_checked_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('device') as batch_op:
        batch_op.drop_column('clock_checked_at')
        batch_op.drop_column('clock_offset_s')
    op.drop_table('scheduled_task')
    op.drop_table('setting')
