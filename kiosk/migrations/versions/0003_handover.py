"""Claimed is not handed over: a collection's second moment (handed over by whom, when, by
which desk request, without a card why), and the kiosk's slip paper width.

Collections made before this revision were counted as packages received (the BAST listed
them), so the upgrade marks them handed over at the moment they were claimed, by the staff
member who claimed them (none for a kiosk claim).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMNs (no table copy on SQLite: claim_request and audit rows point at these).
    op.add_column("collection", sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # Alembic would copy the table to add the foreign key; SQLite can add it with the column.
        op.execute(
            "ALTER TABLE collection ADD COLUMN handed_over_by_id INTEGER "
            "CONSTRAINT fk_collection_handed_over_by_id_staff REFERENCES staff (id)"
        )
    else:
        op.add_column("collection", sa.Column("handed_over_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_collection_handed_over_by_id_staff"), "collection", "staff", ["handed_over_by_id"], ["id"]
        )
    op.add_column("collection", sa.Column("handover_request_id", sa.String(length=64), nullable=True))
    op.add_column("collection", sa.Column("no_card_reason", sa.String(length=200), nullable=True))
    op.add_column("device", sa.Column("slip_paper", sa.String(length=4), nullable=True))
    op.execute("UPDATE collection SET handed_over_at = collected_at, handed_over_by_id = staff_id")


def downgrade():
    with op.batch_alter_table("device") as batch_op:
        batch_op.drop_column("slip_paper")
    with op.batch_alter_table("collection") as batch_op:
        batch_op.drop_column("no_card_reason")
        batch_op.drop_column("handover_request_id")
        if op.get_bind().dialect.name != "sqlite":
            batch_op.drop_constraint(op.f("fk_collection_handed_over_by_id_staff"), type_="foreignkey")
        batch_op.drop_column("handed_over_by_id")
        batch_op.drop_column("handed_over_at")
