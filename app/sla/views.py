"""What the templates show: a ticket's clock, the live at-risk list, a customer's scores."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import OPEN_STATUSES, SatisfactionResponse, Ticket, TicketSLA, utcnow

RULE_LABELS = {
    "first_response": _l("First response target"),
    "next_response": _l("Next response target"),
    "resolution": _l("Resolution target"),
    "commerce_cutoff": _l("Subscription change cutoff"),
}
STATE_LABELS = {
    "none": _l("No SLA"), "ok": _l("On time"), "at_risk": _l("At risk"), "breached": _l("Breached"),
    "paused": _l("Paused"), "met": _l("Met"),
}


@dataclass
class ClockView:
    state: str
    state_label: Any
    due_at: Optional[datetime]
    due_rule: Optional[str]
    rule_label: Any
    remaining: Optional[timedelta]
    policy_name: Optional[str]
    first_response_due_at: Optional[datetime]
    next_response_due_at: Optional[datetime]
    resolution_due_at: Optional[datetime]
    commerce_due_at: Optional[datetime]
    next_ship_date: Any = None
    #: True when the commerce cutoff is earlier than the SLA target, i.e. it rules.
    commerce_rules: bool = False

    @property
    def remaining_text(self) -> str:
        if self.remaining is None:
            return ""
        seconds = int(abs(self.remaining.total_seconds()))
        hours, minutes = divmod(seconds // 60, 60)
        text = f"{hours}:{minutes:02d}" if hours < 48 else f"{hours // 24}d {hours % 24}h"
        return ("-" if self.remaining.total_seconds() < 0 else "") + text


def clock_view(ticket: Ticket) -> ClockView:
    """The ticket's stored clock (or one computed now, unstored, when none exists yet)."""
    from app.sla import clocks
    from app.sla.commerce import commerce_deadline
    from app.sla.policies import calendar_for, match_policy

    row = db.session.get(TicketSLA, ticket.id)
    now = utcnow()
    if row is None:
        policy = match_policy(ticket)
        result = clocks.compute(clocks.facts_for(ticket), policy, calendar_for(policy), now)
        source: Any = result
        policy_name = policy.name if policy else None
    else:
        source, policy_name = row, row.policy.name if row.policy else None
    commerce = commerce_deadline(ticket, ticket.created_at) if ticket.status in OPEN_STATUSES else None
    return ClockView(
        state=source.state, state_label=STATE_LABELS.get(source.state, source.state),
        due_at=source.due_at, due_rule=source.due_rule, rule_label=RULE_LABELS.get(source.due_rule or "", ""),
        remaining=(source.due_at - now) if source.due_at else None, policy_name=policy_name,
        first_response_due_at=source.first_response_due_at, next_response_due_at=source.next_response_due_at,
        resolution_due_at=source.resolution_due_at, commerce_due_at=source.commerce_due_at,
        next_ship_date=commerce[1].next_ship_date if commerce else None,
        commerce_rules=source.due_rule == "commerce_cutoff")


def at_risk_rows(limit: int = 200) -> list[TicketSLA]:
    """Open tickets at risk or breached, the most urgent first."""
    return list(db.session.scalars(
        select(TicketSLA).join(Ticket, Ticket.id == TicketSLA.ticket_id)
        .where(TicketSLA.state.in_(("at_risk", "breached")), Ticket.status.in_(OPEN_STATUSES))
        .options(joinedload(TicketSLA.ticket).joinedload(Ticket.assignee),
                 joinedload(TicketSLA.ticket).joinedload(Ticket.customer))
        .order_by(TicketSLA.due_at, TicketSLA.ticket_id).limit(limit)).unique())


def customer_satisfaction(customer_id: int, limit: int = 5) -> list[SatisfactionResponse]:
    """The customer's latest answered surveys (newest first)."""
    return list(db.session.scalars(
        select(SatisfactionResponse).where(SatisfactionResponse.customer_id == customer_id,
                                           SatisfactionResponse.score.is_not(None))
        .order_by(SatisfactionResponse.answered_at.desc()).limit(limit)))


def hours_text(ranges) -> str:
    return ", ".join(f"{a.strftime('%H:%M')}-{'24:00' if b.hour == 0 and b.minute == 0 else b.strftime('%H:%M')}"
                     for a, b in ranges)


@dataclass
class BadgeView:
    state: str
    due_at: Optional[datetime]
    rule_label: Any


def sla_states(ticket_ids: list[int]) -> dict[int, BadgeView]:
    """One query for a page of tickets (the inbox): {ticket_id: BadgeView}."""
    if not ticket_ids:
        return {}
    rows = db.session.execute(select(TicketSLA.ticket_id, TicketSLA.state, TicketSLA.due_at, TicketSLA.due_rule)
                              .where(TicketSLA.ticket_id.in_(ticket_ids)))
    return {tid: BadgeView(state, due, RULE_LABELS.get(rule or "", "")) for tid, state, due, rule in rows}
