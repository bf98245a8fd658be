"""Response-time figures for the supervisor reports, aggregated in the database.

Everything reads `ticket_sla` (one row per ticket with durations precomputed when the ticket
changed, in calendar and business seconds), never the messages; its covering index
`ix_ticket_sla_report` lets a date range be read without touching the table. Counts, rates and
SLA attainment are exact sums: whole shop weeks from the weekly rollup (app/reports/rollup.py),
the weeks a range cuts with one GROUP BY over the raw rows. Medians and p90s are read from the raw
rows, exact up to EXACT_PERCENTILE_LIMIT tickets and above that computed over a systematic sample
(every k-th ticket id, `percentiles_sample` = k), so a year of a busy shop stays interactive:
PostgreSQL with percentile_cont (one sort per duration, groups and total in one scan), SQLite (no
ordered-set aggregates) with one narrow raw scan and the same linear interpolation in Python.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from flask_babel import gettext as _
from sqlalchemy import Float, Integer, and_, case, cast, func, literal, select, tuple_
from sqlalchemy.dialects import postgresql

from app.extensions import db
from app.models import OPEN_STATUSES, Agent, Tag, TicketSLA, ticket_tags
from app.reports import rollup

#: Percentiles are exact up to this many tickets; above, they are computed over a systematic sample
#: of about this many (every k-th ticket id) and the figures carry `percentiles_sample` = k.
EXACT_PERCENTILE_LIMIT = 25_000
#: Read whole weeks from the weekly rollup (app/reports/rollup.py); the benchmark compares both ways.
USE_ROLLUP = True
GROUPS = ("agent", "channel", "priority", "tag", "week", "none")
DURATIONS = ("first_response_seconds", "first_response_business_seconds",
             "next_response_seconds", "next_response_business_seconds",
             "resolution_seconds", "resolution_business_seconds")


@dataclass
class Filters:
    start: datetime
    end: datetime
    channel: Optional[str] = None
    priority: Optional[str] = None
    agent_id: Optional[int] = None
    tz: str = "Asia/Tokyo"
    #: SQLite has no zone database: the zone's offset at the range start (JST has no DST).
    tz_offset_minutes: int = 540

    def where(self, start: Optional[datetime] = None, end: Optional[datetime] = None) -> list:
        """Conditions on `ticket_sla`; `start`/`end` narrow the range (the edges of a rollup read)."""
        conds = [TicketSLA.created_at >= (start or self.start), TicketSLA.created_at < (end or self.end)]
        if self.channel:
            conds.append(TicketSLA.channel == self.channel)
        if self.priority:
            conds.append(TicketSLA.priority == self.priority)
        if self.agent_id:
            conds.append(TicketSLA.assignee_id == self.agent_id)
        return conds


@dataclass
class Row:
    key: Any
    label: str
    tickets: int = 0
    solved: int = 0
    replies_per_ticket: Optional[float] = None
    reopen_rate: Optional[float] = None
    sla_decided: int = 0
    sla_met: int = 0
    #: Sums behind the two rates (kept so totals add up exactly).
    replies: int = 0
    reopened: int = 0
    #: {"first_response_seconds": {"median": .., "p90": ..}, ...}
    durations: dict[str, dict[str, Optional[float]]] = field(default_factory=dict)
    #: 1 = percentiles over every ticket; k = over every k-th ticket (large SQLite ranges).
    percentiles_sample: int = 1

    @property
    def sla_attainment(self) -> Optional[float]:
        return self.sla_met / self.sla_decided if self.sla_decided else None

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "tickets": self.tickets, "solved": self.solved,
                "replies_per_ticket": _round(self.replies_per_ticket), "reopen_rate": _round(self.reopen_rate),
                "sla_attainment": _round(self.sla_attainment), "sla_met": self.sla_met,
                "sla_decided": self.sla_decided, "percentiles_sample": self.percentiles_sample,
                **{f"{name}_{p}": _round(v) for name, d in self.durations.items() for p, v in d.items()}}


def _round(value: Optional[float], digits: int = 4) -> Optional[float]:
    return None if value is None else round(float(value), digits)


def _week_expr(f: Filters):
    """Monday (shop time) of the ticket's week, as 'YYYY-MM-DD'."""
    if db.engine.dialect.name == "postgresql":  # formatted in Python: to_char per row is costly
        return func.date_trunc("week", func.timezone(f.tz, TicketSLA.created_at))
    return func.date(TicketSLA.created_at, f"{f.tz_offset_minutes:+d} minutes", "-6 days", "weekday 1")


