"""Follow-up plans, steps, sends (one per step and customer) and mail consent (issue 22).

Revision ID: 0005_followup_plans
Revises: 0004_login_throttle
Create Date: 2026-12-07 20:15:00

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


revision = '0005_followup_plans'
down_revision = '0004_login_throttle'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('followup_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_ja', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('trigger', sa.String(length=30), nullable=False),
    sa.Column('trigger_n', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['agents.id'], name=op.f('fk_followup_plans_created_by_id_agents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_plans'))
    )
    op.create_table('mail_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('consented_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('unsubscribed_at', app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_mail_consents_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_consents')),
    sa.UniqueConstraint('customer_id', name=op.f('uq_mail_consents_customer_id'))
    )
    op.create_table('followup_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('delay_days', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('purpose', sa.String(length=15), nullable=False),
    sa.Column('offer', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['followup_plans.id'], name=op.f('fk_followup_steps_plan_id_followup_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_steps'))
    )
    with op.batch_alter_table('followup_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_steps_plan_id'), ['plan_id'], unique=False)

    op.create_table('followup_sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_followup_sends_customer_id_customers')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_followup_sends_message_id_messages')),
    sa.ForeignKeyConstraint(['plan_id'], ['followup_plans.id'], name=op.f('fk_followup_sends_plan_id_followup_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['followup_steps.id'], name=op.f('fk_followup_sends_step_id_followup_steps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_followup_sends_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_sends')),
    sa.UniqueConstraint('step_id', 'customer_id', name=op.f('uq_followup_sends_step_id_customer_id'))
    )
    with op.batch_alter_table('followup_sends', schema=None) as batch_op:
        batch_op.create_index('ix_followup_sends_customer_created', ['customer_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_sends_plan_id'), ['plan_id'], unique=False)


def downgrade():
    with op.batch_alter_table('followup_sends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_sends_plan_id'))
        batch_op.drop_index('ix_followup_sends_customer_created')
    op.drop_table('followup_sends')
    with op.batch_alter_table('followup_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_steps_plan_id'))
    op.drop_table('followup_steps')
    op.drop_table('mail_consents')
    op.drop_table('followup_plans')
