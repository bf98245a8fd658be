"""Read queries behind the API views, every one limited to what the agent may see.

Kept apart from the views so they stay thin and so the queries can be tested without HTTP.
Nothing here writes; POST /messages goes through app.ingest.ingest like every channel.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import nh3
from sqlalchemy import Select, func, literal, or_, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from app.auth.access import ticket_filter
from app.extensions import db
from app.ingest import InboundMessage, Sender
from app.models import Agent, Customer, Event, Message, Ticket, utcnow


@dataclass(frozen=True)
class Page:
    items: Sequence[Any]
    page: int
    per_page: int
    total: int


def _count(stmt: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


def list_tickets(agent: Agent, *, page: int, per_page: int, status: Optional[str] = None,
                 channel: Optional[str] = None, customer_id: Optional[int] = None) -> Page:
    """The agent's visible tickets, newest activity first, filtered and paginated."""
    stmt = select(Ticket).where(ticket_filter(agent))
    if status:
        stmt = stmt.where(Ticket.status == status)
    if channel:
        stmt = stmt.where(Ticket.channel == channel)
    if customer_id is not None:
        stmt = stmt.where(Ticket.customer_id == customer_id)
    total = _count(stmt)
    rows = db.session.scalars(
        stmt.options(selectinload(Ticket.tags))
        .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(rows, page, per_page, total)


def ticket_messages(ticket: Ticket) -> list[Message]:
    """The ticket's messages in time order, with what delivery_status needs loaded up front."""
    return list(db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id)
        .options(selectinload(Message.outbox))
        .order_by(Message.created_at, Message.id)
    ))


def customer_ids(customer: Customer) -> list[int]:
    """The customer and every customer merged into it (their history is theirs too)."""
    ids, frontier = [customer.id], [customer.id]
    while frontier:
        frontier = list(db.session.scalars(
            select(Customer.id).where(Customer.merged_into_id.in_(frontier))))
        ids.extend(i for i in frontier if i not in ids)
    return ids


def customer_timeline(agent: Agent, customer: Customer, *, page: int, per_page: int,
                      order: str = "asc") -> Page:
    """Messages and events of the customer in time order; ticket-bound ones only if visible.

    One UNION query orders and pages (type, id, time) rows; the page's rows are then loaded.
    """
    ids = customer_ids(customer)
    visible = ticket_filter(agent)
    messages = (
        select(literal("message").label("type"), Message.id.label("id"),
               Message.created_at.label("created_at"))
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Message.customer_id.in_(ids), visible)
    )
    events = (
        select(literal("event").label("type"), Event.id.label("id"),
               Event.created_at.label("created_at"))
        .outerjoin(Ticket, Ticket.id == Event.ticket_id)
        .where(Event.customer_id.in_(ids), or_(Event.ticket_id.is_(None), visible))
    )
    union = union_all(messages, events).subquery()
    total = db.session.scalar(select(func.count()).select_from(union))
    direction = (lambda c: c.desc()) if order == "desc" else (lambda c: c.asc())
    rows = db.session.execute(
        select(union.c.type, union.c.id)
        .order_by(direction(union.c.created_at), direction(union.c.type), direction(union.c.id))
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    message_ids = [r.id for r in rows if r.type == "message"]
    event_ids = [r.id for r in rows if r.type == "event"]
    loaded_messages = {m.id: m for m in db.session.scalars(
        select(Message).where(Message.id.in_(message_ids)).options(selectinload(Message.outbox)))}
    loaded_events = {e.id: e for e in db.session.scalars(  # the actor names the event's summary
        select(Event).where(Event.id.in_(event_ids)).options(joinedload(Event.actor)))}
    items = []
    for row in rows:
        obj = loaded_messages[row.id] if row.type == "message" else loaded_events[row.id]
        entry = {"type": row.type, "id": obj.id, "ticket_id": obj.ticket_id,
                 "created_at": obj.created_at, "message": None, "event": None}
        entry[row.type] = obj
        items.append(entry)
    return Page(items, page, per_page, total)


def inbound_from_api(data: dict[str, Any], raw: bytes, agent: Agent) -> InboundMessage:
    """The InboundMessage for a validated POST /messages body (MessageInSchema output)."""
    sender = data["sender"]
    html = nh3.clean(data["html"]) if data.get("html") else None
    text = data.get("text") or ""
    if not text.strip() and html:
        text = _text_of(html)
    return InboundMessage(
        channel=data["channel"], external_id=data["external_id"],
        sender=Sender(sender["kind"], sender["value"], sender.get("name", ""),
                      sender.get("display", "")),
        created_at=data.get("created_at") or utcnow(),
        subject=data.get("subject") or "", body_text=text, body_html=html,
        thread_key=data.get("thread_key"), reply_to_keys=tuple(data.get("reply_to_keys") or ()),
        raw=raw, raw_content_type="application/json",
        meta={"submitted_by_agent_id": agent.id},
    )


def _text_of(html: str) -> str:
    """Plain text of an HTML body, for messages posted with html only."""
    import html as html_lib

    return html_lib.unescape(nh3.clean(html, tags=set())).strip()
