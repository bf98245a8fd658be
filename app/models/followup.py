"""Follow-up plans (after-care cadence after a purchase), their steps, sends and mail consent."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

#: What starts a plan for a customer (app.followup.triggers computes each one's anchor date).
TRIGGERS = ("first_delivered", "second_order", "nth_delivery", "skip_or_pause", "saved_cancellation")
STEP_KINDS = ("email", "call", "note")
#: transactional (thank-you, usage) | advertising (needs consent; unsubscribe link + sender details)
PURPOSES = ("transactional", "advertising")


class FollowupPlan(db.Model):
    __tablename__ = "followup_plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    #: One of TRIGGERS.
    trigger: Mapped[str] = mapped_column(String(30))
    #: For nth_delivery: the delivery number that starts the plan.
    trigger_n: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    steps: Mapped[list["FollowupStep"]] = relationship(
        back_populates="plan", order_by="FollowupStep.delay_days", cascade="all, delete-orphan")

    def name(self, locale: str) -> str:
        return (self.name_en if locale == "en" and self.name_en else self.name_ja)


class FollowupStep(db.Model):
    __tablename__ = "followup_steps"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("followup_plans.id", ondelete="CASCADE"), index=True)
    #: Business days after the trigger's date (Japanese holidays and the shop's closed days skipped).
    delay_days: Mapped[int] = mapped_column(default=0)
    #: email | call (an after-care call task) | note (a personal-note task)
    kind: Mapped[str] = mapped_column(String(10), default="email")
    #: transactional | advertising
    purpose: Mapped[str] = mapped_column(String(15), default="transactional")
    #: An offer: never sent before the customer's second purchase.
    offer: Mapped[bool] = mapped_column(default=False)
    #: ja | en: the customer name gets 様 in Japanese.
    language: Mapped[str] = mapped_column(String(5), default="ja")
    subject: Mapped[str] = mapped_column(String(300), default="")
    #: Mail text (or the task's instructions) with {customer_name}, {product}, {next_shipment_date},
    #: {days_left} placeholders.
    body: Mapped[str] = mapped_column(Text, default="")

    plan: Mapped[FollowupPlan] = relationship(back_populates="steps")


class FollowupSend(db.Model):
    """One step for one customer: sent (mail queued / task created) or stopped, exactly once."""

    __tablename__ = "followup_sends"
    __table_args__ = (UniqueConstraint("step_id", "customer_id"),
                      Index("ix_followup_sends_customer_created", "customer_id", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("followup_steps.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("followup_plans.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    #: sent | task | stopped
    status: Mapped[str] = mapped_column(String(10))
    #: Why it was stopped (cancelled, bounced, unsubscribed, no_consent, expired).
    reason: Mapped[str] = mapped_column(String(30), default="")
    message_id: Mapped[Optional[int]] = mapped_column(ForeignKey("messages.id"))
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tasks.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    step = relationship("FollowupStep")
    customer = relationship("Customer")
    task = relationship("Task")


class MailConsent(db.Model):
    """A customer's consent to advertising mail (特定電子メール法 opt-in) and their unsubscribe."""

    __tablename__ = "mail_consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    #: When and where the opt-in was recorded (the shop's checkout box, a form...).
    consented_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(100), default="")
    #: Set by the one-click unsubscribe; advertising and follow-up mail stop at once.
    unsubscribed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    @property
    def advertising_allowed(self) -> bool:
        return self.consented_at is not None and self.unsubscribed_at is None
