"""Coupon figures for the supervisor reports: spend, approval, redemption and repeat rates.

Plain functions returning data over a [start, end) range of aware datetimes; the reports
feature renders them. Months are the shop's time zone's.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import func, select

from app.coupons.ledger import budget_month
from app.extensions import db
from app.models import Agent, Coupon, Order

#: Coupons that reached the customer (had a code).
GIVEN = ("issued", "redeemed", "expired")
NOT_PURCHASED = ("cancelled", "returned")


@dataclass
class AgentMonthSpend:
    agent_id: int
    agent_name: str
    month: str
    #: Yen coupons issued (face value).
    yen: int
    #: Coupons issued, yen and percent.
    count: int
    percent_count: int


def spend_per_agent_month(start: datetime, end: datetime) -> list[AgentMonthSpend]:
    """Yen issued per issuing agent and month (by the time the code was issued)."""
    rows = db.session.execute(
        select(Coupon.issued_by_id, Agent.name, Coupon.issued_at, Coupon.kind, Coupon.value)
        .join(Agent, Agent.id == Coupon.issued_by_id)
        .where(Coupon.status.in_(GIVEN), Coupon.issued_at >= start, Coupon.issued_at < end))
    totals: dict[tuple, AgentMonthSpend] = {}
    for agent_id, name, issued_at, kind, value in rows:
        key = (agent_id, budget_month(issued_at))
        item = totals.setdefault(key, AgentMonthSpend(agent_id, name, key[1], 0, 0, 0))
        item.count += 1
        if kind == "amount":
            item.yen += value
        else:
            item.percent_count += 1
    return sorted(totals.values(), key=lambda s: (s.month, s.agent_name, s.agent_id))


def _rate(part: int, whole: int) -> Optional[float]:
    return part / whole if whole else None


def approval_rate(start: datetime, end: datetime) -> dict:
    """Of the requests decided in the range, how many supervisors approved."""
    rows = dict(db.session.execute(
        select(Coupon.status, func.count(Coupon.id))
        .where(Coupon.approval_required, Coupon.decided_at >= start, Coupon.decided_at < end)
        .group_by(Coupon.status)).all())
    refused = rows.pop("refused", 0)
    approved = sum(rows.values())
    return {"approved": approved, "refused": refused, "rate": _rate(approved, approved + refused)}


def redemption_rate(start: datetime, end: datetime) -> dict:
    """Of the coupons issued in the range, how many were used at least once."""
    issued, redeemed = db.session.execute(
        select(func.count(Coupon.id), func.count(Coupon.id).filter(Coupon.uses > 0))
        .where(Coupon.status.in_(GIVEN), Coupon.issued_at >= start, Coupon.issued_at < end)).one()
    return {"issued": issued, "redeemed": redeemed, "rate": _rate(redeemed, issued)}


def repeat_rate(start: datetime, end: datetime) -> dict:
    """Repeat purchase of customers who got a goodwill coupon in the range, against the others.

    With coupon: the customer ordered again after their first coupon of the range.
    Without: among customers who ordered in the range and got no coupon then, those who ordered
    again after that first order in the range.
    """
    first_coupon = dict(db.session.execute(
        select(Coupon.customer_id, func.min(Coupon.issued_at))
        .where(Coupon.status.in_(GIVEN), Coupon.issued_at >= start, Coupon.issued_at < end)
        .group_by(Coupon.customer_id)).all())
    orders: dict[int, list[datetime]] = defaultdict(list)
    for customer_id, ordered_at in db.session.execute(
            select(Order.customer_id, Order.ordered_at).where(Order.status.not_in(NOT_PURCHASED),
                                                               Order.ordered_at >= start)):
        orders[customer_id].append(ordered_at)

    with_coupon = len(first_coupon)
    with_repeat = sum(1 for cid, since in first_coupon.items()
                      if any(t > _aware(since) for t in orders.get(cid, ())))
    without = without_repeat = 0
    for cid, times in orders.items():
        if cid in first_coupon:
            continue
        in_range = sorted(t for t in times if t < end)
        if not in_range:
            continue
        without += 1
        if any(t > in_range[0] for t in times):
            without_repeat += 1
    return {"with_coupon": {"customers": with_coupon, "repeated": with_repeat,
                            "rate": _rate(with_repeat, with_coupon)},
            "without_coupon": {"customers": without, "repeated": without_repeat,
                               "rate": _rate(without_repeat, without)}}


def _aware(value) -> datetime:
    """min() comes back naive (or as text) on SQLite: the column type is not applied."""
    from datetime import timezone

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
