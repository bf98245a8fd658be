"""Counts of the main report read from the weekly rollup for whole weeks, raw rows for the edges.

`SLAWeekRollup` + pending `SLARollupDelta` rows equal, cell for cell, a GROUP BY over `ticket_sla`
(the triggers of app/reports/rollup_ddl.py append the deltas in every writer's transaction); one
statement reads both, so a report sees one consistent snapshot. `fold` moves the deltas into the
rollup (the worker every five minutes, the report when many are pending, `flask reports rollup
fold` on demand);
`rebuild` recomputes everything from `ticket_sla`.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Optional
from zoneinfo import ZoneInfo

import click
from sqlalchemy import func, literal, select, text, union_all

from app.extensions import db
from app.models.report_rollup import MEASURES, ROLLUP_TZ, SLARollupDelta, SLAWeekRollup
from app.reports import bp
from app.worker import register_job

#: The report folds the pending deltas first when more than this many are waiting.
FOLD_AT = 5_000
_CELL = ("week", "assignee_key", "channel", "priority")


def whole_weeks(start: datetime, end: datetime, tz: str) -> Optional[tuple[date, date]]:
    """The Mondays [first, last) of the rollup weeks lying wholly inside [start, end), or None."""
    if tz != ROLLUP_TZ:
        return None
    zone = ZoneInfo(tz)
    lo, hi = start.astimezone(zone), end.astimezone(zone)
    first = lo.date() - timedelta(days=lo.weekday())  # the Monday of start's week...
    if first != lo.date() or lo.time() != time(0):  # ...or the next one if start cuts it
        first += timedelta(days=7)
    last = hi.date() - timedelta(days=hi.weekday())
    return (first, last) if first < last else None


def week_bounds(weeks: tuple[date, date]) -> tuple[datetime, datetime]:
    """The instants where the rollup's part of a range starts and ends."""
    zone = ZoneInfo(ROLLUP_TZ)
    return (datetime.combine(weeks[0], time(0), zone), datetime.combine(weeks[1], time(0), zone))


def counts(group_by: str, weeks: tuple[date, date], channel: Optional[str], priority: Optional[str],
           agent_id: Optional[int]) -> dict[Any, list[int]]:
    """{group key: [tickets, solved, replies, reopened, decided, met]} over the whole weeks."""
    parts = []
    for model in (SLAWeekRollup, SLARollupDelta):
        conds = [model.week >= weeks[0], model.week < weeks[1]]
        if channel:
            conds.append(model.channel == channel)
        if priority:
            conds.append(model.priority == priority)
        if agent_id:
            conds.append(model.assignee_key == agent_id)
        key = {"agent": model.assignee_key, "channel": model.channel, "priority": model.priority,
               "week": model.week}.get(group_by, literal("all"))
        parts.append(select(key.label("key"), *(getattr(model, m).label(m) for m in MEASURES)).where(*conds))
    both = union_all(*parts).subquery()
    query = select(both.c.key, *(func.sum(both.c[m]) for m in MEASURES)).group_by(both.c.key)
    out: dict[Any, list[int]] = {}
    for key, *values in db.session.execute(query):
        if group_by == "agent":
            key = key or None
        elif group_by == "week":
            key = key.isoformat() if isinstance(key, date) else str(key)
        if int(values[0] or 0):
            out[key] = [int(v or 0) for v in values]
    return out


def pending() -> int:
    """Deltas waiting to be folded (counted up to FOLD_AT + 1)."""
    return db.session.execute(select(func.count()).select_from(
        select(SLARollupDelta.id).limit(FOLD_AT + 1).subquery())).scalar_one()


def fold() -> None:
    """Move every pending delta into the rollup (commits). Readers never see a half-moved state."""
    cells = ", ".join(_CELL)
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    add = ", ".join(f"{m} = sla_week_rollup.{m} + excluded.{m}" for m in MEASURES)
    upsert = (f"INSERT INTO sla_week_rollup ({cells}, {', '.join(MEASURES)}) SELECT {cells}, {sums} "
              f"FROM {{source}} GROUP BY {cells} ON CONFLICT ({cells}) DO UPDATE SET {add}")
    if db.engine.dialect.name == "postgresql":
        # One folder at a time; DELETE ... RETURNING moves exactly the rows it removes, even
        # while writers keep appending.
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('sla_week_rollup'))"))
        db.session.execute(text(f"WITH moved AS (DELETE FROM sla_rollup_deltas RETURNING *) "
                                + upsert.format(source="moved")))
    else:  # the INSERT takes SQLite's write lock: no delta can arrive before the DELETE
        db.session.execute(text(upsert.format(source="sla_rollup_deltas WHERE true")))
        db.session.execute(text("DELETE FROM sla_rollup_deltas"))
    db.session.execute(text("DELETE FROM sla_week_rollup WHERE tickets = 0"))
    db.session.commit()


def fold_if_many() -> None:
    if pending() > FOLD_AT:
        fold()


def _fold_job(app) -> dict:
    """The worker folds every few minutes, so deltas stay few even when nobody opens the reports."""
    waiting = pending()
    if waiting:
        fold()
    return {"folded": waiting}


register_job("reports-rollup", _fold_job, every=300)


def rebuild() -> int:
    """Recompute the rollup from `ticket_sla` (commits); the number of cells."""
    from app.reports.rollup_ddl import CLOSED, ROLLUP_TZ_OFFSET_MINUTES

    closed = CLOSED.format(r="s")
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE ticket_sla IN SHARE MODE"))  # writers wait; readers don't
        week, as_int = f"(date_trunc('week', s.created_at AT TIME ZONE '{ROLLUP_TZ}'))::date", "::int"
    else:
        week, as_int = f"date(s.created_at, '{ROLLUP_TZ_OFFSET_MINUTES:+d} minutes', '-6 days', 'weekday 1')", ""
    db.session.execute(text("DELETE FROM sla_rollup_deltas"))
    db.session.execute(text("DELETE FROM sla_week_rollup"))
    db.session.execute(text(
        f"INSERT INTO sla_week_rollup ({', '.join(_CELL)}, {', '.join(MEASURES)}) "
        f"SELECT {week}, COALESCE(s.assignee_id, 0), s.channel, s.priority, count(*), "
        f"sum(({closed}){as_int}), sum(s.replies), sum((s.reopen_count > 0){as_int}), "
        f"sum((s.has_target AND (s.breached OR {closed})){as_int}), "
        f"sum((s.has_target AND NOT s.breached AND {closed}){as_int}) "
        f"FROM ticket_sla s GROUP BY 1, 2, 3, 4"))
    cells = db.session.execute(select(func.count()).select_from(SLAWeekRollup)).scalar_one()
    db.session.commit()
    return cells


@bp.cli.group("rollup")
def rollup_cli() -> None:
    """The weekly rollup of the supervisor reports."""


@rollup_cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute the weekly rollup from every ticket's SLA row."""
    click.echo(f"{rebuild()} cells")


@rollup_cli.command("fold")
def fold_command() -> None:
    """Fold the pending changes into the weekly rollup."""
    fold()
    click.echo("folded")
