"""Import uploads and column mappings: the uploaded list kept for a few hours in the database
(any server can ask which column is which, preview it again, give back its refused rows), and
the columns a clerk named, remembered by the header row.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 19:31:46.752244

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('column_mapping',
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['staff.id'], name=op.f('fk_column_mapping_updated_by_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('signature', name=op.f('pk_column_mapping'))
    )
    op.create_table('import_upload',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('header_line', sa.Integer(), nullable=True),
    sa.Column('columns', sa.JSON(), nullable=True),
    sa.Column('refused', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_import_upload_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_import_upload'))
    )
    with op.batch_alter_table('import_upload', schema=None) as batch_op:
        batch_op.create_index('ix_import_upload_created_at', ['created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('import_upload', schema=None) as batch_op:
        batch_op.drop_index('ix_import_upload_created_at')

    op.drop_table('import_upload')
    op.drop_table('column_mapping')
