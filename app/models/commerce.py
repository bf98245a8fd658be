"""Products, orders and subscriptions mirrored from the shop system (upserted by external id)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class Product(db.Model):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    sku: Mapped[str] = mapped_column(String(100), default="")
    name: Mapped[str] = mapped_column(String(200))
    #: Variant label (e.g. 30包, 60包, しっとり) — variants are products sharing a `family`.
    variant: Mapped[str] = mapped_column(String(100), default="")
    family: Mapped[str] = mapped_column(String(100), default="")
    #: Price in yen, tax included.
    price: Mapped[int] = mapped_column(default=0)
    subscription_price: Mapped[Optional[int]]
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def label(self) -> str:
        return f"{self.name} {self.variant}".strip()


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_customer_ordered", "customer_id", "ordered_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    subscription_id: Mapped[Optional[int]] = mapped_column(ForeignKey("subscriptions.id"))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Total in yen.
    total: Mapped[int] = mapped_column(default=0)
    #: ordered | shipped | delivered | cancelled | returned
    status: Mapped[str] = mapped_column(String(20), default="ordered")
    coupon_code: Mapped[Optional[str]] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", cascade="all, delete-orphan")
    customer = relationship("Customer")


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[Optional[int]] = mapped_column(ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[int] = mapped_column(default=1)
    unit_price: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Optional[Product]] = relationship()


SUBSCRIPTION_STATUSES = ("active", "paused", "cancelled")


class Subscription(db.Model):
    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    #: active | paused | cancelled
    status: Mapped[str] = mapped_column(String(20), default="active")
    cycle_days: Mapped[int] = mapped_column(default=30)
    quantity: Mapped[int] = mapped_column(default=1)
    #: Price per delivery in yen.
    price: Mapped[int] = mapped_column(default=0)
    next_ship_date: Mapped[Optional[date]] = mapped_column(Date)
    last_ship_date: Mapped[Optional[date]] = mapped_column(Date)
    #: Deliveries made so far.
    deliveries: Mapped[int] = mapped_column(default=0)
    started_on: Mapped[Optional[date]] = mapped_column(Date)
    paused_until: Mapped[Optional[date]] = mapped_column(Date)
    cancelled_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: Bumped by every change (a retention action, the shop's acknowledgement, a shop sync): an
    #: action carries the version its agent saw and is refused when it is stale (compare-and-set).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship()
    customer = relationship("Customer")
