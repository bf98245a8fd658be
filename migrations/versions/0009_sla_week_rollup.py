"""Weekly rollup of ticket_sla for the supervisor reports, kept exact by triggers (issue 18).

`sla_week_rollup` (counts per shop week x assignee x channel x priority) and `sla_rollup_deltas`
(signed changes appended by the ticket_sla triggers, folded in by the reports). The trigger DDL is
a frozen copy of app/reports/rollup_ddl.py as of this revision; the rollup is filled from the
existing rows.

Revision ID: 0009_sla_week_rollup
Revises: 0008_pg_search_tables
Create Date: 2026-12-07 22:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009_sla_week_rollup'
down_revision = '0008_pg_search_tables'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    'DROP TRIGGER IF EXISTS ticket_sla_rollup_insert',
    'DROP TRIGGER IF EXISTS ticket_sla_rollup_delete',
    'DROP TRIGGER IF EXISTS ticket_sla_rollup_update',
    "CREATE TRIGGER ticket_sla_rollup_insert AFTER INSERT ON ticket_sla BEGIN INSERT INTO sla_rollup_deltas (week, assignee_key, channel, priority, tickets, solved, replies, reopened, decided, met) VALUES (date(NEW.created_at, '+540 minutes', '-6 days', 'weekday 1'), COALESCE(NEW.assignee_id, 0), NEW.channel, NEW.priority, 1 * 1, 1 * (NEW.status NOT IN ('new', 'open', 'pending')), 1 * NEW.replies, 1 * (NEW.reopen_count > 0), 1 * (NEW.has_target AND (NEW.breached OR NEW.status NOT IN ('new', 'open', 'pending'))), 1 * (NEW.has_target AND NOT NEW.breached AND NEW.status NOT IN ('new', 'open', 'pending'))); END",
    "CREATE TRIGGER ticket_sla_rollup_delete AFTER DELETE ON ticket_sla BEGIN INSERT INTO sla_rollup_deltas (week, assignee_key, channel, priority, tickets, solved, replies, reopened, decided, met) VALUES (date(OLD.created_at, '+540 minutes', '-6 days', 'weekday 1'), COALESCE(OLD.assignee_id, 0), OLD.channel, OLD.priority, -1 * 1, -1 * (OLD.status NOT IN ('new', 'open', 'pending')), -1 * OLD.replies, -1 * (OLD.reopen_count > 0), -1 * (OLD.has_target AND (OLD.breached OR OLD.status NOT IN ('new', 'open', 'pending'))), -1 * (OLD.has_target AND NOT OLD.breached AND OLD.status NOT IN ('new', 'open', 'pending'))); END",
    "CREATE TRIGGER ticket_sla_rollup_update AFTER UPDATE OF created_at, assignee_id, channel, priority, status, has_target, breached, replies, reopen_count ON ticket_sla WHEN OLD.created_at IS NOT NEW.created_at OR OLD.assignee_id IS NOT NEW.assignee_id OR OLD.channel IS NOT NEW.channel OR OLD.priority IS NOT NEW.priority OR OLD.status IS NOT NEW.status OR OLD.has_target IS NOT NEW.has_target OR OLD.breached IS NOT NEW.breached OR OLD.replies IS NOT NEW.replies OR OLD.reopen_count IS NOT NEW.reopen_count BEGIN INSERT INTO sla_rollup_deltas (week, assignee_key, channel, priority, tickets, solved, replies, reopened, decided, met) VALUES (date(OLD.created_at, '+540 minutes', '-6 days', 'weekday 1'), COALESCE(OLD.assignee_id, 0), OLD.channel, OLD.priority, -1 * 1, -1 * (OLD.status NOT IN ('new', 'open', 'pending')), -1 * OLD.replies, -1 * (OLD.reopen_count > 0), -1 * (OLD.has_target AND (OLD.breached OR OLD.status NOT IN ('new', 'open', 'pending'))), -1 * (OLD.has_target AND NOT OLD.breached AND OLD.status NOT IN ('new', 'open', 'pending'))); INSERT INTO sla_rollup_deltas (week, assignee_key, channel, priority, tickets, solved, replies, reopened, decided, met) VALUES (date(NEW.created_at, '+540 minutes', '-6 days', 'weekday 1'), COALESCE(NEW.assignee_id, 0), NEW.channel, NEW.priority, 1 * 1, 1 * (NEW.status NOT IN ('new', 'open', 'pending')), 1 * NEW.replies, 1 * (NEW.reopen_count > 0), 1 * (NEW.has_target AND (NEW.breached OR NEW.status NOT IN ('new', 'open', 'pending'))), 1 * (NEW.has_target AND NOT NEW.breached AND NEW.status NOT IN ('new', 'open', 'pending'))); END",
]

POSTGRESQL_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION ticket_sla_rollup_delta() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF TG_OP = 'INSERT' THEN\n    INSERT INTO sla_rollup_deltas (week, assignee_key, channel, priority, tickets, solved, replies, reopened, decided, met) VALUES ((date_trunc('week', NEW.created_at AT TIME ZONE 'Asia/Tokyo'))::date, COALESCE(NEW.assignee_id, 0), NEW.channel, NEW.priority, 1 * 1, 1 * (NEW.status NOT IN ('new', 'open', 'pending'))::int, 1 * NEW.replies, 1 * (NEW.reopen_count > 0)::int, 1 * (NEW.has_target AND (NEW.breached OR NEW.status NOT IN ('new', 'open', 'pending')))::int, 1 * (NEW.has_target AND NOT NEW.breached AND NEW.status NOT IN ('new', 'open', 'pending'))::int);\n  ELSIF TG_OP = 'DELETE' THEN\n    INSERT INTO sla_rollup_deltas (week, assignee_key, channel, priority, tickets, solved, replies, reopened, decided, met) VALUES ((date_trunc('week', OLD.created_at AT TIME ZONE 'Asia/Tokyo'))::date, COALESCE(OLD.assignee_id, 0), OLD.channel, OLD.priority, -1 * 1, -1 * (OLD.status NOT IN ('new', 'open', 'pending'))::int, -1 * OLD.replies, -1 * (OLD.reopen_count > 0)::int, -1 * (OLD.has_target AND (OLD.breached OR OLD.status NOT IN ('new', 'open', 'pending')))::int, -1 * (OLD.has_target AND NOT OLD.breached AND OLD.status NOT IN ('new', 'open', 'pending'))::int);\n  ELSE\n    INSERT INTO sla_rollup_deltas (week, assignee_key, channel, priority, tickets, solved, replies, reopened, decided, met) VALUES ((date_trunc('week', OLD.created_at AT TIME ZONE 'Asia/Tokyo'))::date, COALESCE(OLD.assignee_id, 0), OLD.channel, OLD.priority, -1 * 1, -1 * (OLD.status NOT IN ('new', 'open', 'pending'))::int, -1 * OLD.replies, -1 * (OLD.reopen_count > 0)::int, -1 * (OLD.has_target AND (OLD.breached OR OLD.status NOT IN ('new', 'open', 'pending')))::int, -1 * (OLD.has_target AND NOT OLD.breached AND OLD.status NOT IN ('new', 'open', 'pending'))::int), ((date_trunc('week', NEW.created_at AT TIME ZONE 'Asia/Tokyo'))::date, COALESCE(NEW.assignee_id, 0), NEW.channel, NEW.priority, 1 * 1, 1 * (NEW.status NOT IN ('new', 'open', 'pending'))::int, 1 * NEW.replies, 1 * (NEW.reopen_count > 0)::int, 1 * (NEW.has_target AND (NEW.breached OR NEW.status NOT IN ('new', 'open', 'pending')))::int, 1 * (NEW.has_target AND NOT NEW.breached AND NEW.status NOT IN ('new', 'open', 'pending'))::int);\n  END IF;\n  RETURN NULL;\nEND $$",
    'DROP TRIGGER IF EXISTS ticket_sla_rollup_insert ON ticket_sla',
    'DROP TRIGGER IF EXISTS ticket_sla_rollup_delete ON ticket_sla',
    'DROP TRIGGER IF EXISTS ticket_sla_rollup_update ON ticket_sla',
    'CREATE TRIGGER ticket_sla_rollup_insert AFTER INSERT ON ticket_sla FOR EACH ROW EXECUTE FUNCTION ticket_sla_rollup_delta()',
    'CREATE TRIGGER ticket_sla_rollup_delete AFTER DELETE ON ticket_sla FOR EACH ROW EXECUTE FUNCTION ticket_sla_rollup_delta()',
    'CREATE TRIGGER ticket_sla_rollup_update AFTER UPDATE OF created_at, assignee_id, channel, priority, status, has_target, breached, replies, reopen_count ON ticket_sla FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id OR OLD.channel IS DISTINCT FROM NEW.channel OR OLD.priority IS DISTINCT FROM NEW.priority OR OLD.status IS DISTINCT FROM NEW.status OR OLD.has_target IS DISTINCT FROM NEW.has_target OR OLD.breached IS DISTINCT FROM NEW.breached OR OLD.replies IS DISTINCT FROM NEW.replies OR OLD.reopen_count IS DISTINCT FROM NEW.reopen_count) EXECUTE FUNCTION ticket_sla_rollup_delta()',
]

SQLITE_FILL = "INSERT INTO sla_week_rollup (week, assignee_key, channel, priority, tickets, solved, replies, reopened, decided, met) SELECT date(s.created_at, '+540 minutes', '-6 days', 'weekday 1'), COALESCE(s.assignee_id, 0), s.channel, s.priority, count(*), sum((s.status NOT IN ('new', 'open', 'pending'))), sum(s.replies), sum((s.reopen_count > 0)), sum((s.has_target AND (s.breached OR s.status NOT IN ('new', 'open', 'pending')))), sum((s.has_target AND NOT s.breached AND s.status NOT IN ('new', 'open', 'pending'))) FROM ticket_sla s GROUP BY 1, 2, 3, 4"

POSTGRESQL_FILL = "INSERT INTO sla_week_rollup (week, assignee_key, channel, priority, tickets, solved, replies, reopened, decided, met) SELECT (date_trunc('week', s.created_at AT TIME ZONE 'Asia/Tokyo'))::date, COALESCE(s.assignee_id, 0), s.channel, s.priority, count(*), sum((s.status NOT IN ('new', 'open', 'pending'))::int), sum(s.replies), sum((s.reopen_count > 0)::int), sum((s.has_target AND (s.breached OR s.status NOT IN ('new', 'open', 'pending')))::int), sum((s.has_target AND NOT s.breached AND s.status NOT IN ('new', 'open', 'pending'))::int) FROM ticket_sla s GROUP BY 1, 2, 3, 4"


def upgrade():
    op.create_table('sla_week_rollup',
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('assignee_key', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.Column('solved', sa.Integer(), nullable=False),
    sa.Column('replies', sa.Integer(), nullable=False),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('decided', sa.Integer(), nullable=False),
    sa.Column('met', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('week', 'assignee_key', 'channel', 'priority', name=op.f('pk_sla_week_rollup'))
    )
    op.create_table('sla_rollup_deltas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('assignee_key', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.Column('solved', sa.Integer(), nullable=False),
    sa.Column('replies', sa.Integer(), nullable=False),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('decided', sa.Integer(), nullable=False),
    sa.Column('met', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_rollup_deltas'))
    )
    postgres = op.get_bind().dialect.name == 'postgresql'
    for sql in POSTGRESQL_TRIGGERS if postgres else SQLITE_TRIGGERS:
        op.execute(sql)
    op.execute(POSTGRESQL_FILL if postgres else SQLITE_FILL)


def downgrade():
    postgres = op.get_bind().dialect.name == 'postgresql'
    for sql in ['DROP TRIGGER IF EXISTS ticket_sla_rollup_insert ON ticket_sla', 'DROP TRIGGER IF EXISTS ticket_sla_rollup_delete ON ticket_sla', 'DROP TRIGGER IF EXISTS ticket_sla_rollup_update ON ticket_sla', 'DROP FUNCTION IF EXISTS ticket_sla_rollup_delta()'] if postgres else ['DROP TRIGGER IF EXISTS ticket_sla_rollup_insert', 'DROP TRIGGER IF EXISTS ticket_sla_rollup_delete', 'DROP TRIGGER IF EXISTS ticket_sla_rollup_update']:
        op.execute(sql)
    op.drop_table('sla_rollup_deltas')
    op.drop_table('sla_week_rollup')
