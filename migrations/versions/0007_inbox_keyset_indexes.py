"""Inbox keyset indexes: (status | assignee | channel | intent, ..., sort key, id, ...) (issue 18).

Each inbox view reads one index range per status already in its order, so a page costs the same
at 1,000 or 40,000 open tickets. (status, last_activity_at, id, team_id, assignee_id, channel)
replaces its prefix (status, last_activity_at) and covers the tab counts.

Revision ID: 0007_inbox_keyset_indexes
Revises: 0006_identity_pictures
Create Date: 2026-12-07 22:30:00

"""
from alembic import op


revision = '0007_inbox_keyset_indexes'
down_revision = '0006_identity_pictures'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_status_last_activity')
        batch_op.create_index('ix_tickets_status_activity_team',
                              ['status', 'last_activity_at', 'id', 'team_id', 'assignee_id', 'channel'], unique=False)
        batch_op.create_index('ix_tickets_assignee_status_activity',
                              ['assignee_id', 'status', 'last_activity_at', 'id', 'team_id', 'channel'], unique=False)
        batch_op.create_index('ix_tickets_channel_status_activity',
                              ['channel', 'status', 'last_activity_at', 'id', 'team_id', 'assignee_id'], unique=False)
        batch_op.create_index('ix_tickets_intent_status_at',
                              ['intent', 'status', 'intent_at', 'id', 'team_id', 'assignee_id', 'channel'], unique=False)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_intent_status_at')
        batch_op.drop_index('ix_tickets_channel_status_activity')
        batch_op.drop_index('ix_tickets_assignee_status_activity')
        batch_op.drop_index('ix_tickets_status_activity_team')
        batch_op.create_index('ix_tickets_status_last_activity', ['status', 'last_activity_at'], unique=False)
