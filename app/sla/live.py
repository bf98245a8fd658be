"""Keeping the clocks current and telling supervisors: bus subscribers, the minute job, the emit.

After any commit that changes a ticket (message.ingested / message.created / ticket.updated),
that ticket's clocks are recomputed. Every minute the worker moves tickets whose at-risk or due
moment has passed (a pure SQL pass over stored times, no message scans), refreshes the few
tickets ruled by a commerce cutoff, and creates clocks for open tickets that have none. Changes
are emitted as Socket.IO event "sla.changed" to room "supervisors":
    {"tickets": [{"ticket_id": 1, "state": "at_risk", "due_at": "...", "due_rule": "..."}]}
The page /sla/live listens for it and reloads its list.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Iterable, Optional

from flask import Flask
from sqlalchemy import and_, or_, select, update

from app import bus
from app.extensions import db, socketio
from app.models import OPEN_STATUSES, Ticket, TicketSLA, utcnow
from app.sla import clocks
from app.worker import register_job

log = logging.getLogger(__name__)
ROOM = "supervisors"
EVENT = "sla.changed"


def _payload(row: TicketSLA) -> dict:
    return {"ticket_id": row.ticket_id, "state": row.state, "due_rule": row.due_rule,
            "due_at": row.due_at.isoformat() if row.due_at else None}


def emit_changes(rows: Iterable[TicketSLA]) -> None:
    tickets = [_payload(r) for r in rows]
    if tickets:
        socketio.emit(EVENT, {"tickets": tickets}, to=ROOM)


def _on_ticket(ticket_id: Optional[int] = None, **_) -> None:
    if ticket_id is None:
        return
    try:
        refresh_and_emit([ticket_id])
    except Exception:
        db.session.rollback()  # leave the publisher's session usable; the minute job retries
        raise


def _left_to_batch(ticket_id: Optional[int]) -> bool:
    """Whether the ticket belongs to an ingested batch whose message.ingested this module has yet
    to handle: a ticket.updated published meanwhile (retention flags the ticket before our turn)
    is then left to that refresh, which reads the same committed state (one refresh, not two)."""
    from app.ingest.service import delivering

    pending = delivering()
    return bool(pending) and ticket_id in pending and bus.subscribed("message.ingested", _on_ticket)


def _on_ticket_updated(ticket_id: Optional[int] = None, after_message: bool = False, **_) -> None:
    if not after_message and not _left_to_batch(ticket_id):  # a reply's or note's message.created
        _on_ticket(ticket_id)                                    # already refreshed the ticket


def _on_tickets(payloads: list[dict]) -> None:
    """A batch of events (bus.publish_many): every ticket in one `refresh_many`, one commit."""
    ids = [p["ticket_id"] for p in payloads if p.get("ticket_id") is not None and not p.get("after_message")
           and not _left_to_batch(p["ticket_id"])]
    _refresh_ids(ids)


def _refresh_ids(ids: list[int]) -> None:
    """One `refresh_and_emit` for a batch's tickets; on failure the session is rolled back and the
    error reaches the bus (which then refreshes ticket by ticket)."""
    if not ids:
        return
    try:
        refresh_and_emit(ids)
    except Exception:
        db.session.rollback()
        raise


def _on_ingested(payloads: list[dict]) -> None:
    """An ingested batch: its tickets' clocks in one `refresh_many` (from here on nothing is left
    to this handler; if it fails, the bus refreshes ticket by ticket)."""
    from app.ingest.service import delivering

    pending = delivering()
    if pending is not None:
        pending.clear()
    _refresh_ids([p["ticket_id"] for p in payloads if p.get("ticket_id") is not None])


def refresh_and_emit(ticket_ids, **options) -> None:
    """`clocks.refresh_many`, then commit and emit what changed (read before the commit expires
    the rows: one query for all rather than one per row)."""
    refreshed = clocks.refresh_many(ticket_ids, commit=False, **options)
    payloads = [_payload(row) for row, did in refreshed.values() if did]
    db.session.commit()
    if payloads:
        socketio.emit(EVENT, {"tickets": payloads}, to=ROOM)


def _on_delivered(ticket_id: Optional[int] = None, status: str = "", **_) -> None:
    """A reply reached the customer (or was marked handled): from now it answers the ticket."""
    if status in clocks.DELIVERED:
        _on_ticket(ticket_id)


bus.subscribe("message.ingested", _on_ticket)
bus.subscribe("message.delivered", _on_delivered)
bus.subscribe("message.created", _on_ticket)
bus.subscribe("ticket.updated", _on_ticket_updated)
bus.subscribe_batch("message.ingested", _on_ingested, single=_on_ticket)
bus.subscribe_batch("ticket.updated", _on_tickets, single=_on_ticket_updated)


@bus.subscribe("sla.policies_changed")
def _on_policies_changed(**_) -> None:
    refresh_open(limit=None)


def refresh_open(limit: Optional[int] = 500, only_missing: bool = False) -> int:
    """Recompute open tickets' clocks (those without a row first); returns how many."""
    from app.sla.policies import active_policies

    query = select(Ticket.id).where(Ticket.status.in_(OPEN_STATUSES))
    if only_missing:
        query = query.outerjoin(TicketSLA, TicketSLA.ticket_id == Ticket.id).where(
            TicketSLA.ticket_id.is_(None))
    ids = list(db.session.scalars(query.order_by(Ticket.id).limit(limit)))
    refresh_and_emit(ids, policies=active_policies())
    return len(ids)


def evaluate(now: Optional[datetime] = None) -> list[int]:
    """Move open tickets past their at-risk / due moments; returns the ids that changed (commits)."""
    now = now or utcnow()
    running = TicketSLA.state.in_(("ok", "at_risk"))
    to_breach = and_(running, TicketSLA.due_at <= now)
    to_risk = and_(TicketSLA.state == "ok", TicketSLA.at_risk_at <= now, TicketSLA.due_at > now)
    ids = list(db.session.scalars(select(TicketSLA.ticket_id).where(or_(to_breach, to_risk))))
    if ids:
        db.session.execute(update(TicketSLA).where(to_breach)
                           .values(state="breached", breached=True))
        db.session.execute(update(TicketSLA).where(to_risk).values(state="at_risk"))
        db.session.commit()
        emit_changes(db.session.scalars(select(TicketSLA).where(TicketSLA.ticket_id.in_(ids))))
    # Commerce cutoffs follow the subscription (a skip moves next_ship_date): recompute those.
    commerce_ids = list(db.session.scalars(select(TicketSLA.ticket_id).where(
        TicketSLA.commerce_due_at.is_not(None), TicketSLA.status.in_(OPEN_STATUSES))))
    refresh_and_emit(commerce_ids, now=now)
    return ids


def _job(app: Flask) -> dict:
    created = refresh_open(limit=500, only_missing=True)
    return {"changed": len(evaluate()), "created": created}


register_job("sla", _job, every=60)


def backfill(batch: int = 1000) -> int:
    """Compute the clocks of every ticket that has none (after an upgrade); returns how many."""
    from app.sla.policies import active_policies

    done, policies = 0, active_policies()
    while True:
        ids = list(db.session.scalars(
            select(Ticket.id).outerjoin(TicketSLA, TicketSLA.ticket_id == Ticket.id)
            .where(TicketSLA.ticket_id.is_(None)).order_by(Ticket.id).limit(batch)))
        if not ids:
            return done
        clocks.refresh_many(ids, policies=policies)
        done += len(ids)
