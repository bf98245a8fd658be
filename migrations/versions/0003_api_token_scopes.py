"""API token scopes and integration tokens (issue 20, item 1).

Existing tokens get "read messages:write calls:write": what agents do through the API keeps
working; commerce writes now need an integration token with commerce:write.

Revision ID: 0003_api_token_scopes
Revises: 0002_retention_versions_outcomes
Create Date: 2026-12-07 19:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003_api_token_scopes'
down_revision = '0002_retention_versions_outcomes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.String(length=200),
                                      server_default='read messages:write calls:write', nullable=False))
        batch_op.add_column(sa.Column('integration', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('integration')
        batch_op.drop_column('scopes')
