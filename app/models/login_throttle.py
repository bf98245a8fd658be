"""Failed sign-ins counted in the database, so every web process sees the same counts."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class LoginThrottle(db.Model):
    """One row per throttled key: an (account, source) pair or a source alone."""

    __tablename__ = "login_throttle"
    #: "pair:<email>|<address>" or "source:<address>"
    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    #: Failed attempts since the window started (reset after a quiet hour or a success).
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Attempts for this key are refused (429) until then; it grows with each further failure.
    blocked_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
