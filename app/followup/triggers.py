"""When each plan starts for each customer: the trigger's anchor date (local, Asia/Tokyo).

One query per plan, over the window that can still be due, so a daily run stays cheap at
100,000 customers. Orders carry no delivery time, so 'first order delivered' anchors on the day
the (now delivered) first order was placed; the step delays are counted from there.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from app.extensions import db
from app.models import FollowupPlan, Order, RetentionCase, Subscription, SubscriptionAction
from app.sla.business_time import Calendar


def _nth_orders(n: int, since: datetime, delivered_only: bool):
    """(customer_id, ordered_at, status) of each customer's n-th order placed since `since`."""
    rank = func.row_number().over(partition_by=Order.customer_id,
                                  order_by=(Order.ordered_at, Order.id)).label("rank")
    ranked = (select(Order.customer_id, Order.ordered_at, Order.status, rank)
              .where(Order.status.notin_(("cancelled",))).subquery())
    query = select(ranked.c.customer_id, ranked.c.ordered_at).where(ranked.c.rank == n,
                                                                     ranked.c.ordered_at >= since)
    if delivered_only:
        query = query.where(ranked.c.status == "delivered")
    return db.session.execute(query)


def anchors(plan: FollowupPlan, since_day: date, calendar: Calendar) -> dict[int, date]:
    """customer id -> the local date the plan started for them, for starts on or after `since_day`."""
    since = datetime.combine(since_day, datetime.min.time(), calendar.zone).astimezone(timezone.utc) \
        - timedelta(days=1)
    if plan.trigger == "first_delivered":
        rows = _nth_orders(1, since, delivered_only=True)
    elif plan.trigger == "second_order":
        rows = _nth_orders(2, since, delivered_only=False)
    elif plan.trigger == "nth_delivery":
        return {cid: day for cid, day in db.session.execute(
            select(Subscription.customer_id, func.max(Subscription.last_ship_date))
            .where(Subscription.deliveries == plan.trigger_n, Subscription.last_ship_date >= since_day)
            .group_by(Subscription.customer_id))}
    elif plan.trigger == "skip_or_pause":
        rows = db.session.execute(
            select(SubscriptionAction.customer_id, func.max(SubscriptionAction.created_at))
            .where(SubscriptionAction.kind.in_(("skip", "pause")), SubscriptionAction.created_at >= since)
            .group_by(SubscriptionAction.customer_id))
    elif plan.trigger == "saved_cancellation":
        rows = db.session.execute(
            select(RetentionCase.customer_id, func.max(RetentionCase.outcome_at))
            .where(RetentionCase.outcome == "saved", RetentionCase.outcome_at >= since)
            .group_by(RetentionCase.customer_id))
    else:
        return {}
    result = {}
    for customer_id, moment in rows:
        if moment is not None:
            if isinstance(moment, str):  # defensive: an aggregate that lost the column type
                moment = datetime.fromisoformat(moment)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            day = calendar.local_date(moment)
            if day >= since_day:
                result[customer_id] = day
    return result


def is_business_day(day: date, calendar: Calendar) -> bool:
    return day.weekday() in calendar.hours and not calendar.is_closed_day(day)


def add_business_days(start: date, days: int, calendar: Calendar) -> date:
    """`days` business days after `start` (0: `start` itself, or the next business day)."""
    day = start
    while not is_business_day(day, calendar):
        day += timedelta(days=1)
    for _ in range(days):
        day += timedelta(days=1)
        while not is_business_day(day, calendar):
            day += timedelta(days=1)
    return day
