"""Staff usernames unique without regard to case: a unique index on lower(username).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 18:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("uq_staff_username_lower", "staff", [sa.text("lower(username)")], unique=True)


def downgrade():
    op.drop_index("uq_staff_username_lower", table_name="staff")
