"""Commerce deadlines: a ticket about a subscription change is due before the box can no longer change.

A ticket is about a subscription change when its intent is 'cancellation' (set by app/retention)
or it carries a tag like skip/pause (SLA_COMMERCE_TAGS). Its deadline is the end of the change
cutoff day of the customer's active subscription — next_ship_date minus SHOP_CHANGE_LEAD_DAYS, in
the shop's time zone. When that cutoff had already passed when the customer wrote, the box ships
anyway, so the next shipment's cutoff is the one to beat.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Subscription, Ticket

DEFAULT_TAGS = ("skip", "pause", "cycle", "swap", "cancel", "スキップ", "休止", "解約", "周期変更",
                "商品変更")
COMMERCE_INTENTS = ("cancellation", "skip", "pause", "cycle", "swap")


def lead_days() -> int:
    config = current_app.config
    return int(config.get("SHOP_CHANGE_LEAD_DAYS", config.get("RETENTION_CHANGE_DEADLINE_DAYS", 5)))


def commerce_tags() -> set[str]:
    value = current_app.config.get("SLA_COMMERCE_TAGS")
    if isinstance(value, str):
        return {t.strip().lower() for t in value.split(",") if t.strip()}
    return {t.lower() for t in (value or DEFAULT_TAGS)}


def is_subscription_change(ticket: Ticket) -> bool:
    if (ticket.intent or "") in COMMERCE_INTENTS:
        return True
    tags = commerce_tags()
    return any(tag.name.lower() in tags for tag in ticket.tags)


def _case_subscription_id(ticket_id: int) -> Optional[int]:
    try:  # app/retention is optional: the rule works from the customer's subscriptions without it
        from app.models import RetentionCase
    except ImportError:  # pragma: no cover
        return None
    return db.session.scalar(select(RetentionCase.subscription_id).where(RetentionCase.ticket_id == ticket_id))


def _cutoff_end(ship_date, tz: str) -> datetime:
    """The end of the last day the shipment of `ship_date` can still be changed (local midnight)."""
    last_day = ship_date - timedelta(days=lead_days())
    return datetime.combine(last_day + timedelta(days=1), time(0, 0), ZoneInfo(tz))


#: What commerce_deadline reads for one ticket: (its case's subscription id, the customer's active
#: subscriptions with a next ship date, earliest first).
Known = tuple[Optional[int], list[Subscription]]


def prefetch(tickets: list[Ticket]) -> dict[int, Known]:
    """What commerce_deadline needs for many tickets, in two queries (for those that are
    subscription changes; the others need nothing)."""
    wanted = [t for t in tickets if is_subscription_change(t)]
    if not wanted:
        return {}
    from app.models import RetentionCase

    case_subs = dict(db.session.execute(select(RetentionCase.ticket_id, RetentionCase.subscription_id)
                                        .where(RetentionCase.ticket_id.in_([t.id for t in wanted]))).all())
    by_customer: dict[int, list[Subscription]] = {}
    for sub in db.session.scalars(select(Subscription).where(
            Subscription.customer_id.in_(sorted({t.customer_id for t in wanted if t.customer_id is not None})),
            Subscription.status == "active", Subscription.next_ship_date.is_not(None))
            .order_by(Subscription.next_ship_date, Subscription.id)):
        by_customer.setdefault(sub.customer_id, []).append(sub)
    return {t.id: (case_subs.get(t.id), by_customer.get(t.customer_id, [])) for t in wanted}


def commerce_deadline(ticket: Ticket, since: datetime, known: Optional[Known] = None
                      ) -> Optional[tuple[datetime, Subscription]]:
    """(deadline, subscription) for a subscription-change ticket, else None. `known`: what
    `prefetch` read for it (else two queries)."""
    if not is_subscription_change(ticket):
        return None
    if known is not None:
        sub_id, subs = known[0], list(known[1])
    else:
        query = select(Subscription).where(Subscription.customer_id == ticket.customer_id,
                                           Subscription.status == "active",
                                           Subscription.next_ship_date.is_not(None))
        sub_id = _case_subscription_id(ticket.id)
        subs = list(db.session.scalars(query.order_by(Subscription.next_ship_date, Subscription.id)))
    if sub_id is not None:
        subs = [s for s in subs if s.id == sub_id] or subs
    if not subs:
        return None
    sub = subs[0]
    tz = current_app.config.get("TIMEZONE", "Asia/Tokyo")
    deadline = _cutoff_end(sub.next_ship_date, tz)
    if deadline <= since and sub.cycle_days:
        deadline = _cutoff_end(sub.next_ship_date + timedelta(days=sub.cycle_days), tz)
    return deadline, sub
