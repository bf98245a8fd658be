"""Channel polling state shared by every poller: the cursor row, its lease, and visible status.

A lease makes one worker poll a mailbox or account at a time: taking it is a conditional UPDATE
(free, expired, or already ours), which is atomic on SQLite and PostgreSQL alike; a worker that
dies simply lets it expire and another takes over. Success and errors are recorded on the row so
admins see each channel's health (and /healthz reports it).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ChannelState, utcnow

DEFAULT_LEASE_SECONDS = 120


def get_state(channel: str, key: str) -> ChannelState:
    """The state row for (channel, key), created on first use (race-safe)."""
    state = db.session.scalar(select(ChannelState).where(ChannelState.channel == channel,
                                                         ChannelState.key == key))
    if state is not None:
        return state
    try:
        state = ChannelState(channel=channel, key=key, cursor={})
        db.session.add(state)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        state = db.session.scalar(select(ChannelState).where(ChannelState.channel == channel,
                                                             ChannelState.key == key))
    return state


def acquire_lease(channel: str, key: str, owner: str, seconds: int = DEFAULT_LEASE_SECONDS) -> bool:
    """Take (or renew) the poll lease; False when another live worker holds it."""
    state = get_state(channel, key)
    now = utcnow()
    result = db.session.execute(
        update(ChannelState)
        .where(ChannelState.id == state.id,
               or_(ChannelState.lease_owner.is_(None), ChannelState.lease_until < now,
                   ChannelState.lease_owner == owner))
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def release_lease(channel: str, key: str, owner: str) -> None:
    """Give the lease back (from a `finally`: whatever the poll left uncommitted is dropped)."""
    db.session.rollback()
    db.session.execute(
        update(ChannelState)
        .where(ChannelState.channel == channel, ChannelState.key == key, ChannelState.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def record_success(channel: str, key: str) -> None:
    state = get_state(channel, key)
    state.last_success_at = utcnow()
    state.last_error = None
    db.session.commit()


def record_error(channel: str, key: str, error: str) -> None:
    db.session.rollback()
    state = get_state(channel, key)
    state.last_error = error[:2000]
    state.last_error_at = utcnow()
    db.session.commit()


def states(channel: Optional[str] = None) -> list[ChannelState]:
    query = select(ChannelState).order_by(ChannelState.channel, ChannelState.key)
    if channel:
        query = query.where(ChannelState.channel == channel)
    return list(db.session.scalars(query))
