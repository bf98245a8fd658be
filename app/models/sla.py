"""SLA policies, business-hours calendars, per-ticket SLA clocks/metrics and satisfaction answers.

`TicketSLA` is one row per ticket, kept up to date by bus subscribers (app/sla/clocks.py): the
due times and state the live list reads, and the durations (calendar and business seconds) the
reports aggregate, so no report ever scans messages.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

SEGMENTS = ("new", "second", "loyal")
SLA_STATES = ("none", "ok", "at_risk", "breached", "paused", "met")


class BusinessCalendar(db.Model):
    __tablename__ = "business_calendars"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(50), default="Asia/Tokyo")
    #: {"0": [["09:00", "18:00"]], ...}: weekday (0 = Monday) -> local opening ranges.
    hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Japanese public holidays close the shop.
    public_holidays: Mapped[bool] = mapped_column(default=True)
    #: The calendar used by policies that name none.
    is_default: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    closed_days: Mapped[list["ClosedDay"]] = relationship(
        back_populates="calendar", order_by="ClosedDay.start_date", cascade="all, delete-orphan")


class ClosedDay(db.Model):
    """A range of days the shop is closed (年末年始, お盆, inventory day)."""

    __tablename__ = "closed_days"
    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendars.id", ondelete="CASCADE"),
                                             index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    #: Repeat the month/day range every year (the year of the dates is then ignored).
    yearly: Mapped[bool] = mapped_column(default=False)

    calendar: Mapped[BusinessCalendar] = relationship(back_populates="closed_days")


class SLAPolicy(db.Model):
    """Targets for tickets matching priority/channel/segment (None = any); lowest position wins."""

    __tablename__ = "sla_policies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)
    priority: Mapped[Optional[str]] = mapped_column(String(10))
    channel: Mapped[Optional[str]] = mapped_column(String(20))
    #: new | second | loyal (app.commerce.services.segment_for), None = any
    segment: Mapped[Optional[str]] = mapped_column(String(10))
    #: Targets in minutes; None = no target of that kind.
    first_response_minutes: Mapped[Optional[int]]
    next_response_minutes: Mapped[Optional[int]]
    resolution_minutes: Mapped[Optional[int]]
    #: Count targets in business hours of `calendar` (else calendar time).
    business_hours: Mapped[bool] = mapped_column(default=True)
    #: The clocks stop while the ticket is pending (waiting for the customer).
    pause_when_pending: Mapped[bool] = mapped_column(default=True)
    calendar_id: Mapped[Optional[int]] = mapped_column(ForeignKey("business_calendars.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id"))

    calendar: Mapped[Optional[BusinessCalendar]] = relationship()


class TicketSLA(db.Model):
    """A ticket's SLA clocks and precomputed response metrics (the reports read only this)."""

    __tablename__ = "ticket_sla"
    __table_args__ = (
        Index("ix_ticket_sla_state_due", "state", "due_at"),
        # Covering index of the reports: a date range is read without touching the table.
        Index("ix_ticket_sla_report", "created_at", "assignee_id", "channel", "priority", "status",
              "has_target", "breached", "replies", "reopen_count", "first_response_seconds",
              "first_response_business_seconds", "next_response_seconds", "next_response_business_seconds",
              "resolution_seconds", "resolution_business_seconds"),
    )
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    policy_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sla_policies.id", ondelete="SET NULL"))
    #: Copies of the ticket's fields the reports group by (kept in step by the subscribers).
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(20), default="")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="new")
    first_response_due_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    next_response_due_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: The subscription's next change cutoff, for tickets about a subscription change.
    commerce_due_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: The deadline that rules now (the earliest open one) and which rule it is.
    due_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    due_rule: Mapped[Optional[str]] = mapped_column(String(30))
    #: When 80 % of the ruling target will have been used.
    at_risk_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: none | ok | at_risk | breached | paused | met
    state: Mapped[str] = mapped_column(String(10), default="none")
    #: Sticky: a target of this ticket was missed at some point (SLA attainment).
    breached: Mapped[bool] = mapped_column(default=False)
    has_target: Mapped[bool] = mapped_column(default=False)
    first_response_seconds: Mapped[Optional[int]]
    first_response_business_seconds: Mapped[Optional[int]]
    #: Average wait for the agent's answers after the first one, per ticket.
    next_response_seconds: Mapped[Optional[int]]
    next_response_business_seconds: Mapped[Optional[int]]
    resolution_seconds: Mapped[Optional[int]]
    resolution_business_seconds: Mapped[Optional[int]]
    replies: Mapped[int] = mapped_column(default=0)
    reopen_count: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    ticket = relationship("Ticket")
    policy: Mapped[Optional[SLAPolicy]] = relationship()


class SatisfactionResponse(db.Model):
    """The one-question NPS survey of a solved ticket: one row per ticket."""

    __tablename__ = "satisfaction_responses"
    __table_args__ = (Index("ix_satisfaction_answered", "answered_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: The agent the ticket was assigned to when solved (reports by agent).
    agent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    #: The survey email (an outbound Message with meta kind 'survey').
    message_id: Mapped[Optional[int]] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: 0-10; None until answered.
    score: Mapped[Optional[int]]
    comment: Mapped[str] = mapped_column(Text, default="")
    #: First answer: the change window (7 days) runs from here.
    answered_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    changed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    followup_ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))

    ticket = relationship("Ticket", foreign_keys=[ticket_id])

    @property
    def category(self) -> Optional[str]:
        if self.score is None:
            return None
        return "promoter" if self.score >= 9 else "passive" if self.score >= 7 else "detractor"
