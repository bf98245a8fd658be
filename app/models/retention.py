"""Retention: one case per cancellation request, and the subscription actions taken on it.

A RetentionCase records when the request was first received (whatever the channel) and how it
ended, with the codes a Japanese subscription team reports on: 抑止成功 (saved, by which action),
抑止失敗 (cancelled), 期間外受取了承 (agreed to receive a delivery already past the change
deadline) or open. A SubscriptionAction is one change proposed to the shop (skip, pause, cycle,
swap, quantity, coupon, cancel) with its before/after and its status at the commerce backend.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

#: open | pending (a save action was taken; saved only if the subscription is still active at the
#: check: app.retention.outcomes) | saved (抑止成功) | cancelled (抑止失敗) | late_accepted
#: (期間外受取了承) | dismissed (an agent said it was not a cancellation request).
OUTCOMES = ("open", "pending", "saved", "cancelled", "late_accepted", "dismissed")
REASONS = ("surplus", "not_effective", "unsuitable", "price", "moving", "temporary", "other")
ACTION_KINDS = ("skip", "pause", "resume", "cycle", "swap", "quantity", "coupon", "cancel")
#: pending (sent or waiting for the shop) | acked (the shop, or the local record, applied it) |
#: failed (refused or gave up; `backend_error` says why)
BACKEND_STATUSES = ("pending", "acked", "failed")


class RetentionCase(db.Model):
    """A cancellation request on a ticket, from its first message to its outcome."""

    __tablename__ = "retention_cases"
    __table_args__ = (Index("ix_retention_cases_outcome_requested", "outcome", "first_requested_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: One case per ticket: a later message in the same conversation is the same request.
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: The subscription the request is about (the customer's only active one, or the agent's pick).
    subscription_id: Mapped[Optional[int]] = mapped_column(ForeignKey("subscriptions.id"))
    #: surplus | not_effective | unsuitable | price | moving | temporary | other
    reason: Mapped[str] = mapped_column(String(20), default="other")
    #: When the request was first received: the original message's or call's time, never ours.
    first_requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_message_id: Mapped[Optional[int]] = mapped_column(ForeignKey("messages.id"))
    #: Language of the request (ja | en): the reply draft is written in it.
    lang: Mapped[str] = mapped_column(String(5), default="ja")
    #: detected (rules) | agent (flagged by hand)
    source: Mapped[str] = mapped_column(String(10), default="detected")
    outcome: Mapped[str] = mapped_column(String(15), default="open")
    #: For 'pending': the day the save is checked (the next shipment after the action, or the end of
    #: RETENTION_SAVE_WINDOW_DAYS); the case is saved if the subscription is still live then.
    outcome_due_on: Mapped[Optional[date]] = mapped_column(Date)
    #: For 'pending' and 'saved': the rule that decides (next_shipment | window).
    outcome_rule: Mapped[Optional[str]] = mapped_column(String(20))
    #: For 'pending' and 'saved': the action kind that saved the subscription.
    saved_by: Mapped[Optional[str]] = mapped_column(String(15))
    #: Yen of subscription value retained (price per delivery x deliveries a year) when saved.
    value_retained: Mapped[int] = mapped_column(default=0)
    outcome_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    outcome_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    ticket = relationship("Ticket")
    customer = relationship("Customer")
    subscription = relationship("Subscription")
    outcome_by = relationship("Agent")
    actions: Mapped[list["SubscriptionAction"]] = relationship(
        back_populates="case", order_by="SubscriptionAction.id")


class SubscriptionAction(db.Model):
    """One change to a subscription (or a goodwill coupon) and its fate at the commerce backend."""

    __tablename__ = "subscription_actions"
    __table_args__ = (Index("ix_subscription_actions_status_next", "backend_status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("retention_cases.id"), index=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    subscription_id: Mapped[Optional[int]] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    #: skip | pause | cycle | swap | quantity | coupon | cancel
    kind: Mapped[str] = mapped_column(String(15))
    #: What the agent chose (months, cycle_days, product_id, quantity, ...).
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Subscription fields before and after the change (dates as ISO strings).
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Why the agent did it (shown on the timeline).
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id"))
    #: local | webhook: the commerce backend that carries the change to the shop.
    backend: Mapped[str] = mapped_column(String(20), default="local")
    backend_status: Mapped[str] = mapped_column(String(10), default="pending")
    backend_error: Mapped[Optional[str]] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    acked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: A form token, so a double click executes once.
    idempotency_key: Mapped[Optional[str]] = mapped_column(String(100), unique=True)
    #: The reply to the customer, filled from the action's template in the case's language.
    reply_draft: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Optional[RetentionCase]] = relationship(back_populates="actions")
    subscription = relationship("Subscription")
    actor = relationship("Agent")

    @property
    def is_money(self) -> bool:
        return self.kind == "coupon"
