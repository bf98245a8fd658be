"""Read-only coupon queries for the ticket panel, the requests page and the budget display."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.coupons.ledger import budget_month
from app.extensions import db
from app.models import Coupon, CouponBudget, utcnow


def ticket_coupons(ticket_id: int) -> list[Coupon]:
    """Newest first, with who issued and who decided loaded (no query per coupon)."""
    return list(db.session.scalars(
        select(Coupon).where(Coupon.ticket_id == ticket_id)
        .options(selectinload(Coupon.issued_by), selectinload(Coupon.decided_by))
        .order_by(Coupon.created_at.desc(), Coupon.id.desc())))


def latest_code(ticket_id: int) -> Optional[str]:
    """The newest usable code on the ticket: the `coupon_code` macro variable."""
    return newest_issued_code(list(db.session.scalars(
        select(Coupon).where(Coupon.ticket_id == ticket_id, Coupon.status == "issued"))))


def newest_issued_code(coupons: list[Coupon]) -> Optional[str]:
    """The newest issued code among `coupons` (the ticket's, already loaded by the panel)."""
    issued = [c for c in coupons if c.status == "issued" and c.issued_at is not None]
    return max(issued, key=lambda c: (c.issued_at, c.id)).code if issued else None


def pending_requests() -> list[Coupon]:
    return list(db.session.scalars(
        select(Coupon).where(Coupon.status == "requested")
        .options(selectinload(Coupon.issued_by), selectinload(Coupon.customer))
        .order_by(Coupon.created_at, Coupon.id)))


def month_spent(agent_id: int, when: Optional[datetime] = None) -> int:
    month = budget_month(when or utcnow())
    return db.session.scalar(select(CouponBudget.spent_yen).where(
        CouponBudget.agent_id == agent_id, CouponBudget.month == month)) or 0
