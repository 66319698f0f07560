"""indexes for what grows with the number of clients (issue 21)

Revision ID: 0008_indexes
Revises: 0009_drafts
Create Date: 2026-12-02 02:20:00

* ``sync_run.client_connection_id`` — a client's runs (the client page, a connection's running imports): one
  reload adds a run per client, so without it every such lookup reads every run of every client.
* ``summary_value.sync_run_id`` — which values a run wrote (and deleting old runs): a value per field, month
  and client.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008_indexes'
down_revision = '0009_drafts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_run_client_connection_id'), ['client_connection_id'], unique=False)
    with op.batch_alter_table('summary_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_summary_value_sync_run_id'), ['sync_run_id'], unique=False)


def downgrade():
    with op.batch_alter_table('summary_value', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_summary_value_sync_run_id'))
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_run_client_connection_id'))
