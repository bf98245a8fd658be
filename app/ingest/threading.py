"""Threading: which ticket an inbound message belongs to.

Rules, in order: a reply to a known thread key; the ticket token the channel found (only if that
ticket is the same customer's); the same customer's open ticket with the same normalised subject
from the last 14 days (carrier mail drops In-Reply-To). A solved ticket reopens; a closed one is
followed by a new ticket linked to it.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select

from app.extensions import db
from app.models import OPEN_STATUSES, Message, Ticket

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


def find_thread_ticket(reply_to_keys: tuple[str, ...], ticket_hint: Optional[int], customer_id: int,
                       subject: str, match_subject: bool, now: datetime) -> Optional[Ticket]:
    """The ticket an inbound message continues, or None for a new conversation."""
    if reply_to_keys:
        ticket_id = db.session.scalar(
            select(Message.ticket_id).where(Message.thread_key.in_(list(reply_to_keys)))
            .order_by(Message.created_at.desc()).limit(1)
        )
        if ticket_id is not None:
            return db.session.get(Ticket, ticket_id)
    if ticket_hint is not None:
        ticket = db.session.get(Ticket, ticket_hint)
        if ticket is not None and ticket.customer_id == customer_id:
            return ticket
    if match_subject:
        key = normalise_subject(subject)
        if key:
            candidates = db.session.scalars(
                select(Ticket).where(Ticket.customer_id == customer_id,
                                     Ticket.status.in_(OPEN_STATUSES),
                                     Ticket.last_activity_at >= now - SUBJECT_MATCH_WINDOW)
                .order_by(Ticket.last_activity_at.desc()).limit(20)
            )
            for ticket in candidates:
                if normalise_subject(ticket.subject) == key:
                    return ticket
    return None
