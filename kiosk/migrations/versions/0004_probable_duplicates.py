"""Probable duplicates: the worker's name as compared (name_key, filled for existing workers),
indexes for the two duplicate rules, and the pairs staff confirmed are different people.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 17:49:55.269665

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BATCH = 2_000


def _fill_name_keys():
    # The app's own normaliser: a later change to it comes with its own migration refilling.
    from kiosk.duplicates import name_key

    bind = op.get_bind()
    worker = sa.table("worker", sa.column("id", sa.Integer), sa.column("name", sa.String),
                      sa.column("name_key", sa.String))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(worker.c.id, worker.c.name).where(worker.c.id > last).order_by(worker.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            worker.update().where(worker.c.id == sa.bindparam("wid")).values(name_key=sa.bindparam("key")),
            [{"wid": wid, "key": name_key(name)} for wid, name in rows],
        )
        last = rows[-1][0]


def upgrade():
    op.create_table('distinct_pair',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('other_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('worker_id < other_id', name=op.f('ck_distinct_pair_ordered')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff.id'], name=op.f('fk_distinct_pair_decided_by_id_staff')),
    sa.ForeignKeyConstraint(['other_id'], ['worker.id'], name=op.f('fk_distinct_pair_other_id_worker'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_distinct_pair_worker_id_worker'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distinct_pair')),
    sa.UniqueConstraint('worker_id', 'other_id', name='uq_distinct_pair')
    )
    with op.batch_alter_table('distinct_pair', schema=None) as batch_op:
        batch_op.create_index('ix_distinct_pair_other', ['other_id'], unique=False)

    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=120), server_default='', nullable=False))
    _fill_name_keys()
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.create_index('ix_worker_desa_birth', ['desa_code', 'birth_date'], unique=False)
        batch_op.create_index('ix_worker_name_key_birth', ['name_key', 'birth_date'], unique=False)


def downgrade():
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.drop_index('ix_worker_name_key_birth')
        batch_op.drop_index('ix_worker_desa_birth')
    if op.get_bind().dialect.name == "sqlite":
        # Native since SQLite 3.35; a batch copy of `worker` would trip the foreign keys to it.
        op.execute("ALTER TABLE worker DROP COLUMN name_key")
    else:
        op.drop_column('worker', 'name_key')

    with op.batch_alter_table('distinct_pair', schema=None) as batch_op:
        batch_op.drop_index('ix_distinct_pair_other')

    op.drop_table('distinct_pair')
