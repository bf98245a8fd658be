"""Messages (every channel, every direction), their raw sources, attachments and the outbox."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

DIRECTIONS = ("in", "out", "internal")


class RawSource(db.Model):
    """The bytes a message arrived as (the .eml, the post's JSON), content-addressed."""

    __tablename__ = "raw_sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: e.g. message/rfc822, application/json
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_messages_customer_created", "customer_id", "created_at"),
        Index("ix_messages_ticket_created", "ticket_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    #: email | x | phone | api | web ... (a registered channel name)
    channel: Mapped[str] = mapped_column(String(20))
    #: in (from the customer) | out (to the customer) | internal (note, never sent)
    direction: Mapped[str] = mapped_column(String(10))
    #: The channel's own id (Message-ID, post id, call id): the dedupe key with `channel`.
    external_id: Mapped[Optional[str]] = mapped_column(String(500))
    #: Key other messages use to reply to this one (email Message-ID, X conversation id).
    thread_key: Mapped[Optional[str]] = mapped_column(String(500), index=True)
    #: Keys of the messages this one answers (In-Reply-To + References, parent post).
    reply_to_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id"))
    #: Sender as shown: the From name/address, the handle, the phone number.
    sender: Mapped[str] = mapped_column(String(300), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    #: Sanitised HTML (nh3), never the original.
    body_html: Mapped[Optional[str]] = deferred(mapped_column(Text))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    raw_id: Mapped[Optional[int]] = mapped_column(ForeignKey("raw_sources.id"))
    #: Hash of what the channel said, to tell a replay from an id reused with other content.
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    #: Why the message could not be read; the raw source stays downloadable.
    parse_error: Mapped[Optional[str]] = mapped_column(Text)
    #: Auto-reply, bounce or bulk mail: shown, never acknowledged.
    auto_submitted: Mapped[bool] = mapped_column(default=False)
    #: Channel-only fields (X author handle, call duration, email headers of note...).
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    ticket = relationship("Ticket", back_populates="messages")
    customer = relationship("Customer")
    author = relationship("Agent")
    raw = relationship("RawSource")
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="message", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    outbox: Mapped[Optional["OutboxItem"]] = relationship(back_populates="message", uselist=False)

    @property
    def delivery_status(self) -> str:
        """received / note / queued / sending / sent / failed."""
        if self.direction == "in":
            return "received"
        if self.direction == "internal":
            return "note"
        return self.outbox.status if self.outbox else "sent"


class Attachment(db.Model):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(300), default="")
    content_type: Mapped[str] = mapped_column(String(200), default="application/octet-stream")
    size: Mapped[int] = mapped_column(default=0)
    #: Content-ID for inline (cid:) images.
    content_id: Mapped[Optional[str]] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), default="")
    #: None when larger than the limit: the bytes then live only in the raw source.
    data: Mapped[Optional[bytes]] = deferred(mapped_column(LargeBinary))
    oversize: Mapped[bool] = mapped_column(default=False)

    message: Mapped[Message] = relationship(back_populates="attachments")


OUTBOX_STATUSES = ("queued", "sending", "sent", "failed", "unverified")


class OutboxItem(db.Model):
    """An outbound message waiting for its channel to accept it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    #: queued | sending | sent | failed | unverified (the channel says it has it, unconfirmed:
    #: "probably sent — check"; never resent)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Worker holding the row while delivering, and until when the claim holds.
    claimed_by: Mapped[Optional[str]] = mapped_column(String(100))
    claimed_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    #: What the channel answered on success (e.g. the post id / URL).
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    message: Mapped[Message] = relationship(back_populates="outbox")
