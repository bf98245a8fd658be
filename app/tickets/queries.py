"""Read side of tickets: the inbox listing, authorised and N+1-free.

Everything here takes the agent and goes through app.auth.access.ticket_filter, so a ticket an
agent may not see never appears in a list or a count.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Optional

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.auth.access import ticket_filter
from app.channels import registry
from app.extensions import db
from app.models import OPEN_STATUSES, STATUSES, Agent, Customer, Event, Message, OutboxItem, Ticket
from app.outbox.service import ATTENTION

STATUS_FILTERS = ("", "all") + STATUSES


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows: '' status means the open ones (new, open, pending)."""

    status: str = ""
    channel: str = ""
    mine: bool = False
    page: int = 1
    #: Only tickets with a reply that did not (surely) reach the customer.
    failed: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "InboxFilters":
        """Parse query arguments; anything unknown falls back to the default, never errors."""
        status = args.get("status", "")
        channel = args.get("channel", "")
        try:
            page = max(1, int(args.get("page", 1)))
        except (TypeError, ValueError):
            page = 1
        return cls(status=status if status in STATUS_FILTERS else "",
                   channel=channel if registry.is_known(channel) else "",
                   mine=args.get("mine") in ("1", "true", "on"), page=page,
                   failed=args.get("delivery") == "failed")

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query arguments for a link to these filters with `changes`, defaults left out."""
        values: dict[str, Any] = {"status": self.status, "channel": self.channel, "mine": self.mine,
                                  "page": self.page, "failed": self.failed}
        values.update(changes)
        out = {k: values[k] for k in ("status", "channel") if values[k]}
        if values["mine"]:
            out["mine"] = "1"
        if values["failed"]:
            out["delivery"] = "failed"
        if int(values["page"] or 1) > 1:
            out["page"] = int(values["page"])
        return out


def _scope(agent: Agent, filters: InboxFilters, with_status: bool = True):
    query = select(Ticket).where(ticket_filter(agent))
    if with_status and filters.status == "":
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif with_status and filters.status != "all":
        query = query.where(Ticket.status == filters.status)
    if filters.channel:
        query = query.where(Ticket.channel == filters.channel)
    if filters.mine:
        query = query.where(Ticket.assignee_id == agent.id)
    if filters.failed:
        query = query.where(Ticket.id.in_(_undelivered_ticket_ids()))
    return query


def _undelivered_ticket_ids():
    """Tickets with a reply the outbox gave up on or could not confirm (a subquery)."""
    return (select(Message.ticket_id).join(OutboxItem, OutboxItem.message_id == Message.id)
            .where(OutboxItem.status.in_(ATTENTION)))


def failed_count(agent: Agent, filters: InboxFilters) -> int:
    """Visible tickets, of any status, with an undelivered reply (under the channel/mine filters)."""
    scope = _scope(agent, replace(filters, failed=True), with_status=False)
    return db.session.scalar(scope.with_only_columns(func.count(Ticket.id))) or 0


def undelivered_among(ticket_ids) -> dict[int, str]:
    """{ticket id: 'failed' or 'unverified'} for those of `ticket_ids` with an undelivered reply
    (failed wins): the inbox rows shown in red."""
    ids = list(ticket_ids)
    if not ids:
        return {}
    out: dict[int, str] = {}
    for ticket_id, status in db.session.execute(
            select(Message.ticket_id, OutboxItem.status).join(OutboxItem, OutboxItem.message_id == Message.id)
            .where(Message.ticket_id.in_(ids), OutboxItem.status.in_(ATTENTION))):
        if out.get(ticket_id) != "failed":
            out[ticket_id] = status
    return out


def inbox_page(agent: Agent, filters: InboxFilters, per_page: int, counts: Optional[dict] = None):
    """One page of visible tickets, newest activity first, customers and assignees preloaded.

    With `counts` (status_counts() of the same filters) an open-status listing takes its total
    from there instead of counting the same rows a second time.
    """
    query = (_scope(agent, filters)
             .options(joinedload(Ticket.customer).selectinload(Customer.identities),
                      joinedload(Ticket.assignee))
             .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()))
    known = counts is not None and (filters.status == "" or filters.status in OPEN_STATUSES)
    page = db.paginate(query, page=filters.page, per_page=per_page, error_out=False, count=not known)
    if known:
        page.total = counts.get(filters.status, 0)
    return page


#: Ticket statuses whose cancellation request still waits for us (pending waits for the customer).
FLAGGED_STATUSES = ("new", "open")


def flagged_tickets(agent: Agent, filters: InboxFilters, limit: int = 10) -> list[Ticket]:
    """Cancellation requests waiting for us, oldest request first: they rise above the inbox
    list, because a subscriber about to leave is answered before anything else.

    Not those already dealt with (a case saved, awaiting its save check, cancelled or dismissed)
    nor those waiting for the customer (pending); one row per customer (their oldest request)."""
    from app.models import RetentionCase

    if filters.page > 1 or filters.status not in ("", "new", "open"):
        return []
    query = (_scope(agent, filters).where(Ticket.intent == "cancellation", Ticket.status.in_(FLAGGED_STATUSES))
             .outerjoin(RetentionCase, RetentionCase.ticket_id == Ticket.id)
             .where(or_(RetentionCase.id.is_(None), RetentionCase.outcome == "open"))
             .options(joinedload(Ticket.customer).selectinload(Customer.identities))
             .order_by(Ticket.intent_at.asc().nulls_last(), Ticket.id).limit(limit * 3))
    out, seen = [], set()
    for ticket in db.session.scalars(query).unique():
        if ticket.customer_id not in seen:
            seen.add(ticket.customer_id)
            out.append(ticket)
    return out[:limit]


#: Closed and solved tickets pile up forever; their tab counts stop at this ("1000+").
COUNT_CAP = 1000


def status_counts(agent: Agent, filters: InboxFilters) -> dict[str, int]:
    """Visible tickets per status under the channel/mine filters (for the filter tabs).

    Open statuses are counted exactly; solved, closed and all are counted up to COUNT_CAP so the
    inbox stays fast with hundreds of thousands of old tickets (the key "capped" lists which).
    """
    scope = _scope(agent, filters, with_status=False)
    exact = scope.where(Ticket.status.in_(OPEN_STATUSES)).with_only_columns(Ticket.status, func.count())
    counts: dict = {status: n for status, n in db.session.execute(exact.group_by(Ticket.status))}
    counts[""] = sum(counts.get(s, 0) for s in OPEN_STATUSES)
    capped = set()
    for status in (s for s in STATUSES if s not in OPEN_STATUSES):
        limited = scope.where(Ticket.status == status).with_only_columns(Ticket.id).limit(COUNT_CAP).subquery()
        counts[status] = db.session.scalar(select(func.count()).select_from(limited))
        if counts[status] >= COUNT_CAP:
            capped.add(status)
    counts["all"] = sum(counts.get(s, 0) for s in STATUSES)
    if capped:
        capped.add("all")
    counts["capped"] = capped
    return counts


def timeline_channels(tickets) -> list[str]:
    """Channels of the (visible) `tickets` and of their messages: the ticket page's timeline
    filter, where a phone call logged on an email ticket makes "Phone" a choice."""
    ids = [t.id for t in tickets]
    found = set(db.session.scalars(select(Message.channel).where(Message.ticket_id.in_(ids)).distinct())) \
        if ids else set()
    return sorted(c for c in found | {t.channel for t in tickets} if c)


def active_agents() -> list[Agent]:
    return list(db.session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name)))


def latest_ids(ticket: Ticket) -> dict[str, int]:
    """The newest message and event ids of the ticket (0 if none): what the page has shown, for
    live updates and the reply collision check."""
    message, event = db.session.execute(select(
        select(func.max(Message.id)).where(Message.ticket_id == ticket.id).scalar_subquery(),
        select(func.max(Event.id)).where(Event.ticket_id == ticket.id).scalar_subquery(),
    )).one()
    return {"message": message or 0, "event": event or 0}
