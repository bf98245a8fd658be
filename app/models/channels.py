"""Per-channel polling state: cursors, leases and the last error an admin should see."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class ChannelState(db.Model):
    __tablename__ = "channel_states"
    __table_args__ = (UniqueConstraint("channel", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    #: Which account/mailbox: e.g. 'support@shop.example/INBOX' or the X user id.
    key: Mapped[str] = mapped_column(String(300))
    #: The cursor: {'uidvalidity': .., 'last_uid': ..} or {'since_id': ..}; advanced only with the
    #: transaction that stored the batch it covers.
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Lease so one worker polls a mailbox/account at a time.
    lease_owner: Mapped[Optional[str]] = mapped_column(String(100))
    lease_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_success_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    last_error_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
