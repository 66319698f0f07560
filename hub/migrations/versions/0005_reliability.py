"""reliability: run worker and updated_at (the reconciler), a status index, columns sized for vendor strings

Revision ID: 0005_reliability
Revises: 0007_provisioning
Create Date: 2026-12-02 01:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_reliability'
down_revision = '0007_provisioning'
branch_labels = None
depends_on = None

# (table, column, old length, new length): vendor ids 200, vendor display text 300 (sources 400)
WIDENED = [
    ('integration', 'account_name', 200, 300),
    ('client_connection', 'account_name', 200, 300),
    ('client_connection', 'vendor_client_id', 100, 200),
    ('client_connection', 'vendor_client_name', 200, 300),
    ('summary_value', 'source', 200, 400),
    ('invoice_export', 'vendor_invoice_id', 100, 200),
    ('invoice_export', 'vendor_number', 100, 200),
    ('catalog_item', 'vendor_id', 100, 200),
    ('catalog_item', 'code', 100, 200),
    ('catalog_mapping', 'vendor_code', 100, 200),
]


def upgrade():
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_sync_run_status'), ['status'], unique=False)
    op.execute("UPDATE sync_run SET updated_at = COALESCE(finished_at, started_at, created_at)")
    for table, column, old, new in WIDENED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=old), type_=sa.String(length=new))


def downgrade():
    for table, column, old, new in reversed(WIDENED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=new), type_=sa.String(length=old))
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_run_status'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('worker')
