"""Subscription version (stale retention actions are refused) and pending save outcomes.

Revision ID: 0002_retention_versions_outcomes
Revises: 0001
Create Date: 2026-12-07 19:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002_retention_versions_outcomes'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('retention_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('outcome_rule', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('retention_cases', schema=None) as batch_op:
        batch_op.drop_column('outcome_rule')
        batch_op.drop_column('outcome_due_on')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('version')
