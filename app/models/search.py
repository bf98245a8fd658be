"""The search-index work queue: what the index still has to catch up with."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

SEARCH_QUEUE_KINDS = ("message", "ticket", "customer")


class SearchQueueItem(db.Model):
    """One object to (re)index or remove; rows are deleted only after the index commit.

    Subscribers to the event bus add rows after the data's commit; the worker (the single index
    writer) drains them. A process that dies mid-drain leaves its rows behind for the next drain.
    """

    __tablename__ = "search_queue"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: message | ticket (all its messages) | customer
    kind: Mapped[str] = mapped_column(String(10))
    obj_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