def _group_expr(group_by: str, f: Filters):
    if group_by == "agent":
        return TicketSLA.assignee_id
    if group_by in ("channel", "priority"):
        return getattr(TicketSLA, group_by)
    if group_by == "tag":
        return Tag.name
    if group_by == "week":
        return _week_expr(f)
    return literal("all")


def _base(group_by: str, f: Filters, columns: list, start: Optional[datetime] = None,
          end: Optional[datetime] = None):
    query = select(*columns).select_from(TicketSLA).where(*f.where(start, end))
    if group_by == "tag":
        query = query.join(ticket_tags, ticket_tags.c.ticket_id == TicketSLA.ticket_id).join(
            Tag, Tag.id == ticket_tags.c.tag_id)
    return query


def percentile(sorted_values: list[float], share: float) -> Optional[float]:
    """Linear interpolation between closest ranks, as PostgreSQL's percentile_cont."""
    n = len(sorted_values)
    if n == 0:
        return None
    pos = share * (n - 1)
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _norm_key(group_by: str, key: Any) -> Any:
    """A week's key as 'YYYY-MM-DD' whatever the backend returned (datetime, date or text)."""
    if group_by == "week" and key is not None:
        return (key.date() if isinstance(key, datetime) else key).isoformat() if not isinstance(key, str) else key
    return key


def _raw_counts(group_by: str, f: Filters, start: datetime, end: datetime) -> dict[Any, list[int]]:
    """{key: [tickets, solved, replies, reopened, decided, met]} of the raw rows in [start, end)."""
    key = _group_expr(group_by, f).label("key")
    closed = TicketSLA.status.not_in(OPEN_STATUSES)
    decided = and_(TicketSLA.has_target.is_(True), (TicketSLA.breached.is_(True)) | closed)
    met = and_(TicketSLA.has_target.is_(True), TicketSLA.breached.is_(False), closed)
    columns = [key, func.count(), func.sum(cast(closed, Integer)), func.sum(TicketSLA.replies),
               func.sum(case((TicketSLA.reopen_count > 0, 1), else_=0)),
               func.sum(cast(decided, Integer)), func.sum(cast(met, Integer))]
    query = _base(group_by, f, columns, start, end).group_by(key)
    return {_norm_key(group_by, k): [int(v or 0) for v in values] for k, *values in db.session.execute(query)}


def _counts(group_by: str, f: Filters) -> dict[Any, list[int]]:
    """The counts of every group: whole weeks from the rollup, the cut weeks at the edges raw."""
    weeks = rollup.whole_weeks(f.start, f.end, f.tz) if USE_ROLLUP and group_by != "tag" else None
    if weeks is None:
        return _raw_counts(group_by, f, f.start, f.end)
    rollup.fold_if_many()
    out = rollup.counts(group_by, weeks, f.channel, f.priority, f.agent_id)
    lo, hi = rollup.week_bounds(weeks)
    for start, end in ((f.start, lo), (hi, f.end)):
        if start < end:
            for k, values in _raw_counts(group_by, f, start, end).items():
                out[k] = [a + b for a, b in zip(out.get(k, [0] * len(values)), values)]
    return out


