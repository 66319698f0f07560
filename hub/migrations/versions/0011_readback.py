"""booked as issued: read-back of exports, VAT rounding per invoice, quota waits (issue 27)

Revision ID: 0011_readback
Revises: 0010_job_layer
Create Date: 2026-12-07 15:00:00

* ``invoice.vat_rounding`` — the VAT rounding rule ("rate" or "line") the invoice's totals were computed with
  (the rule of the vendor it is exported to). Existing invoices were totalled once per rate: "rate".
* ``invoice_export.booked`` — what the vendor booked, read back after the export (NULL: not read back).
* ``invoice_export.differences`` — how the booked invoice differs from the issued one, in words.
* ``invoice_export.status`` widens to 30 characters (``booked_with_differences``).
* ``sync_run.quota_waits`` — attempts that waited for a vendor quota's reset (not counted as attempts).

On SQLite the batch operation copies ``invoice_export``; the migration environment turns foreign keys off around
it (and checks them before committing).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011_readback'
down_revision = '0010_job_layer'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vat_rounding', sa.String(length=10), server_default='rate', nullable=False))
    with op.batch_alter_table('invoice_export', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booked', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('differences', sa.JSON(), nullable=True))
        batch_op.alter_column('status', existing_type=sa.String(length=20), type_=sa.String(length=30),
                              existing_nullable=False)
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quota_waits', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.drop_column('quota_waits')
    op.execute("UPDATE invoice_export SET status = 'confirmed' WHERE status = 'booked_with_differences'")
    with op.batch_alter_table('invoice_export', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=30), type_=sa.String(length=20),
                              existing_nullable=False)
        batch_op.drop_column('differences')
        batch_op.drop_column('booked')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_column('vat_rounding')
