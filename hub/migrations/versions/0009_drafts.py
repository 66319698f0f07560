"""credential drafts: state, Save requested, the vendor's refusal

Revision ID: 0009_drafts
Revises: 0005_reliability
Create Date: 2026-12-02 02:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_drafts'
down_revision = '0005_reliability'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('credential_draft', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=20), nullable=False, server_default='entered'))
        batch_op.add_column(sa.Column('save_requested', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('error', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_credential_draft_user_id_user_account'), 'user_account',
                                    ['user_id'], ['id'])


def downgrade():
    with op.batch_alter_table('credential_draft', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_credential_draft_user_id_user_account'), type_='foreignkey')
        batch_op.drop_column('user_id')
        batch_op.drop_column('run_id')
        batch_op.drop_column('error')
        batch_op.drop_column('save_requested')
        batch_op.drop_column('state')
