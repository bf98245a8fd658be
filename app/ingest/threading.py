"""Threading: which ticket an inbound message belongs to.

Rules, in order: a reply to a known thread key; the ticket token the channel found (only if that
ticket is the same customer's); the same customer's open ticket with the same normalised subject
active within 14 days of the message's own date (carrier mail drops In-Reply-To; the date, not
now, so imported old mail threads too), unless the two name different order numbers or coupon
codes (`markers`): then they are different conversations. Reply, forward and auto-reply prefixes
(Re:, AW:, 自動返信:, 不在通知, Automatic reply:, Out of Office: ...) are not part of the subject.
A solved ticket reopens; a closed one is followed by a new ticket linked to it. A sender who has
started TICKET_FLOOD_LIMIT tickets within TICKET_FLOOD_WINDOW_SECONDS (by the messages' own times)
joins their latest open ticket instead: an auto-responder without Auto-Submitted headers cannot
flood the inbox (nor, with it, the acknowledgements).
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
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|tr|antw|r[ée]f\.?|返信|転送|回答|自動返信|自動応答|不在通知|auto|autoreply|"
    r"auto-reply|automatic reply|out of office(?: autoreply)?|r[ée]ponse automatique)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]|[【\[](?:自動返信|自動応答|不在通知|auto-?reply)[】\]])\s*", re.I)
#: Order numbers and coupon codes a message names: a keyword, then a code with a digit (orders)
#: or in capitals and digits (coupons). Matched on NFKC text, so Ａ－１０３５５ is A-10355.
_ORDER = re.compile(r"(?i:ご?注文(?:番号|no\.?|id)|受注番号|オーダー(?:番号|id)|order\s*(?:no\.?|number|id|#)?)"
                    r"\s*[:：#]?\s*((?=[A-Za-z-]*\d)[A-Za-z0-9][A-Za-z0-9-]{2,40})")
_COUPON = re.compile(r"(?i:クーポン(?:コード)?|割引コード|coupon(?:\s*code)?|promo(?:tion)?\s*code)"
                     r"\s*(?:は|:|：|「|『|\()?\s*([A-Z0-9][A-Z0-9-]{3,40})(?![A-Za-z0-9-])")
_QUOTE_START = re.compile(r"^\s*(?:-{2,}\s*(?:original message|元のメッセージ|転送されたメッセージ)|"
                          r"on .{4,200} wrote:|.{1,200}(?:さんは書きました|wrote):\s*$)", re.I)
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


def markers(text: str) -> dict[str, set[str]]:
    """{'order': {...}, 'coupon': {...}} named in the text itself (quoted lines left out)."""
    found: dict[str, set[str]] = {}
    own = []
    for line in unicodedata.normalize("NFKC", text or "").splitlines():
        if _QUOTE_START.match(line):
            break
        if not line.lstrip().startswith((">", "|")):
            own.append(line)
    body = "\n".join(own)
    for kind, pattern in (("order", _ORDER), ("coupon", _COUPON)):
        codes = {m.group(1).replace("-", "").upper() for m in pattern.finditer(body)}
        if codes:
            found[kind] = codes
    return found


def different_matters(new: dict[str, set[str]], known: dict[str, set[str]]) -> bool:
    """Whether a message naming `new` belongs to another conversation than one naming `known`:
    both name orders (or coupons) and none of them in common."""
    return any(codes and known.get(kind) and not codes & known[kind] for kind, codes in new.items())


def subject_window(at: datetime, now: datetime) -> tuple[datetime, datetime]:
    """(earliest last activity, latest start) of a ticket a message dated `at` may join by subject.

    Measured from the message's own date, bounded by its arrival (`now`): a Date header in the
    future cannot stretch the window."""
    reference = min(at, now) if at is not None else now
    return reference - SUBJECT_MATCH_WINDOW, reference + SUBJECT_MATCH_WINDOW


def ticket_token(ticket_id: int) -> str:
    return f"[#{ticket_id}]"


def find_ticket_token(subject: str) -> Optional[int]:
    match = _TOKEN.search(unicodedata.normalize("NFKC", subject or ""))
    return int(match.group(1)) if match else None


def find_thread_ticket(reply_to_keys: tuple[str, ...], ticket_hint: Optional[int], customer,
                       subject: str, match_subject: bool, now: datetime, lookups=None, *,
                       at: Optional[datetime] = None, text: str = "") -> Optional[Ticket]:
    """The ticket an inbound message continues, or None for a new conversation.

    `customer` is the Customer (or, for older callers, its id). `lookups` (app.ingest.lookups)
    answers from the batch's prefetched rows; without it every step is a query. `at` is the
    message's own date (the subject window is measured from it) and `text` its body (the order
    numbers and coupon codes it names keep different conversations apart).
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
            since, until = subject_window(at or now, now)
            if isinstance(customer, int):
                candidates = db.session.scalars(
                    select(Ticket).where(Ticket.customer_id == customer_id,
                                         Ticket.status.in_(OPEN_STATUSES),
                                         Ticket.last_activity_at >= since, Ticket.created_at <= until)
                    .order_by(Ticket.last_activity_at.desc()).limit(20))
            else:
                candidates = lookups.subject_candidates(customer, since, until)
            named = markers(text)
            same = [t for t in candidates if normalise_subject(t.subject) == key]
            if named:
                same = [t for t in same if not different_matters(named, lookups.ticket_markers(t))]
            if len(same) > 1:  # prefer the conversation whose order / coupon the text mentions
                plain = unicodedata.normalize("NFKC", text or "").upper().replace("-", "")
                for ticket in same:
                    if any(code in plain for codes in lookups.ticket_markers(ticket).values() for code in codes):
                        return ticket
            if same:
                return same[0]
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
