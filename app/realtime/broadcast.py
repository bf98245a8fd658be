"""Named emit helpers, subscribed to the event bus so they run after commit.

Payloads carry ids and short escaped-by-the-client text only; the browser fetches what it shows
(timeline entries, panels) through normal authorised HTTP requests. The one exception is the
inbox row: `inbox.changed` carries the few fields of the ticket's row (`row`), which only the
rooms that may see the ticket receive, so an open inbox updates that row in place instead of
every open inbox refetching the whole list for every message (50 agents x 5 messages a second
would be 250 list renders a second).

A polled batch (bus.publish_many) is told event by event as before, but its tickets, with their
customers and assignees, are read in one query for the whole batch instead of one per event.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app import bus
from app.extensions import db, socketio
from app.models import Customer, Ticket
from app.realtime import revoke
from app.realtime.rooms import ticket_audience

#: Tickets per query when a batch loads its tickets (bounds the IN list).
CHUNK = 500


def _load_tickets(ticket_ids) -> dict[int, Ticket]:
    """The tickets with what an inbox row shows of them (customer and its identities, assignee)."""
    ids = sorted({i for i in ticket_ids if i is not None})
    found: dict[int, Ticket] = {}
    for start in range(0, len(ids), CHUNK):
        found.update((t.id, t) for t in db.session.scalars(
            select(Ticket).where(Ticket.id.in_(ids[start:start + CHUNK]))
            .options(joinedload(Ticket.customer).selectinload(Customer.identities), joinedload(Ticket.assignee))))
    return found


def _ticket_event(event: str, ticket_id: int, inbox: bool = True, ticket: Optional[Ticket] = None,
                  **payload) -> None:
    ticket = ticket if ticket is not None else db.session.get(Ticket, ticket_id)
    if ticket is None:
        return
    body = {"ticket_id": ticket_id, "customer_id": ticket.customer_id, "status": ticket.status, **payload}
    socketio.emit(event, body, to=f"ticket:{ticket_id}")
    if inbox:
        socketio.emit("inbox.changed", {**body, "row": inbox_row(ticket)}, to=ticket_audience(ticket))


def inbox_row(ticket: Ticket) -> dict:
    """What an inbox row shows of `ticket` (static/js/live.js renders it like _inbox_layout.html)."""
    return {"subject": ticket.subject or "", "customer": ticket.customer.display_name if ticket.customer else "",
            "channel": ticket.channel, "priority": ticket.priority, "status": ticket.status,
            "assignee_id": ticket.assignee_id, "assignee": ticket.assignee.name if ticket.assignee else None,
            "intent": ticket.intent, "last_activity_at": ticket.last_activity_at.isoformat()}


@bus.subscribe("message.ingested")
def message_ingested(message_id: int, ticket_id: int, ticket_created: bool = False, **_):
    _ticket_event("message.new", ticket_id, message_id=message_id, ticket_created=ticket_created)


def messages_ingested(payloads: list[dict]) -> None:
    """A batch of message.ingested: the same events as `message_ingested` for each, one query."""
    tickets = _load_tickets(p.get("ticket_id") for p in payloads)
    for p in payloads:
        ticket = tickets.get(p["ticket_id"])
        if ticket is not None:
            _ticket_event("message.new", p["ticket_id"], ticket=ticket, message_id=p["message_id"],
                          ticket_created=p.get("ticket_created", False))


bus.subscribe_batch("message.ingested", messages_ingested, single=message_ingested)


@bus.subscribe("message.created")
def message_created(message_id: int, ticket_id: int, **_):
    _ticket_event("message.new", ticket_id, message_id=message_id, ticket_created=False)


@bus.subscribe("message.delivered")
def message_delivered(message_id: int, ticket_id: int, status: str, author_id=None, **_):
    socketio.emit("message.status", {"ticket_id": ticket_id, "message_id": message_id, "status": status},
                  to=f"ticket:{ticket_id}")
    if author_id and status in ("failed", "unverified"):
        # The author may be on another page by now: tell them wherever they are.
        socketio.emit("delivery.alert", {"ticket_id": ticket_id, "message_id": message_id, "status": status},
                      to=f"agent:{author_id}")


@bus.subscribe("ticket.updated")
def ticket_updated(ticket_id: int, after_message: bool = False, **payload):
    fields = {k: v for k, v in payload.items() if k in ("field", "actor_id", "changes")}
    if not after_message:  # a team or assignee change may have taken the ticket from a watcher
        revoke.recheck_ticket(ticket_id)
    # After a reply or note, the message's inbox.changed (same commit) already carried the row.
    _ticket_event("ticket.changed", ticket_id, inbox=not after_message, **fields)


def tickets_updated(payloads: list[dict]) -> None:
    """A batch of ticket.updated (e.g. the tickets a polled batch flagged): as `ticket_updated`
    for each, the tickets read in one query."""
    tickets = _load_tickets(p.get("ticket_id") for p in payloads)
    for p in payloads:
        ticket_id, after_message = p["ticket_id"], p.get("after_message", False)
        fields = {k: v for k, v in p.items() if k in ("field", "actor_id", "changes")}
        if not after_message:
            revoke.recheck_ticket(ticket_id)  # finds the loaded ticket in the session: no query
        ticket = tickets.get(ticket_id)
        if ticket is not None:
            _ticket_event("ticket.changed", ticket_id, inbox=not after_message, ticket=ticket, **fields)


bus.subscribe_batch("ticket.updated", tickets_updated, single=ticket_updated)


@bus.subscribe("subscription.changed")
def subscription_changed(subscription_id: int, customer_id: int, version: int, ticket_ids=(), **_):
    """Open retention panels showing this customer's subscriptions refetch themselves."""
    for ticket_id in ticket_ids:
        socketio.emit("subscription.changed", {"ticket_id": ticket_id, "customer_id": customer_id,
                                               "subscription_id": subscription_id, "version": version},
                      to=f"ticket:{ticket_id}")
