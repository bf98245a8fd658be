"""Social listening posts and the X API budget (posts read and written per month)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

LISTENING_STATUSES = ("new", "ticket", "dismissed")


class ListeningPost(db.Model):
    """A post that names the brand without mentioning the account, waiting for an agent's decision."""

    __tablename__ = "listening_posts"
    __table_args__ = (Index("ix_listening_posts_status_posted", "status", "posted_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: X post id (the dedupe key: a post found by two searches is stored once).
    post_id: Mapped[str] = mapped_column(String(32), unique=True)
    author_id: Mapped[str] = mapped_column(String(32))
    author_handle: Mapped[str] = mapped_column(String(100), default="")
    author_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(300), default="")
    #: The configured keywords the post contains.
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The post's JSON as X sent it (post, author, partial errors).
    raw_id: Mapped[Optional[int]] = mapped_column(ForeignKey("raw_sources.id"))
    #: new | ticket | dismissed
    status: Mapped[str] = mapped_column(String(10), default="new")
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"))
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id"))
    decided_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    #: Channel-only details (author availability, language, referenced posts).
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    raw = relationship("RawSource")
    ticket = relationship("Ticket")
    decided_by = relationship("Agent")


class XUsage(db.Model):
    """Posts read and written through the X API in one calendar month (UTC), against the plan's caps."""

    __tablename__ = "x_usage"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: 'YYYY-MM' (UTC).
    month: Mapped[str] = mapped_column(String(7), unique=True)
    #: Posts returned by timeline and search calls (what X's read cap counts).
    reads: Mapped[int] = mapped_column(default=0)
    #: Posts created.
    writes: Mapped[int] = mapped_column(default=0)
    #: API calls made (pages fetched, posts attempted), for the reads-per-poll estimate.
    calls: Mapped[int] = mapped_column(default=0)
    polls: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
