"""Listening decisions (make a ticket, dismiss) and the X budget overview for supervisors."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from sqlalchemy import func, select

from app.channels.x.adapter import inbound_from_raw
from app.channels.x.budget import Budget, current_budget, poll_interval, usage_history, writes_warning
from app.channels.x.listening import LISTENING
from app.channels.x.poller import MENTIONS
from app.extensions import db
from app.ingest import IngestError, ingest
from app.models import LISTENING_STATUSES, Agent, ChannelState, Event, ListeningPost, RawSource, XUsage, utcnow


class ListeningError(ValueError):
    """The decision cannot be made (post gone, already decided the other way)."""


@dataclass
class ListeningPage:
    posts: list[ListeningPost]
    status: str
    counts: dict[str, int]
    page: int
    pages: int


def listening_page(status: str, page: int, per_page: int = 50) -> ListeningPage:
    """Listening posts with `status`, newest first, one page of them."""
    status = status if status in LISTENING_STATUSES else "new"
    counts = dict.fromkeys(LISTENING_STATUSES, 0)
    counts.update(db.session.execute(select(ListeningPost.status, func.count()).group_by(ListeningPost.status)).all())
    pages = max(1, -(-counts[status] // per_page))
    page = min(max(page, 1), pages)
    posts = list(db.session.scalars(
        select(ListeningPost).where(ListeningPost.status == status)
        .order_by(ListeningPost.posted_at.desc(), ListeningPost.id.desc())
        .offset((page - 1) * per_page).limit(per_page)))
    return ListeningPage(posts, status, counts, page, pages)


def _get(post_id: int) -> ListeningPost:
    post = db.session.get(ListeningPost, post_id)
    if post is None:
        raise LookupError(post_id)
    return post


def make_ticket(agent: Agent, post_id: int) -> int:
    """Turn a listening post into a ticket through the one ingest path; returns the ticket id.

    Idempotent: a second click (or a post already ingested as a mention) lands in the same ticket.
    """
    post = _get(post_id)
    if post.status == "ticket" and post.ticket_id:
        return post.ticket_id
    raw = db.session.scalar(select(RawSource.content).where(RawSource.id == post.raw_id)) if post.raw_id else None
    if raw is None:
        raise ListeningError("the post's raw JSON is missing")
    try:
        result = ingest(inbound_from_raw(raw, "listening"))  # commits the message and ticket
    except IngestError as exc:
        raise ListeningError(str(exc)) from exc
    post = _get(post_id)
    post.status, post.ticket_id = "ticket", result.ticket_id
    post.decided_by_id, post.decided_at = agent.id, utcnow()
    db.session.add(Event(customer_id=result.customer_id, ticket_id=result.ticket_id, actor_id=agent.id,
                         kind="x.listening_ticket", data={"post_id": post.post_id, "url": post.url}))
    db.session.commit()
    return result.ticket_id


def dismiss(agent: Agent, post_id: int) -> ListeningPost:
    """Mark the post as not needing an answer."""
    post = _get(post_id)
    if post.status == "ticket":
        raise ListeningError("the post is already a ticket")
    post.status, post.decided_by_id, post.decided_at = "dismissed", agent.id, utcnow()
    db.session.commit()
    return post


def restore(agent: Agent, post_id: int) -> ListeningPost:
    """Undo a dismissal."""
    post = _get(post_id)
    if post.status == "dismissed":
        post.status, post.decided_by_id, post.decided_at = "new", agent.id, utcnow()
        db.session.commit()
    return post


@dataclass
class UsageOverview:
    budget: Budget
    interval: Optional[float]
    warnings: list[str]
    states: list[ChannelState]
    history: list[XUsage]
    gaps: list[Event]


def usage_overview(config: Mapping[str, Any]) -> UsageOverview:
    """This month's X reads/writes against the caps, polling pace, channel states and missed-mention warnings."""
    budget = current_budget(config)
    interval, warning = poll_interval(config, budget)
    warnings = [w for w in (warning, writes_warning(budget)) if w]
    states = list(db.session.scalars(select(ChannelState).where(ChannelState.channel.in_([MENTIONS, LISTENING]))
                                     .order_by(ChannelState.channel)))
    gaps = list(db.session.scalars(select(Event).where(Event.kind == "x.mentions_gap")
                                   .order_by(Event.created_at.desc()).limit(20)))
    return UsageOverview(budget, interval, warnings, states, usage_history(), gaps)


def listening_warnings() -> list[str]:
    """Problems an agent on the listening page should know about (polling stopped or slowed)."""
    rows = db.session.scalars(select(ChannelState.last_error).where(
        ChannelState.channel.in_([MENTIONS, LISTENING]), ChannelState.last_error.is_not(None)))
    return [r for r in rows if r]
