"""Tickets, tags and the audit/timeline events."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

STATUSES = ("new", "open", "pending", "solved", "closed")
OPEN_STATUSES = ("new", "open", "pending")
PRIORITIES = ("low", "normal", "high", "urgent")

ticket_tags = Table(
    "ticket_tags",
    db.metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Tag(db.Model):
    __tablename__ = "tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_customer_last_activity", "customer_id", "last_activity_at"),
        # The inbox's keyset pages: one index range per status (and per assignee / channel /
        # intent view), already in the list's order, so no view sorts the open backlog. The first
        # replaced (status, last_activity_at), its prefix. They carry what an agent's visibility and
        # the other filters read, so neither the walks nor the tab counts visit the table.
        Index("ix_tickets_status_activity_team", "status", "last_activity_at", "id", "team_id", "assignee_id",
              "channel"),
        Index("ix_tickets_assignee_status_activity", "assignee_id", "status", "last_activity_at", "id", "team_id",
              "channel"),
        Index("ix_tickets_channel_status_activity", "channel", "status", "last_activity_at", "id", "team_id",
              "assignee_id"),
        Index("ix_tickets_intent_status_at", "intent", "status", "intent_at", "id", "team_id", "assignee_id",
              "channel"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    subject: Mapped[str] = mapped_column(String(500), default="")
    #: new | open | pending | solved | closed
    status: Mapped[str] = mapped_column(String(10), default="new")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    #: The channel the conversation started on (email, x, phone, api...).
    channel: Mapped[str] = mapped_column(String(20), index=True)
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id"), index=True)
    #: Owning team; a plain agent sees tickets of their team and of no team.
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("teams.id"), index=True)
    #: Detected intent, e.g. 'cancellation'; cleared by an agent in one click when wrong.
    intent: Mapped[Optional[str]] = mapped_column(String(30), index=True)
    intent_reason: Mapped[Optional[str]] = mapped_column(String(30))
    #: When the intent's first message was received (e.g. the cancellation request's time).
    intent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: The closed ticket this one follows up (a reply to a closed ticket starts a new one).
    previous_ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: Newest message or change; the inbox sorts by it.
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_customer_message_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_agent_message_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    first_response_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    solved_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    closed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(default=0)

    customer = relationship("Customer")
    assignee = relationship("Agent")
    team = relationship("Team")
    tags: Mapped[list[Tag]] = relationship(secondary=ticket_tags, order_by="Tag.name")
    messages = relationship("Message", back_populates="ticket", order_by="Message.created_at")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def __repr__(self) -> str:
        return f"<Ticket #{self.id} {self.status}>"


class Event(db.Model):
    """Something that happened that is not a message: the audit trail and timeline entries."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_customer_created", "customer_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"))
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"), index=True)
    #: e.g. ticket.status, ticket.assigned, customer.merged, subscription.skip, coupon.issued
    kind: Mapped[str] = mapped_column(String(50), index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id"))
    #: Free-form details: field/old/new, reason, before/after.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor = relationship("Agent")
    ticket = relationship("Ticket")
