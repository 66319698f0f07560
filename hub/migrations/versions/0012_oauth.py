"""OAuth 2.0 grants of firm integrations (issue 30)

Revision ID: 0012_oauth
Revises: 0011_readback
Create Date: 2026-12-07 15:00:00

* ``oauth_grant`` — one per integration whose vendor authorises with OAuth 2.0: the tokens (vault output), the
  access token's expiry, when the vendor revoked the grant, who connected it and when.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012_oauth'
down_revision = '0011_readback'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'oauth_grant',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('integration_id', sa.Integer(), nullable=False),
        sa.Column('tokens', sa.Text(), nullable=False),
        sa.Column('scope', sa.String(length=1000), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('connected_by', sa.Integer(), nullable=True),
        sa.Column('connected_at', sa.DateTime(), nullable=False),
        sa.Column('refreshed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['integration_id'], ['integration.id'], ondelete='CASCADE',
                                name=op.f('fk_oauth_grant_integration_id_integration')),
        sa.ForeignKeyConstraint(['connected_by'], ['user_account.id'], ondelete='SET NULL',
                                name=op.f('fk_oauth_grant_connected_by_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_grant')),
        sa.UniqueConstraint('integration_id', name=op.f('uq_oauth_grant_integration_id')),
    )


def downgrade():
    op.drop_table('oauth_grant')
