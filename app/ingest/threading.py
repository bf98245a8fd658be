"""Threading: which ticket an inbound message belongs to.

Rules, in order: a reply to a known thread key; the ticket token the channel found (only if that
ticket is the same customer's); the same customer's open ticket with the same normalised subject
from the last 14 days (carrier mail drops In-Reply-To). A solved ticket reopens; a closed one is
followed by a new ticket linked to it. A sender who has started TICKET_FLOOD_LIMIT tickets within
TICKET_FLOOD_WINDOW_SECONDS (by the messages' own times) joins their latest open ticket instead: an
auto-responder without Auto-Submitted headers cannot flood the inbox (nor, with it, the
acknowledgements).
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import func, select

from app.extensions import db
from app.models import OPEN_STATUSES, Ticket

SUBJECT_MATCH_WINDOW = timedelta(days=14)
_PREFIX = re.compile(r"^\s*(re|fw|fwd|aw|wg|sv|vs|tr|返信|転送|回答)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*", re.I)
_TOKEN = re.compile(r"\[#(\d{1,10})\]")


def strip_reply_prefixes(subject: str) -> str:
    """'Re: Ｒｅ：返信: 転送: AW: x' -> 'x' (for display and matching)."""
    text = subject or ""
    while True:
        folded = unicodedata.normalize("NFKC", text)
        match = _PREFIX.match(folded)
        if not match:
            return text.strip()
        # Cut the same number of characters from the original: NFKC keeps length for these.
        text = folded[match.end():]


def normalise_subject(subject: str) -> str:
    """Subject key for matching: prefixes and ticket tokens removed, NFKC, case and space folded."""
    text = strip_reply_prefixes(subject)
    text = _TOKEN.sub("", unicodedata.normalize("NFKC", text))
    return " ".join(text.lower().split())


def ticket_token(ticket_id: int) -> str:
    return f"[#{ticket_id}]"


def find_ticket_token(subject: str) -> Optional[int]:
    match = _TOKEN.search(unicodedata.normalize("NFKC", subject or ""))
    return int(match.group(1)) if match else None


def find_thread_ticket(reply_to_keys: tuple[str, ...], ticket_hint: Optional[int], customer,
                       subject: str, match_subject: bool, now: datetime, lookups=None) -> Optional[Ticket]:
    """The ticket an inbound message continues, or None for a new conversation.

    `customer` is the Customer (or, for older callers, its id). `lookups` (app.ingest.lookups)
    answers from the batch's prefetched rows; without it every step is a query.
    """
    from app.ingest.lookups import Lookups

    lookups = lookups or Lookups()
    customer_id = customer if isinstance(customer, int) or customer is None else customer.id
    if reply_to_keys:
        ticket = lookups.thread_ticket(tuple(reply_to_keys))
        if ticket is not None:
            return ticket
    if ticket_hint is not None and customer_id is not None:
        ticket = db.session.get(Ticket, ticket_hint)
        if ticket is not None and ticket.customer_id == customer_id:
            return ticket
    if match_subject:
        key = normalise_subject(subject)
        if key:
            if isinstance(customer, int):
                candidates = db.session.scalars(
                    select(Ticket).where(Ticket.customer_id == customer_id,
                                         Ticket.status.in_(OPEN_STATUSES),
                                         Ticket.last_activity_at >= now - SUBJECT_MATCH_WINDOW)
                    .order_by(Ticket.last_activity_at.desc()).limit(20))
            else:
                candidates = lookups.subject_candidates(customer, now)
            for ticket in candidates:
                if normalise_subject(ticket.subject) == key:
                    return ticket
    return None


def flood_ticket(customer_id: int, at: datetime, limit: int, window: timedelta) -> Optional[Ticket]:
    """The customer's latest open ticket when they already started `limit` tickets within `window`
    of `at` (so the message joins it instead of starting another), else None."""
    if limit <= 0:
        return None
    started = db.session.scalar(
        select(func.count()).select_from(Ticket)
        .where(Ticket.customer_id == customer_id, Ticket.created_at > at - window, Ticket.created_at < at + window))
    if started < limit:
        return None
    return db.session.scalar(
        select(Ticket).where(Ticket.customer_id == customer_id, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()).limit(1))
