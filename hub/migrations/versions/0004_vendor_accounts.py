"""vendor accounts: catalog per account, exports pinned to their account, client details, link history

Revision ID: 0004_vendor_accounts
Revises: 0003
Create Date: 2026-11-23

Data migration:

* Existing catalog caches and mappings were kept per firm integration and used for every client; they
  belong to the **firm's** vendor account, so they stay there (``client_connection_id`` NULL). Clients with
  their own account get no copy: the firm's codes are not theirs (a client's company has its own VAT and
  product codes), so their mappings start empty and an export says what to map.
* Existing exports were all sent with the firm's credentials (the bug this revision fixes), so every
  export that reached a vendor is recorded as booked in the firm's account (``account = 'firm'``): its
  find-invoice and paid status keep going to where the invoice really is. Pending/failed exports that never
  reached a vendor stay unpinned and go to the right account on their next attempt.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_vendor_accounts'
down_revision = '0003'
branch_labels = None
depends_on = None

FIRM = sa.text("client_connection_id IS NULL")
OWN = sa.text("client_connection_id IS NOT NULL")


def upgrade():
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address_street', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('address_city', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('address_postal_code', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('address_country', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('customer_type', sa.String(length=20), server_default='company',
                                      nullable=False))

    with op.batch_alter_table('client_connection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vendor_client_reg_code', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('linked_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('invoice_export', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('account_connection_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_invoice_export_account_connection_id'), ['account_connection_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_invoice_export_account_connection_id_client_connection'),
                                    'client_connection', ['account_connection_id'], ['id'], ondelete='SET NULL')

    for table, column in (('catalog_item', 'vendor_id'), ('catalog_mapping', 'hub_key')):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('client_connection_id', sa.Integer(), nullable=True))
            batch_op.drop_constraint(f'uq_{table}_integration_id', type_='unique')
            batch_op.create_index(batch_op.f(f'ix_{table}_client_connection_id'), ['client_connection_id'],
                                  unique=False)
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_client_connection_id_client_connection'),
                                        'client_connection', ['client_connection_id'], ['id'], ondelete='CASCADE')
            batch_op.create_index(f'uq_{table}_firm_account', ['integration_id', 'kind', column], unique=True,
                                  sqlite_where=FIRM, postgresql_where=FIRM)
            batch_op.create_index(f'uq_{table}_client_account', ['client_connection_id', 'kind', column],
                                  unique=True, sqlite_where=OWN, postgresql_where=OWN)

    # data: existing catalog rows are the firm account's (client_connection_id stays NULL, nothing to copy);
    # every export that reached a vendor went there with the firm's credentials
    op.execute("UPDATE invoice_export SET account = 'firm' WHERE status IN ('sent', 'confirmed', 'uncertain')")


def downgrade():
    # a client account's catalog cannot live in the old per-integration tables: it is dropped
    for table, column in (('catalog_item', 'vendor_id'), ('catalog_mapping', 'hub_key')):
        op.execute(f"DELETE FROM {table} WHERE client_connection_id IS NOT NULL")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'uq_{table}_client_account')
            batch_op.drop_index(f'uq_{table}_firm_account')
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_client_connection_id_client_connection'),
                                     type_='foreignkey')
            batch_op.drop_index(batch_op.f(f'ix_{table}_client_connection_id'))
            batch_op.create_unique_constraint(f'uq_{table}_integration_id', ['integration_id', 'kind', column])
            batch_op.drop_column('client_connection_id')

    with op.batch_alter_table('invoice_export', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invoice_export_account_connection_id_client_connection'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_invoice_export_account_connection_id'))
        batch_op.drop_column('account_connection_id')
        batch_op.drop_column('account')

    with op.batch_alter_table('client_connection', schema=None) as batch_op:
        batch_op.drop_column('linked_at')
        batch_op.drop_column('vendor_client_reg_code')

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('customer_type')
        batch_op.drop_column('address_country')
        batch_op.drop_column('address_postal_code')
        batch_op.drop_column('address_city')
        batch_op.drop_column('address_street')
