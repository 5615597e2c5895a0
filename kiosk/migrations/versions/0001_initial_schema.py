"""Initial schema: every table of DESIGN.md with its constraints, and the append-only audit trail.

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 06:26:07.165044

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'petugas')", name=op.f('ck_staff_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_username'))
    )
    op.create_table('distribution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=160), nullable=False),
    sa.Column('packages_total', sa.Integer(), nullable=False),
    sa.Column('packages_given', sa.Integer(), nullable=False),
    sa.Column('next_seq', sa.Integer(), nullable=False),
    sa.Column('contents', sa.Text(), nullable=False),
    sa.Column('eligibility', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bast_number', sa.String(length=120), nullable=False),
    sa.Column('official_name', sa.String(length=120), nullable=False),
    sa.Column('official_nip', sa.String(length=30), nullable=False),
    sa.Column('official_title', sa.String(length=120), nullable=False),
    sa.Column('receiver_name', sa.String(length=120), nullable=False),
    sa.Column('receiver_title', sa.String(length=120), nullable=False),
    sa.Column('witness1_name', sa.String(length=120), nullable=False),
    sa.Column('witness2_name', sa.String(length=120), nullable=False),
    sa.Column('frozen_report', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("eligibility IN ('coverage', 'list')", name=op.f('ck_distribution_eligibility')),
    sa.CheckConstraint("status IN ('draft', 'open', 'closed')", name=op.f('ck_distribution_status')),
    sa.CheckConstraint('packages_given >= 0 AND packages_given <= packages_total', name=op.f('ck_distribution_given_within_total')),
    sa.CheckConstraint('packages_total >= 0', name=op.f('ck_distribution_total_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_distribution_created_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distribution'))
    )
    op.create_table('worker',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nik', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_place', sa.String(length=80), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('kecamatan_code', sa.String(length=6), nullable=False),
    sa.Column('desa_code', sa.String(length=10), nullable=True),
    sa.Column('desa_name', sa.String(length=80), nullable=False),
    sa.Column('occupation', sa.String(length=80), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('kpj', sa.String(length=20), nullable=True),
    sa.Column('income', sa.BigInteger(), nullable=False),
    sa.Column('photo', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("sex IN ('L', 'P')", name=op.f('ck_worker_sex')),
    sa.CheckConstraint('income >= 0', name=op.f('ck_worker_income_positive')),
    sa.CheckConstraint('length(nik) = 16', name=op.f('ck_worker_nik_length')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_worker_created_by_id_staff')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['staff.id'], name=op.f('fk_worker_updated_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_worker')),
    sa.UniqueConstraint('kpj', name=op.f('uq_worker_kpj')),
    sa.UniqueConstraint('nik', name=op.f('uq_worker_nik'))
    )
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.create_index('ix_worker_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_worker_kecamatan', ['kecamatan_code'], unique=False)
        batch_op.create_index('ix_worker_name', ['name'], unique=False)

    op.create_table('card',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('fallback_code', sa.String(length=16), nullable=False),
    sa.Column('key_id', sa.String(length=4), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['issued_by_id'], ['staff.id'], name=op.f('fk_card_issued_by_id_staff')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['staff.id'], name=op.f('fk_card_revoked_by_id_staff')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_card_worker_id_worker'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card')),
    sa.UniqueConstraint('fallback_code', name=op.f('uq_card_fallback_code'))
    )
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.create_index('uq_card_one_valid_per_worker', ['worker_id'], unique=True, sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))

    op.create_table('coverage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('jkk', sa.Boolean(), nullable=False),
    sa.Column('jkm', sa.Boolean(), nullable=False),
    sa.Column('jht', sa.Boolean(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('funder', sa.String(length=120), nullable=False),
    sa.Column('income_basis', sa.BigInteger(), nullable=False),
    sa.Column('monthly_contribution', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_coverage_period_order')),
    sa.CheckConstraint('jkk OR jkm OR jht', name=op.f('ck_coverage_some_programme')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_coverage_created_by_id_staff')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_coverage_worker_id_worker'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coverage'))
    )
    with op.batch_alter_table('coverage', schema=None) as batch_op:
        batch_op.create_index('ix_coverage_end', ['end_date'], unique=False)
        batch_op.create_index('ix_coverage_worker_end', ['worker_id', 'end_date'], unique=False)

    op.create_table('device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('distribution_id', sa.Integer(), nullable=True),
    sa.Column('pairing_code_hash', sa.String(length=128), nullable=True),
    sa.Column('pairing_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('credential_hash', sa.String(length=128), nullable=True),
    sa.Column('paired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("mode IN ('check', 'collect')", name=op.f('ck_device_mode')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_device_created_by_id_staff')),
    sa.ForeignKeyConstraint(['distribution_id'], ['distribution.id'], name=op.f('fk_device_distribution_id_distribution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device')),
    sa.UniqueConstraint('credential_hash', name=op.f('uq_device_credential_hash')),
    sa.UniqueConstraint('pairing_code_hash', name=op.f('uq_device_pairing_code_hash'))
    )
    op.create_table('distribution_list_entry',
    sa.Column('distribution_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['distribution_id'], ['distribution.id'], name=op.f('fk_distribution_list_entry_distribution_id_distribution'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_distribution_list_entry_worker_id_worker'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('distribution_id', 'worker_id', name=op.f('pk_distribution_list_entry'))
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_audit_event_device_id_device')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_audit_event_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_entity', ['entity_type', 'entity_id'], unique=False)

    op.create_table('collection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('distribution_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('station', sa.String(length=80), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('proxy_name', sa.String(length=120), nullable=True),
    sa.Column('proxy_relation', sa.String(length=60), nullable=True),
    sa.Column('handover_photo', sa.String(length=80), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('void_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['card.id'], name=op.f('fk_collection_card_id_card')),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_collection_device_id_device')),
    sa.ForeignKeyConstraint(['distribution_id'], ['distribution.id'], name=op.f('fk_collection_distribution_id_distribution')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_collection_staff_id_staff')),
    sa.ForeignKeyConstraint(['voided_by_id'], ['staff.id'], name=op.f('fk_collection_voided_by_id_staff')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_collection_worker_id_worker')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection')),
    sa.UniqueConstraint('distribution_id', 'seq', name='uq_collection_seq')
    )
    with op.batch_alter_table('collection', schema=None) as batch_op:
        batch_op.create_index('ix_collection_distribution_time', ['distribution_id', 'collected_at'], unique=False)
        batch_op.create_index('ix_collection_worker', ['worker_id'], unique=False)
        batch_op.create_index('uq_collection_once_per_worker', ['distribution_id', 'worker_id'], unique=True, sqlite_where=sa.text('voided_at IS NULL'), postgresql_where=sa.text('voided_at IS NULL'))

    op.create_table('claim_request',
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('distribution_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['collection.id'], name=op.f('fk_claim_request_collection_id_collection')),
    sa.ForeignKeyConstraint(['distribution_id'], ['distribution.id'], name=op.f('fk_claim_request_distribution_id_distribution')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.id'], name=op.f('fk_claim_request_worker_id_worker')),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_claim_request'))
    )

    # The audit trail is append-only: the database refuses to change or delete an event.
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    op.drop_table('claim_request')
    with op.batch_alter_table('collection', schema=None) as batch_op:
        batch_op.drop_index('uq_collection_once_per_worker', sqlite_where=sa.text('voided_at IS NULL'), postgresql_where=sa.text('voided_at IS NULL'))
        batch_op.drop_index('ix_collection_worker')
        batch_op.drop_index('ix_collection_distribution_time')

    op.drop_table('collection')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entity')
        batch_op.drop_index('ix_audit_at')

    op.drop_table('audit_event')
    op.drop_table('distribution_list_entry')
    op.drop_table('device')
    with op.batch_alter_table('coverage', schema=None) as batch_op:
        batch_op.drop_index('ix_coverage_worker_end')
        batch_op.drop_index('ix_coverage_end')

    op.drop_table('coverage')
    with op.batch_alter_table('card', schema=None) as batch_op:
        batch_op.drop_index('uq_card_one_valid_per_worker', sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))

    op.drop_table('card')
    with op.batch_alter_table('worker', schema=None) as batch_op:
        batch_op.drop_index('ix_worker_name')
        batch_op.drop_index('ix_worker_kecamatan')
        batch_op.drop_index('ix_worker_created_at')

    op.drop_table('worker')
    op.drop_table('distribution')
    op.drop_table('staff')
