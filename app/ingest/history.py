"""Where imported history goes: a mailbox's mail from before Tsunagu took it over.

An `InboundMessage` with `history=True` is stored, threaded and indexed like any other, but it
never changes a ticket's status: it joins the ticket it continues whatever that ticket's status
(an old reply to an old conversation stays in it; no reopen, no follow-up ticket, no flood rule),
and a conversation it starts is closed from the start, dated by the message itself. ingest()
publishes "message.imported" for it instead of "message.ingested", so acknowledgements, SLA
clocks, live events and intent alerts (subscribers of the latter) never see it; search does.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select

from app.extensions import db
from app.ingest.lookups import SUBJECT_CANDIDATES
from app.ingest.threading import (SUBJECT_MATCH_WINDOW, different_matters, markers, normalise_subject,
                                  strip_reply_prefixes)
from app.ingest.types import InboundMessage
from app.models import Customer, Ticket

#: The bus topic for stored history messages (same payload as "message.ingested").
TOPIC = "message.imported"


def _same_subject(msg: InboundMessage, customer: Customer, lookups) -> Optional[Ticket]:
    """The customer's conversation with the same subject active within the window BEFORE the
    message's own date, whatever its status: threading proper looks at open tickets only, and
    every imported conversation is closed (carrier mail drops In-Reply-To)."""
    key = normalise_subject(msg.subject)
    if not key:
        return None
    since = msg.created_at - SUBJECT_MATCH_WINDOW
    candidates = list(lookups.new_tickets.get(customer, [])) if lookups.batch else []
    if customer.id is not None:  # one indexed query (customer_id, last_activity_at)
        candidates += db.session.scalars(
            select(Ticket).where(Ticket.customer_id == customer.id, Ticket.last_activity_at >= since,
                                 Ticket.created_at <= msg.created_at)
            .order_by(Ticket.last_activity_at.desc()).limit(SUBJECT_CANDIDATES))
    found = [t for t in candidates if t.created_at <= msg.created_at and t.last_activity_at >= since
             and normalise_subject(t.subject) == key]
    named = markers(f"{msg.subject or ''}\n{msg.body_text or ''}")
    for ticket in sorted(found, key=lambda t: t.last_activity_at, reverse=True):
        # Different order numbers or coupon codes: another matter, as for live mail (threading.py).
        if not (named and different_matters(named, lookups.ticket_markers(ticket))):
            return ticket
    return None


def place_history(msg: InboundMessage, customer: Customer, ticket: Optional[Ticket], lookups
                  ) -> tuple[Ticket, bool, bool]:
    """(ticket, created, reopened) for a history message; `ticket` is the one threading found."""
    if ticket is None and msg.match_subject:
        ticket = _same_subject(msg, customer, lookups)
    if ticket is not None:
        for name in ("solved_at", "closed_at"):  # a closed conversation ends with its last message
            ended = getattr(ticket, name)
            if ended is not None and ticket.status == "closed" and ended < msg.created_at:
                setattr(ticket, name, msg.created_at)
        return ticket, False, False
    subject = strip_reply_prefixes(msg.subject) or (msg.body_text or "").strip().split("\n")[0][:80]
    ticket = Ticket(customer=customer, subject=subject[:500], status="closed", channel=msg.channel,
                    created_at=msg.created_at, last_activity_at=msg.created_at,
                    solved_at=msg.created_at, closed_at=msg.created_at)
    db.session.add(ticket)
    lookups.new_ticket(customer, ticket)
    return ticket, True, False
