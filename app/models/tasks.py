"""Follow-up tasks: promises to the customer with a due time (e.g. a callback after a call)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class Task(db.Model):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_assignee_due", "assignee_id", "done_at", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: The call (or other message) that created the promise.
    message_id: Mapped[Optional[int]] = mapped_column(ForeignKey("messages.id"))
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id"))
    #: callback | follow_up
    kind: Mapped[str] = mapped_column(String(20), default="callback")
    #: When the promise must be kept; SLA reports count tasks done after it as breached.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket = relationship("Ticket")
    customer = relationship("Customer")
    assignee = relationship("Agent")
