"""The `ticket_sla` triggers that keep the weekly rollup exact (app/models/report_rollup.py).

Every insert, delete and report-relevant update of a `ticket_sla` row appends its signed
contribution (-old, +new) to `sla_rollup_deltas` inside the writer's transaction: whatever path
writes the row (the clocks, the breach sweep's bulk UPDATE, a cascade, SET NULL when an agent is
removed), the rollup plus its pending deltas equals a GROUP BY over `ticket_sla`. Appending never
touches a shared row, so concurrent writers never wait on, or deadlock over, a counter. Updates
that change none of the grouped or counted columns (clock state, due times) fire nothing.

Used by the model's after_create hook (tests, `db.create_all`) and by the migration.
"""
from __future__ import annotations

from app.models.report_rollup import MEASURES, ROLLUP_TZ, ROLLUP_TZ_OFFSET_MINUTES

#: The columns whose change moves a ticket between cells or changes a count.
WATCHED = ("created_at", "assignee_id", "channel", "priority", "status", "has_target", "breached",
           "replies", "reopen_count")
CLOSED = "{r}.status NOT IN ('new', 'open', 'pending')"  # OPEN_STATUSES (app/models/tickets.py)
_COLUMNS = f"week, assignee_key, channel, priority, {', '.join(MEASURES)}"


def _contribution(r: str, sign: int, week: str, cast: str) -> str:
    """The VALUES of row alias `r` (OLD / NEW) with `sign` (+1 / -1), in MEASURES order."""
    closed = CLOSED.format(r=r)
    counts = ["1", f"({closed}){cast}", f"{r}.replies", f"({r}.reopen_count > 0){cast}",
              f"({r}.has_target AND ({r}.breached OR {closed})){cast}",
              f"({r}.has_target AND NOT {r}.breached AND {closed}){cast}"]
    return ", ".join([week.format(r=r), f"COALESCE({r}.assignee_id, 0)", f"{r}.channel", f"{r}.priority",
                      *(f"{sign} * {c}" for c in counts)])


def sqlite_statements() -> list[str]:
    week = f"date({{r}}.created_at, '{ROLLUP_TZ_OFFSET_MINUTES:+d} minutes', '-6 days', 'weekday 1')"

    def insert(r: str, sign: int) -> str:
        return f"INSERT INTO sla_rollup_deltas ({_COLUMNS}) VALUES ({_contribution(r, sign, week, '')});"

    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)
    return [
        "DROP TRIGGER IF EXISTS ticket_sla_rollup_insert",
        "DROP TRIGGER IF EXISTS ticket_sla_rollup_delete",
        "DROP TRIGGER IF EXISTS ticket_sla_rollup_update",
        f"CREATE TRIGGER ticket_sla_rollup_insert AFTER INSERT ON ticket_sla BEGIN {insert('NEW', 1)} END",
        f"CREATE TRIGGER ticket_sla_rollup_delete AFTER DELETE ON ticket_sla BEGIN {insert('OLD', -1)} END",
        f"CREATE TRIGGER ticket_sla_rollup_update AFTER UPDATE OF {', '.join(WATCHED)} ON ticket_sla "
        f"WHEN {changed} BEGIN {insert('OLD', -1)} {insert('NEW', 1)} END",
    ]


def postgresql_statements() -> list[str]:
    week = f"(date_trunc('week', {{r}}.created_at AT TIME ZONE '{ROLLUP_TZ}'))::date"
    old = _contribution("OLD", -1, week, "::int")
    new = _contribution("NEW", 1, week, "::int")
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
    return [
        f"""CREATE OR REPLACE FUNCTION ticket_sla_rollup_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO sla_rollup_deltas ({_COLUMNS}) VALUES ({new});
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO sla_rollup_deltas ({_COLUMNS}) VALUES ({old});
  ELSE
    INSERT INTO sla_rollup_deltas ({_COLUMNS}) VALUES ({old}), ({new});
  END IF;
  RETURN NULL;
END $$""",
        "DROP TRIGGER IF EXISTS ticket_sla_rollup_insert ON ticket_sla",
        "DROP TRIGGER IF EXISTS ticket_sla_rollup_delete ON ticket_sla",
        "DROP TRIGGER IF EXISTS ticket_sla_rollup_update ON ticket_sla",
        "CREATE TRIGGER ticket_sla_rollup_insert AFTER INSERT ON ticket_sla "
        "FOR EACH ROW EXECUTE FUNCTION ticket_sla_rollup_delta()",
        "CREATE TRIGGER ticket_sla_rollup_delete AFTER DELETE ON ticket_sla "
        "FOR EACH ROW EXECUTE FUNCTION ticket_sla_rollup_delta()",
        f"CREATE TRIGGER ticket_sla_rollup_update AFTER UPDATE OF {', '.join(WATCHED)} ON ticket_sla "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION ticket_sla_rollup_delta()",
    ]


def statements(dialect: str) -> list[str]:
    return postgresql_statements() if dialect == "postgresql" else sqlite_statements()


def create_triggers(connection) -> None:
    """(Re)create the triggers on this connection's database."""
    for sql in statements(connection.dialect.name):
        connection.exec_driver_sql(sql)


def drop_statements(dialect: str) -> list[str]:
    on = " ON ticket_sla" if dialect == "postgresql" else ""
    out = [f"DROP TRIGGER IF EXISTS ticket_sla_rollup_{op}{on}" for op in ("insert", "delete", "update")]
    if dialect == "postgresql":
        out.append("DROP FUNCTION IF EXISTS ticket_sla_rollup_delta()")
    return out
