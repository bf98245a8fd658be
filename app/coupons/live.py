"""Live coupon notifications over Socket.IO, emitted after commit from the event bus.

Rooms: supervisors join "supervisors" (by sending "coupons.join" once connected; the realtime
module may instead join them on connect) and hear "coupon.requested" / "coupon.decided"; a ticket
page in room "ticket:<id>" hears "coupon.decided" for its coupons.
"""
from __future__ import annotations

from flask_login import current_user
from flask_socketio import join_room

from app import bus
from app.extensions import db, socketio
from app.models import Coupon

SUPERVISORS_ROOM = "supervisors"


def _payload(coupon: Coupon) -> dict:
    return {"coupon_id": coupon.id, "ticket_id": coupon.ticket_id, "customer_id": coupon.customer_id,
            "kind": coupon.kind, "value": coupon.value, "status": coupon.status,
            "reason": coupon.reason, "code": coupon.code,
            "issued_by_id": coupon.issued_by_id, "created_at": coupon.created_at.isoformat(),
            "requested_by": coupon.issued_by.name if coupon.issued_by else "",
            "decided_by": coupon.decided_by.name if coupon.decided_by else "",
            "decision_note": coupon.decision_note, "over": coupon.approval_reasons}


@bus.subscribe("coupon.requested")
def coupon_requested(coupon_id: int, **_) -> None:
    coupon = db.session.get(Coupon, coupon_id)
    if coupon is not None:
        socketio.emit("coupon.requested", _payload(coupon), to=SUPERVISORS_ROOM)


@bus.subscribe("coupon.decided")
def coupon_decided(coupon_id: int, ticket_id: int | None = None, **_) -> None:
    coupon = db.session.get(Coupon, coupon_id)
    if coupon is None:
        return
    payload = _payload(coupon)
    socketio.emit("coupon.decided", payload, to=SUPERVISORS_ROOM)
    if ticket_id is not None:
        socketio.emit("coupon.decided", payload, to=f"ticket:{ticket_id}")


def join_supervisors(*_args) -> bool:
    """Socket.IO "coupons.join": a supervisor's page subscribes to coupon requests."""
    if current_user.is_authenticated and current_user.is_supervisor:
        join_room(SUPERVISORS_ROOM)
        return True
    return False


def join_ticket(ticket_id=None, *_args) -> bool:
    """Socket.IO "coupons.join_ticket": a ticket page hears its coupon decisions."""
    from app.auth.access import can_see_ticket
    from app.models import Ticket

    try:
        ticket = db.session.get(Ticket, int(ticket_id))
    except (TypeError, ValueError):
        return False
    if current_user.is_authenticated and ticket is not None and can_see_ticket(current_user, ticket):
        join_room(f"ticket:{ticket.id}")
        return True
    return False


def register(_state) -> None:
    """Bind the handlers to this app's Socket.IO server (called once per app)."""
    socketio.on_event("coupons.join", join_supervisors)
    socketio.on_event("coupons.join_ticket", join_ticket)
