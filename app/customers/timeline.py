"""The customer timeline: every message and event of a customer across channels, grouped by ticket.

Only tickets the agent may see contribute (app.auth.access.ticket_filter); customer-level events
(merges, subscription actions without a ticket) form a group of their own. A page holds the newest
`limit` messages (older ones load on scroll through `before`), plus the events of the same time
span, in a fixed number of queries however long the history is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload, selectinload, undefer

from app.auth.access import ticket_filter
from app.extensions import db
from app.models import Agent, Event, Message, Ticket

#: Messages per timeline page; what an agent sees first.
PAGE_SIZE = 50


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


class Timeline(list):
    """The groups of one page (a list), with what the page needs to load older entries."""

    def __init__(self, groups=(), *, tickets=(), has_more=False, oldest_message_id=None):
        super().__init__(groups)
        #: Every visible ticket of the customer, most recent activity first.
        self.tickets: list[Ticket] = list(tickets)
        self.has_more = has_more
        self.oldest_message_id: Optional[int] = oldest_message_id


def _message_options():
    # body_html is deferred on the model; the timeline shows it (sandboxed), so load it here.
    # Relations ride along in the same query (a join costs less than another statement); the
    # attachments collection repeats message rows, so results go through .unique().
    return (joinedload(Message.attachments), joinedload(Message.outbox), joinedload(Message.author),
            undefer(Message.body_html))


def customer_timeline(agent: Agent, customer_id: int, focus_ticket_id: Optional[int] = None, *,
                      limit: Optional[int] = PAGE_SIZE, before_id: Optional[int] = None,
                      channel: Optional[str] = None) -> Timeline:
    """One page of the customer's history across channels that `agent` may see, grouped by ticket.

    The focused ticket comes first; the other groups follow, most recent activity first. `limit`
    None loads everything; `before_id` pages back from that message; `channel` keeps one channel.
    """
    tickets = list(db.session.scalars(
        select(Ticket).where(Ticket.customer_id == customer_id, ticket_filter(agent))
        .options(joinedload(Ticket.assignee), selectinload(Ticket.tags))
        .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc())
    ))
    # A channel also keeps tickets started elsewhere that have messages on it (a call logged on
    # an email ticket shows under Phone).
    with_channel = set(db.session.scalars(
        select(Message.ticket_id).where(Message.customer_id == customer_id, Message.channel == channel)
        .distinct())) if channel else set()
    shown = [t for t in tickets if not channel or t.channel == channel or t.id in with_channel]
    groups = {t.id: TimelineGroup(ticket=t, focused=t.id == focus_ticket_id) for t in shown}
    ids = list(groups)
    query = select(Message).where(Message.ticket_id.in_(ids)).options(*_message_options())
    if channel:
        query = query.where(Message.channel == channel)
    upper: Optional[Message] = db.session.get(Message, before_id) if before_id else None
    if upper is not None:
        query = query.where(or_(Message.created_at < upper.created_at,
                                and_(Message.created_at == upper.created_at, Message.id < upper.id)))
    query = query.order_by(Message.created_at.desc(), Message.id.desc())
    messages = list(db.session.scalars(query.limit(limit + 1) if limit else query).unique()) if ids else []
    has_more = bool(limit) and len(messages) > limit
    messages = messages[:limit] if limit else messages
    for message in messages:
        groups[message.ticket_id].entries.append(TimelineEntry(message.created_at, message=message))
    customer_level = TimelineGroup(ticket=None)
    conds = [Event.ticket_id.in_(ids)]
    if not channel:
        conds.append((Event.customer_id == customer_id) & Event.ticket_id.is_(None))
    event_query = select(Event).where(or_(*conds)).options(joinedload(Event.actor))
    if has_more and messages:  # only the span of the loaded messages; older events come with them
        event_query = event_query.where(Event.created_at >= messages[-1].created_at)
    if upper is not None:
        event_query = event_query.where(Event.created_at < upper.created_at)
    for event in db.session.scalars(event_query.order_by(Event.created_at, Event.id)):
        group = groups[event.ticket_id] if event.ticket_id is not None else customer_level
        group.entries.append(TimelineEntry(event.created_at, event=event))
    result = [g for g in groups.values() if g.entries or (g.focused and upper is None)]
    if customer_level.entries:
        result.append(customer_level)
    for group in result:
        group.entries.sort(key=lambda e: (e.at, e.kind == "event"))
    result.sort(key=lambda g: (not g.focused, -(g.latest or g.ticket.last_activity_at).timestamp()))
    return Timeline(result, tickets=tickets, has_more=has_more,
                    oldest_message_id=messages[-1].id if messages else None)


def ticket_entries(ticket: Ticket, *, after_message_id: int = 0, after_event_id: int = 0,
                   message_id: Optional[int] = None) -> list[TimelineEntry]:
    """Entries of one ticket newer than the given ids (live updates), or the one message asked for."""
    query = select(Message).where(Message.ticket_id == ticket.id).options(*_message_options())
    query = query.where(Message.id == message_id) if message_id else query.where(Message.id > after_message_id)
    entries = [TimelineEntry(m.created_at, message=m) for m in db.session.scalars(query.order_by(Message.id)).unique()]
    if not message_id:
        events = db.session.scalars(select(Event).where(Event.ticket_id == ticket.id, Event.id > after_event_id)
                                    .options(joinedload(Event.actor)).order_by(Event.id))
        entries += [TimelineEntry(e.created_at, event=e) for e in events]
    return sorted(entries, key=lambda e: (e.at, e.kind == "event"))


# --- long quoted email history ---------------------------------------------------------------

_QUOTE_HEADERS = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|元のメッセージ|Forwarded message|転送されたメッセージ)\s*-{2,}"
    r"|On\b.{0,200}\bwrote:|.{0,200}\bwrote:|.{0,200}(?:のメッセージ|書きました)\s*[:：]"
    r"|\d{4}年\d{1,2}月\d{1,2}日.{0,120}<[^>\s]+@[^>\s]+>\s*[:：]?)\s*$",
    re.IGNORECASE)


def split_quoted(text: str) -> tuple[str, str]:
    """(what the sender wrote, the quoted history to collapse); the history may be ''.

    History starts at a reply header ("-----Original Message-----", "----- 元のメッセージ -----",
    "On … wrote:", "…のメッセージ:") or, without one, at the trailing run of ">" lines.
    """
    lines = (text or "").split("\n")
    cut = None
    for i, line in enumerate(lines):
        if i > 0 and _QUOTE_HEADERS.match(line):
            cut = i
            break
    if cut is None:
        i = len(lines)
        while i > 0 and (lines[i - 1].lstrip().startswith(">") or not lines[i - 1].strip()):
            i -= 1
        if any(line.lstrip().startswith(">") for line in lines[i:]) and i > 0:
            cut = i
    if cut is None:
        return text, ""
    return "\n".join(lines[:cut]).rstrip(), "\n".join(lines[cut:]).strip("\n")
