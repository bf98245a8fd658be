"""The other report sections: backlog by age, volume heatmap, cancellation saves, coupon spend, NPS.

Each function aggregates in the database and returns plain data (lists of dicts) that the page,
the CSV export and the API render alike.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any, Optional
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Integer, case, cast, func, literal_column, select

from app.extensions import db
from app.models import OPEN_STATUSES, Agent, Coupon, SatisfactionResponse, Ticket, TicketSLA, utcnow
from app.reports.metrics import Filters

AGE_BUCKETS = ((0, 1), (1, 3), (3, 7), (7, 14), (14, None))  # days
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # machine keys (CSV, API)


def weekday_labels() -> list[str]:
    """Monday..Sunday in the viewer's language, for the page (WEEKDAYS stay the data's keys)."""
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def age_labels() -> list[str]:
    """The backlog's age buckets in the viewer's language ("0–1 d" is the data's key)."""
    return [_("%(lo)d–%(hi)d days", lo=lo, hi=hi) if hi is not None else _("%(lo)d days or more", lo=lo)
            for lo, hi in AGE_BUCKETS]


def backlog_by_age(now: Optional[datetime] = None, f: Optional[Filters] = None) -> list[dict[str, Any]]:
    """Open tickets by age (now - created), whatever the date range."""
    now = now or utcnow()
    whens, labels = [], []
    for i, (lo, hi) in enumerate(AGE_BUCKETS):
        labels.append(f"{lo}–{hi} d" if hi is not None else f"≥ {lo} d")
        if hi is not None:
            whens.append((Ticket.created_at > now - timedelta(days=hi), i))
    bucket = case(*whens, else_=len(AGE_BUCKETS) - 1).label("bucket")
    query = select(bucket, func.count()).where(Ticket.status.in_(OPEN_STATUSES))
    if f is not None:
        if f.channel:
            query = query.where(Ticket.channel == f.channel)
        if f.priority:
            query = query.where(Ticket.priority == f.priority)
        if f.agent_id:
            query = query.where(Ticket.assignee_id == f.agent_id)
    counts = dict(db.session.execute(query.group_by(bucket)).all())
    return [{"age": label, "tickets": int(counts.get(i, 0))} for i, label in enumerate(labels)]


def _fixed_offset(f: Filters) -> bool:
    """Whether the shop zone keeps f.tz_offset_minutes all through the range (no DST)."""
    zone = ZoneInfo(f.tz)
    offsets = {zone.utcoffset(datetime(y, m, 1)) for y in range(f.start.year, f.end.year + 1) for m in (1, 7)}
    return offsets == {timedelta(minutes=f.tz_offset_minutes)}


def volume_heatmap(f: Filters) -> dict[str, Any]:
    """Tickets created per weekday (Mon..Sun) x hour (0..23), shop time.

    Grouped by the hour of the week counted from the epoch (1970-01-01, a Thursday, hence + 72
    hours to start on Monday): integer arithmetic on one epoch per row costs a third of taking
    weekday and hour apart through the zone. PostgreSQL goes through the zone when it has DST;
    SQLite (no zone database) always uses the offset at the range start."""
    offset = f.tz_offset_minutes * 60
    if db.engine.dialect.name == "postgresql" and not _fixed_offset(f):
        local = func.timezone(f.tz, TicketSLA.created_at)
        how = (cast(func.extract("isodow", local), Integer) - 1) * 24 + cast(func.extract("hour", local), Integer)
    elif db.engine.dialect.name == "postgresql":
        how = literal_column(f"(floor((date_part('epoch', ticket_sla.created_at) + {int(offset)}) / 3600)::bigint"
                             " + 72) % 168")
    else:
        epoch = (func.unixepoch(TicketSLA.created_at) if sqlite3.sqlite_version_info >= (3, 38)
                 else cast(func.strftime("%s", TicketSLA.created_at), Integer))
        how = ((epoch + offset) // 3600 + 72) % 168
    how = how.label("how")
    grid = [[0] * 24 for _day in range(7)]
    for h, n in db.session.execute(select(how, func.count()).where(*f.where()).group_by(how)):
        grid[int(h) // 24][int(h) % 24] = int(n)
    peak = max((max(r) for r in grid), default=0)
    return {"weekdays": list(WEEKDAYS), "grid": grid, "peak": peak}


def _rate(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def save_rates(f: Filters) -> Optional[dict[str, list[dict[str, Any]]]]:
    """Cancellation save rate by reason, saving action and agent; None without app/retention.

    A case counts as saved once the save held (app.retention.outcomes: the rule in force is in
    `rule`); cases whose save is still being judged are `pending`, outside the rate."""
    try:
        from app.models import RetentionCase
        from app.retention import outcomes
    except ImportError:  # the retention feature is optional
        return None
    saved = cast(RetentionCase.outcome == "saved", Integer)
    pending = cast(RetentionCase.outcome == "pending", Integer)
    decided = cast(RetentionCase.outcome.in_(("saved", "cancelled", "late_accepted")), Integer)
    where = [RetentionCase.first_requested_at >= f.start, RetentionCase.first_requested_at < f.end]
    out: dict[str, list[dict[str, Any]]] = {}
    for name, col in (("reason", RetentionCase.reason), ("agent", RetentionCase.outcome_by_id)):
        rows = db.session.execute(select(col, func.count(), func.sum(saved), func.sum(decided), func.sum(pending))
                                  .where(*where).group_by(col)).all()
        out[name] = [{"key": k, "cases": n, "saved": int(s or 0), "decided": int(d or 0), "pending": int(p or 0),
                      "save_rate": _rate(int(s or 0), int(d or 0))} for k, n, s, d, p in rows]
    rows = db.session.execute(select(RetentionCase.saved_by, func.count()).where(
        *where, RetentionCase.outcome == "saved").group_by(RetentionCase.saved_by)).all()
    total_saved = sum(n for _key, n in rows)
    out["action"] = [{"key": k, "saved": n, "share": _rate(n, total_saved)} for k, n in rows]
    out["rule"] = [{"key": outcomes.rule(), "window_days": outcomes.window_days(), "label": outcomes.describe_rule()}]
    _agent_names(out["agent"])
    return out


def _agent_names(rows: list[dict[str, Any]], key: str = "key") -> None:
    ids = [r[key] for r in rows if r[key] is not None]
    names = {i: n for i, n in db.session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(ids)))} if ids else {}
    for r in rows:
        r["label"] = names.get(r[key], "—") if r[key] is not None else "—"


def coupon_spend(f: Filters) -> list[dict[str, Any]]:
    """Goodwill coupons given in the range (issued or redeemed), by issuing agent: count and yen."""
    given = Coupon.status.in_(("issued", "redeemed"))
    moment = func.coalesce(Coupon.issued_at, Coupon.created_at)
    yen = func.sum(case((Coupon.kind == "amount", Coupon.value), else_=0))
    redeemed = func.sum(cast(Coupon.status == "redeemed", Integer))
    rows = db.session.execute(
        select(Coupon.issued_by_id, func.count(), yen, redeemed,
               func.sum(cast(Coupon.kind == "percent", Integer)))
        .where(given, moment >= f.start, moment < f.end).group_by(Coupon.issued_by_id)).all()
    out = [{"key": k, "coupons": n, "yen": int(y or 0), "redeemed": int(r or 0), "percent_coupons": int(p or 0)}
           for k, n, y, r, p in rows]
    _agent_names(out)
    return sorted(out, key=lambda r: -r["yen"])


def satisfaction(f: Filters) -> dict[str, Any]:
    """NPS (% promoters - % detractors) and CSAT (% answering 7 or more), overall and by agent."""
    promoter = func.sum(cast(SatisfactionResponse.score >= 9, Integer))
    detractor = func.sum(cast(SatisfactionResponse.score <= 6, Integer))
    where = [SatisfactionResponse.score.is_not(None), SatisfactionResponse.answered_at >= f.start,
             SatisfactionResponse.answered_at < f.end]
    sent = db.session.scalar(select(func.count()).where(SatisfactionResponse.sent_at >= f.start,
                                                        SatisfactionResponse.sent_at < f.end)) or 0

    def figures(n, p, d, avg):
        n, p, d = int(n or 0), int(p or 0), int(d or 0)
        return {"responses": n, "promoters": p, "detractors": d, "passives": n - p - d,
                "nps": round(100 * (p - d) / n, 1) if n else None,
                "csat": _rate(n - d, n), "average": round(float(avg), 2) if avg is not None else None}

    cols = [func.count(), promoter, detractor, func.avg(SatisfactionResponse.score)]
    total = figures(*db.session.execute(select(*cols).where(*where)).one())
    total["sent"] = int(sent)
    total["response_rate"] = _rate(total["responses"], int(sent))
    by_agent = [{"key": k, **figures(*rest)} for k, *rest in db.session.execute(
        select(SatisfactionResponse.agent_id, *cols).where(*where).group_by(SatisfactionResponse.agent_id))]
    _agent_names(by_agent)
    return {"total": total, "by_agent": by_agent}
