"""The customer timeline: every message and event of a customer across channels, grouped by ticket.

Only tickets the agent may see contribute (app.auth.access.ticket_filter); customer-level events
(merges, subscription actions without a ticket) form a group of their own. Loaded in a fixed
number of queries however long the history is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.auth.access import ticket_filter
from app.extensions import db
from app.models import Agent, Event, Message, Ticket


@dataclass
class TimelineEntry:
    at: datetime
    message: Optional[Message] = None
    event: Optional[Event] = None

    @property
    def kind(self) -> str:
        return "message" if self.message is not None else "event"


@dataclass
class TimelineGroup:
    """A ticket's messages and events in time order; ticket None holds customer-level events."""

    ticket: Optional[Ticket]
    entries: list[TimelineEntry] = field(default_factory=list)
    focused: bool = False

    @property
    def latest(self) -> Optional[datetime]:
        return self.entries[-1].at if self.entries else None


def customer_timeline(agent: Agent, customer_id: int,
                      focus_ticket_id: Optional[int] = None) -> list[TimelineGroup]:
    """The customer's whole history across channels that `agent` may see, grouped by ticket.

    The focused ticket comes first; the other groups follow, most recent activity first.
    """
    tickets = list(db.session.scalars(
        select(Ticket).where(Ticket.customer_id == customer_id, ticket_filter(agent))
        .options(selectinload(Ticket.assignee), selectinload(Ticket.tags))
        .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc())
    ))
    groups = {t.id: TimelineGroup(ticket=t, focused=t.id == focus_ticket_id) for t in tickets}
    ids = list(groups)
    if ids:
        messages = db.session.scalars(
            select(Message).where(Message.ticket_id.in_(ids))
            .options(selectinload(Message.attachments), selectinload(Message.outbox),
                     selectinload(Message.author))
            .order_by(Message.created_at, Message.id)
        )
        for message in messages:
            groups[message.ticket_id].entries.append(TimelineEntry(message.created_at, message=message))
    customer_level = TimelineGroup(ticket=None)
    events = db.session.scalars(
        select(Event).where(or_(Event.ticket_id.in_(ids),
                                (Event.customer_id == customer_id) & Event.ticket_id.is_(None)))
        .options(selectinload(Event.actor)).order_by(Event.created_at, Event.id)
    )
    for event in events:
        group = groups[event.ticket_id] if event.ticket_id is not None else customer_level
        group.entries.append(TimelineEntry(event.created_at, event=event))
    result = list(groups.values())
    if customer_level.entries:
        result.append(customer_level)
    for group in result:
        group.entries.sort(key=lambda e: (e.at, e.kind == "event"))
    result.sort(key=lambda g: (not g.focused, -(g.latest or g.ticket.last_activity_at).timestamp()))
    return result
