"""SLA policies and business calendars as supervisors edit them, and which policy fits a ticket.

A ticket gets the first active policy (lowest `position`) whose priority, channel and customer
segment match (None matches anything). Calendars come from the database (the default one), or
from the built-in Mon-Fri 9:00-18:00 with 年末年始 and お盆 when none was saved yet.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Optional

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import Agent, BusinessCalendar, ClosedDay, Order, SLAPolicy, Ticket
from app.sla.business_time import (Calendar, ClosedRange, default_calendar, format_hours,
                                   parse_hours)

#: Order statuses that are not purchases (as in app.commerce.services).
_NOT_PURCHASED = ("cancelled", "returned")
POLICY_FIELDS = ("name", "position", "active", "priority", "channel", "segment",
                 "first_response_minutes", "next_response_minutes", "resolution_minutes",
                 "business_hours", "pause_when_pending", "calendar_id")


def calendar_from_row(row: Optional[BusinessCalendar]) -> Calendar:
    tz = current_app.config.get("TIMEZONE", "Asia/Tokyo")
    if row is None:
        return default_calendar(tz)
    closed = tuple(ClosedRange(c.start_date, c.end_date, c.yearly, c.label) for c in row.closed_days)
    return Calendar(tz=row.timezone or tz, hours=parse_hours(row.hours),
                    public_holidays=row.public_holidays, closed=closed)


def default_calendar_row() -> Optional[BusinessCalendar]:
    return db.session.scalar(select(BusinessCalendar).order_by(
        BusinessCalendar.is_default.desc(), BusinessCalendar.id).limit(1))


def calendar_for(policy: Optional[SLAPolicy]) -> Calendar:
    row = policy.calendar if policy is not None and policy.calendar_id else default_calendar_row()
    return calendar_from_row(row)


def customer_segment(customer_id: int) -> Optional[str]:
    from app.commerce.services import segment_for

    count = db.session.scalar(select(func.count(Order.id)).where(
        Order.customer_id == customer_id, Order.status.not_in(_NOT_PURCHASED)))
    return segment_for(int(count or 0))


def active_policies() -> list[SLAPolicy]:
    return list(db.session.scalars(select(SLAPolicy).where(SLAPolicy.active.is_(True))
                                   .order_by(SLAPolicy.position, SLAPolicy.id)))


def match_policy(ticket: Ticket, policies: Optional[list[SLAPolicy]] = None,
                 segment: Optional[str] = "?") -> Optional[SLAPolicy]:
    """The policy that applies to `ticket` (segment looked up only when a policy needs it)."""
    for policy in policies if policies is not None else active_policies():
        if policy.priority and policy.priority != ticket.priority:
            continue
        if policy.channel and policy.channel != ticket.channel:
            continue
        if policy.segment:
            if segment == "?":
                segment = customer_segment(ticket.customer_id)
            if policy.segment != segment:
                continue
        return policy
    return None


# -- supervisor edits ------------------------------------------------------------------------

def save_policy(agent: Agent, data: dict[str, Any], policy_id: Optional[int] = None) -> SLAPolicy:
    """Create or update a policy from whitelisted fields; re-evaluates open tickets after commit."""
    policy = db.session.get(SLAPolicy, policy_id) if policy_id else SLAPolicy()
    if policy is None:
        raise LookupError(policy_id)
    for name in POLICY_FIELDS:
        if name in data:
            value = data[name]
            setattr(policy, name, value if value not in ("",) else None)
    policy.updated_by_id = agent.id
    db.session.add(policy)
    db.session.commit()
    _policies_changed()
    return policy


def delete_policy(agent: Agent, policy_id: int) -> None:
    policy = db.session.get(SLAPolicy, policy_id)
    if policy is None:
        raise LookupError(policy_id)
    db.session.delete(policy)
    db.session.commit()
    _policies_changed()


def ensure_default_calendar() -> BusinessCalendar:
    """The default calendar row, created from the built-in hours the first time it is edited."""
    row = default_calendar_row()
    if row is not None:
        return row
    builtin = default_calendar(current_app.config.get("TIMEZONE", "Asia/Tokyo"))
    row = BusinessCalendar(name="default", timezone=builtin.tz, hours=format_hours(builtin.hours),
                           public_holidays=True, is_default=True)
    for r in builtin.closed:
        row.closed_days.append(ClosedDay(label=r.label, start_date=r.start, end_date=r.end, yearly=r.yearly))
    db.session.add(row)
    db.session.flush()
    return row


def save_calendar(agent: Agent, hours: dict[str, list[list[str]]], public_holidays: bool,
                  timezone: Optional[str] = None) -> BusinessCalendar:
    parse_hours(hours)  # raises ValueError on a malformed time
    row = ensure_default_calendar()
    row.hours, row.public_holidays = hours, public_holidays
    if timezone:
        row.timezone = timezone
    db.session.commit()
    _policies_changed()
    return row


def add_closed_day(agent: Agent, label: str, start: date, end: date, yearly: bool) -> ClosedDay:
    if end < start:
        raise ValueError("end before start")
    row = ensure_default_calendar()
    closed = ClosedDay(calendar_id=row.id, label=label, start_date=start, end_date=end, yearly=yearly)
    db.session.add(closed)
    db.session.commit()
    _policies_changed()
    return closed


def delete_closed_day(agent: Agent, closed_id: int) -> None:
    row = db.session.get(ClosedDay, closed_id)
    if row is None:
        raise LookupError(closed_id)
    db.session.delete(row)
    db.session.commit()
    _policies_changed()


def _policies_changed() -> None:
    from app import bus

    bus.publish("sla.policies_changed")
