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
        row, changed = clocks.refresh(ticket_id)
    except Exception:
        db.session.rollback()  # leave the publisher's session usable; the minute job retries
        raise
    if row is not None and changed:
        emit_changes([row])


def _on_tickets(payloads: list[dict]) -> None:
    """A batch of events (bus.publish_many): each ticket once, policies read once, one commit."""
    from app.sla.policies import active_policies

    ids = list(dict.fromkeys(p["ticket_id"] for p in payloads if p.get("ticket_id") is not None))
    if not ids:
        return
    policies, changed = active_policies(), []
    try:
        for ticket_id in ids:
            row, did = clocks.refresh(ticket_id, policies=policies, commit=False)
            if row is not None and did:
                changed.append(row)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    emit_changes(changed)


bus.subscribe("message.ingested", _on_ticket)
bus.subscribe("message.created", _on_ticket)
bus.subscribe("ticket.updated", _on_ticket)
bus.subscribe_batch("message.ingested", _on_tickets, single=_on_ticket)
bus.subscribe_batch("ticket.updated", _on_tickets, single=_on_ticket)


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
    policies = active_policies()
    changed = []
    for ticket_id in ids:
        row, did = clocks.refresh(ticket_id, policies=policies)
        if row is not None and did:
            changed.append(row)
    emit_changes(changed)
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
    for ticket_id in commerce_ids:
        row, did = clocks.refresh(ticket_id, now=now)
        if row is not None and did:
            emit_changes([row])
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
        for ticket_id in ids:
            clocks.refresh(ticket_id, policies=policies)
        done += len(ids)
