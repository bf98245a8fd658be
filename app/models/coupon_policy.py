"""Coupon policy edited by supervisors: per-role limits, the reasons list, per-agent budgets.

`CouponBudget` is the row that makes the monthly budget safe under concurrency: issuing charges it
with one conditional UPDATE (`spent + amount <= limit`), so two agents issuing at once can never
spend past the limit, on PostgreSQL (row lock) and SQLite (database write lock) alike.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class CouponPolicy(db.Model):
    """What one role may give without a supervisor's approval."""

    __tablename__ = "coupon_policies"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: agent | supervisor | admin (one row per role)
    role: Mapped[str] = mapped_column(String(20), unique=True)
    #: Largest yen coupon issued instantly; larger ones become requests.
    max_amount_yen: Mapped[int] = mapped_column(default=1000)
    #: Largest percent coupon issued instantly.
    max_percent: Mapped[int] = mapped_column(default=10)
    #: Yen an agent of this role may issue per calendar month (shop time zone) without approval.
    monthly_budget_yen: Mapped[int] = mapped_column(default=20000)
    #: Coupons one customer may receive within `customer_period_days` without approval.
    customer_limit: Mapped[int] = mapped_column(default=1)
    customer_period_days: Mapped[int] = mapped_column(default=90)
    #: Whether a customer with an open cancellation request may get more than `customer_limit`...
    cancellation_may_exceed: Mapped[bool] = mapped_column(default=True)
    #: ...and how many more.
    cancellation_extra: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))


class CouponReason(db.Model):
    """One entry of the reasons list an agent must choose from."""

    __tablename__ = "coupon_reasons"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(100), unique=True)
    #: Retired reasons stay for old coupons but are no longer offered.
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class CouponBudget(db.Model):
    """Yen issued by one agent in one month; charged with a conditional UPDATE."""

    __tablename__ = "coupon_budgets"
    __table_args__ = (UniqueConstraint("agent_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    #: 'YYYY-MM' in the shop's time zone.
    month: Mapped[str] = mapped_column(String(7))
    spent_yen: Mapped[int] = mapped_column(default=0)
