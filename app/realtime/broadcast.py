"""Named emit helpers, subscribed to the event bus so they run after commit."""
from __future__ import annotations

from app import bus
from app.extensions import socketio


@bus.subscribe("message.ingested")
def message_ingested(message_id: int, ticket_id: int, customer_id: int, ticket_created: bool, **_):
    payload = {"message_id": message_id, "ticket_id": ticket_id, "customer_id": customer_id,
               "ticket_created": ticket_created}
    socketio.emit("message.new", payload, to=f"ticket:{ticket_id}")
    socketio.emit("inbox.changed", payload, to="inbox")
