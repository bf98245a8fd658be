"""The commerce summary shown beside every conversation: subscriptions, orders, LTV, segment.

Computed in three queries (aggregates in SQL, recent orders joined with their lines and products,
subscriptions joined with theirs) so the ticket page stays cheap however long a customer's history is.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Order, OrderLine, Subscription

#: Orders that never became a purchase do not count towards LTV or the segment.
NOT_PURCHASED = ("cancelled", "returned")
SEGMENTS = ("new", "second", "loyal")


@dataclass
class CommerceSummary:
    customer_id: int
    #: Active and paused first, then cancelled; each with its product loaded.
    subscriptions: list[Subscription] = field(default_factory=list)
    #: Newest first, with lines (and their products) loaded.
    recent_orders: list[Order] = field(default_factory=list)
    purchase_count: int = 0
    #: Lifetime value in yen: the sum of purchased orders' totals.
    ltv: int = 0
    first_purchase_at: Optional[datetime] = None
    last_purchase_at: Optional[datetime] = None
    #: new | second | loyal, or None before the first purchase.
    segment: Optional[str] = None

    @property
    def active_subscriptions(self) -> list[Subscription]:
        return [s for s in self.subscriptions if s.status == "active"]


def segment_for(purchase_count: int, config=None) -> Optional[str]:
    """new / second / loyal by purchase count, thresholds from the config."""
    config = config or current_app.config
    if purchase_count >= config["SEGMENT_LOYAL_MIN_ORDERS"]:
        return "loyal"
    if purchase_count >= config["SEGMENT_SECOND_MIN_ORDERS"]:
        return "second"
    return "new" if purchase_count >= 1 else None


_SUBSCRIPTION_ORDER = {"active": 0, "paused": 1, "cancelled": 2}


def customer_summary(customer_id: int) -> CommerceSummary:
    """Subscriptions, recent orders, purchase count, LTV, first purchase and segment."""
    count, total, first, last = db.session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.total), 0),
               func.min(Order.ordered_at), func.max(Order.ordered_at))
        .where(Order.customer_id == customer_id, Order.status.not_in(NOT_PURCHASED))
    ).one()
    limit = current_app.config["SIDEBAR_RECENT_ORDERS"]
    orders = list(db.session.scalars(
        select(Order).where(Order.customer_id == customer_id)
        .options(joinedload(Order.lines).joinedload(OrderLine.product))
        .order_by(Order.ordered_at.desc(), Order.id.desc()).limit(limit)
    ).unique())
    subscriptions = sorted(
        db.session.scalars(select(Subscription).where(Subscription.customer_id == customer_id)
                           .options(joinedload(Subscription.product))),
        key=lambda s: (_SUBSCRIPTION_ORDER.get(s.status, 9), s.next_ship_date is None,
                       s.next_ship_date or s.created_at.date(), s.id),
    )
    return CommerceSummary(customer_id=customer_id, subscriptions=subscriptions, recent_orders=orders,
                           purchase_count=int(count or 0), ltv=int(total or 0),
                           first_purchase_at=first, last_purchase_at=last,
                           segment=segment_for(int(count or 0)))

