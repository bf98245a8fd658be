"""Goodwill coupons issued by agents."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

COUPON_STATUSES = ("requested", "issued", "refused", "redeemed", "expired")


class Coupon(db.Model):
    __tablename__ = "coupons"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unambiguous alphabet, generated with `secrets`; None while only requested.
    code: Mapped[Optional[str]] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"))
    #: amount (yen) | percent
    kind: Mapped[str] = mapped_column(String(10), default="amount")
    value: Mapped[int]
    expires_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    max_uses: Mapped[int] = mapped_column(default=1)
    uses: Mapped[int] = mapped_column(default=0)
    #: requested | issued | refused | redeemed | expired
    status: Mapped[str] = mapped_column(String(12), default="issued")
    reason: Mapped[str] = mapped_column(String(100), default="")
    reason_text: Mapped[str] = mapped_column(Text, default="")
    issued_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id"))
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id"))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    #: Client-supplied key so a double submit issues one coupon.
    idempotency_key: Mapped[Optional[str]] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: True when the coupon went through a supervisor's decision (for the approval rate).
    approval_required: Mapped[bool] = mapped_column(default=False)
    #: Why the policy asked for approval (e.g. "max_amount, budget").
    approval_reasons: Mapped[str] = mapped_column(String(200), default="")
    #: When the code was issued (instantly, or on approval); the budget month and reports use it.
    issued_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    customer = relationship("Customer")
    issued_by = relationship("Agent", foreign_keys=[issued_by_id])
    decided_by = relationship("Agent", foreign_keys=[decided_by_id])


class CouponRedemption(db.Model):
    """One use of a coupon on an imported order; unique per order so a re-import counts once."""

    __tablename__ = "coupon_redemptions"
    __table_args__ = (UniqueConstraint("coupon_id", "order_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
