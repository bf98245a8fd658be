"""Failed sign-ins counted in the database (login limits shared by every process, issue 20 item 5).

Revision ID: 0004_login_throttle
Revises: 0003_api_token_scopes
Create Date: 2026-12-07 19:30:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


revision = '0004_login_throttle'
down_revision = '0003_api_token_scopes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=320), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('blocked_until', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )


def downgrade():
    op.drop_table('login_throttle')