def sla_summary(f: Filters, group_by: str = "agent", total: Optional[Row] = None) -> list[Row]:
    """One row per group (and no total): counts, rates, median and p90 of every duration."""
    if group_by not in GROUPS:
        raise ValueError(group_by)
    rows: dict[Any, Row] = {}
    for k, (tickets, solved, replies, reopened, decided, met) in _counts(group_by, f).items():
        rows[k] = Row(key=k, label="", tickets=tickets, solved=solved, replies=replies, reopened=reopened,
                      replies_per_ticket=replies / tickets, reopen_rate=reopened / tickets,
                      sla_decided=decided, sla_met=met)
    step = max(1, -(-sum(r.tickets for r in rows.values()) // EXACT_PERCENTILE_LIMIT))  # ceil
    if db.engine.dialect.name == "postgresql":
        _postgres_percentiles(group_by, f, rows, step, total)
    else:
        _sqlite_percentiles(group_by, f, rows, total, step)
    if group_by == "week":
        for row in rows.values():
            row.key = row.key.date().isoformat() if isinstance(row.key, datetime) else str(row.key)
    _label(group_by, rows)
    return sorted(rows.values(), key=lambda r: (str(r.label) if group_by != "week" else str(r.key)))


def _sampled(query, step: int):
    """Every `step`-th ticket (by id): a systematic sample, the same one on every backend."""
    return query.where(TicketSLA.ticket_id % step == 0) if step > 1 else query


def _postgres_percentiles(group_by: str, f: Filters, rows: dict[Any, Row], step: int,
                          total: Optional[Row] = None) -> None:
    """percentile_cont per group; with `total`, the total's too in the same scan (GROUPING SETS)."""
    key = _group_expr(group_by, f).label("key")
    shares = postgresql.array([0.5, 0.9], type_=Float)
    columns = [key] + [func.percentile_cont(shares, type_=postgresql.ARRAY(Float))
                       .within_group(getattr(TicketSLA, n)).label(n) for n in DURATIONS]
    if total is not None:
        columns.append(func.grouping(key).label("whole"))
        total.percentiles_sample = step
    query = _sampled(_base(group_by, f, columns), step)
    query = query.group_by(func.grouping_sets(key, tuple_()) if total is not None else key)
    for r in db.session.execute(query).mappings():
        row = total if total is not None and r["whole"] else rows.get(_norm_key(group_by, r["key"]))
        if row is not None:
            row.durations = {n: dict(zip(("median", "p90"), r[n] or (None, None))) for n in DURATIONS}
    for row in rows.values():
        row.percentiles_sample = step
        row.durations = row.durations or {n: {"median": None, "p90": None} for n in DURATIONS}


def _sqlite_percentiles(group_by: str, f: Filters, rows: dict[Any, Row], total: Optional[Row],
                        step: int) -> None:
    """One narrow scan of raw DB-API rows (no ORM processing) feeding every group and the total."""
    key = _group_expr(group_by, f).label("key")
    query = _sampled(_base(group_by, f, [key, *(getattr(TicketSLA, n) for n in DURATIONS)]), step)
    width = len(DURATIONS)
    values: dict[Any, list[list[float]]] = {k: [[] for _i in range(width)] for k in rows}
    everything: list[list[float]] = [[] for _i in range(width)]
    for rec in db.session.connection().execute(query).cursor.fetchall():
        bucket = values.get(rec[0])
        if bucket is None:
            continue
        for i in range(width):
            v = rec[i + 1]
            if v is not None:
                bucket[i].append(v)
                everything[i].append(v)
    for k, lists in values.items():
        rows[k].durations = _durations(lists)
        rows[k].percentiles_sample = step
    if total is not None:
        total.durations = _durations(everything)
        total.percentiles_sample = step


def _durations(lists: list[list[float]]) -> dict[str, dict[str, Optional[float]]]:
    out = {}
    for name, vals in zip(DURATIONS, lists):
        vals.sort()
        out[name] = {"median": percentile(vals, 0.5), "p90": percentile(vals, 0.9)}
    return out


def _label(group_by: str, rows: dict[Any, Row]) -> None:
    if group_by == "agent":
        ids = [k for k in rows if k is not None]
        names = {i: n for i, n in db.session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(ids)))} if ids else {}
        for k, row in rows.items():
            row.label = names.get(k, "—") if k is not None else _("(unassigned)")
    else:
        for k, row in rows.items():
            row.label = str(k) if k is not None else "—"


def sla_report(f: Filters, group_by: str = "agent") -> dict[str, Any]:
    """The main report: the groups and the total, as plain data (the page, CSV and API share it)."""
    if group_by in ("tag", "none"):  # a ticket has several tags: its total is its own scan
        groups = sla_summary(f, group_by)
        total_rows = sla_summary(f, "none") if group_by != "none" else groups
        total = total_rows[0] if total_rows else Row(key="all", label="all")
    else:  # groups partition the tickets: counts add up, percentiles come from the same scan
        total = Row(key="all", label="all")
        groups = sla_summary(f, group_by, total)
        _sum_counts(groups, total)
    return {"from": f.start.isoformat(), "to": f.end.isoformat(), "group_by": group_by,
            "groups": [r.as_dict() for r in groups], "total": total.as_dict()}


def _sum_counts(groups: list[Row], total: Row) -> None:
    """Totals of groups that partition the tickets (agent, channel, priority, week)."""
    total.tickets = sum(g.tickets for g in groups)
    total.solved = sum(g.solved for g in groups)
    total.sla_decided = sum(g.sla_decided for g in groups)
    total.sla_met = sum(g.sla_met for g in groups)
    total.replies = sum(g.replies for g in groups)
    total.reopened = sum(g.reopened for g in groups)
    if total.tickets:
        total.replies_per_ticket = total.replies / total.tickets
        total.reopen_rate = total.reopened / total.tickets
    if not total.durations:
        total.durations = {n: {"median": None, "p90": None} for n in DURATIONS}
