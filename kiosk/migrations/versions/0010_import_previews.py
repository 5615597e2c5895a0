"""Import previews in the database (``import_preview``): the checked rows of an uploaded list
wait there for the clerk who made them, so a preview made on one server is confirmed on another.
Previews of ``instance/imports/`` made before the upgrade are not carried over (they lived a few
hours; the clerk uploads the list again).

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_preview',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_import_preview_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_import_preview'))
    )
    with op.batch_alter_table('import_preview', schema=None) as batch_op:
        batch_op.create_index('ix_import_preview_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('import_preview', schema=None) as batch_op:
        batch_op.drop_index('ix_import_preview_created_at')
    op.drop_table('import_preview')
