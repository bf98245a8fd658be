"""Named emit helpers, subscribed to the event bus so they run after commit.

Payloads carry ids and short escaped-by-the-client text only; the browser fetches what it shows
(timeline entries, panels) through normal authorised HTTP requests. The one exception is the
inbox row: `inbox.changed` carries the few fields of the ticket's row (`row`), which only the
rooms that may see the ticket receive, so an open inbox updates that row in place instead of
every open inbox refetching the whole list for every message (50 agents x 5 messages a second
would be 250 list renders a second).
"""
from __future__ import annotations

from app import bus
from app.extensions import db, socketio
from app.models import Ticket
from app.realtime import revoke
from app.realtime.rooms import ticket_audience


def _ticket_event(event: str, ticket_id: int, inbox: bool = True, **payload) -> None:
    ticket = db.session.get(Ticket, ticket_id)
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


@bus.subscribe("subscription.changed")
def subscription_changed(subscription_id: int, customer_id: int, version: int, ticket_ids=(), **_):
    """Open retention panels showing this customer's subscriptions refetch themselves."""
    for ticket_id in ticket_ids:
        socketio.emit("subscription.changed", {"ticket_id": ticket_id, "customer_id": customer_id,
                                               "subscription_id": subscription_id, "version": version},
                      to=f"ticket:{ticket_id}")
