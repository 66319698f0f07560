"""one job layer: batches, one live run per unit of work, retry due times in the database (issue 26)

Revision ID: 0010_job_layer
Revises: 0008_indexes
Create Date: 2026-12-07 12:00:00

* ``sync_run.parent_run_id`` — a batch's children point at their parent (was ``params["parent_run_id"]``).
* ``sync_run.subject`` — the unit of work a run acts on (``export:17``, ``webhook_endpoint:3``); at most one live
  (queued, retrying or running) run per kind and subject: a partial unique index.
* ``sync_run.next_attempt_at`` — when a retry is due (a vendor's ``Retry-After``): the reconciler re-enqueues a lost
  retry then, not earlier.

* ``webhook_endpoint.paused_until`` goes: an endpoint is paused while its delivery run waits for its retry.
* ``sync_run.firm_id`` may be NULL: the deliveries to the host product's webhook endpoints belong to no firm.

On SQLite the batch operation copies ``sync_run``; the migration environment turns foreign keys off around it
(and checks them before committing).
"""
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_job_layer'
down_revision = '0008_indexes'
branch_labels = None
depends_on = None

LIVE = "status IN ('queued', 'retrying', 'running') AND subject IS NOT NULL"


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_run_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('subject', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.alter_column('firm_id', existing_type=sa.Integer(), nullable=True)  # the host product's webhooks
        batch_op.create_foreign_key('fk_sync_run_parent_run_id_sync_run', 'sync_run', ['parent_run_id'], ['id'])
        batch_op.create_index('ix_sync_run_parent_run_id', ['parent_run_id'], unique=False)

    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.drop_column('paused_until')  # the pause is the due time of the endpoint's delivery run's retry

    # what params carried until now
    runs = sa.table('sync_run', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                    sa.column('status', sa.String), sa.column('params', sa.JSON),
                    sa.column('parent_run_id', sa.Integer), sa.column('subject', sa.String))
    rows = bind.execute(sa.select(runs.c.id, runs.c.kind, runs.c.status, runs.c.params)
                        .where(runs.c.kind.in_(("import", "export"))).order_by(runs.c.id.desc())).all()
    live_exports: set[int] = set()
    for run_id, kind, status, params in rows:
        params = json.loads(params) if isinstance(params, str) else (params or {})
        values = {}
        if kind == "import" and params.get("parent_run_id"):
            values["parent_run_id"] = int(params["parent_run_id"])
        if kind == "export" and status in ("queued", "retrying", "running") and params.get("export_id") \
                and params["export_id"] not in live_exports:  # the newest live attempt keeps the subject
            live_exports.add(params["export_id"])
            values["subject"] = f"export:{params['export_id']}"
        if values:
            bind.execute(runs.update().where(runs.c.id == run_id).values(**values))
    op.create_index('uq_sync_run_live_subject', 'sync_run', ['kind', 'subject'], unique=True,
                    postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))


def downgrade():
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_until', sa.DateTime(), nullable=True))
    op.drop_index('uq_sync_run_live_subject', table_name='sync_run')
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_run_parent_run_id')
        batch_op.drop_constraint('fk_sync_run_parent_run_id_sync_run', type_='foreignkey')
        batch_op.alter_column('firm_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('subject')
        batch_op.drop_column('parent_run_id')
