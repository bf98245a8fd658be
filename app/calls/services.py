"""Logging a call: a phone-channel message through the one ingest path, plus its follow-up task.

A call's summary becomes the message body; direction, duration, outcome and the number as typed
are kept in the message's meta. A promised callback becomes a Task with its own due time.
"""
from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import select

from app.extensions import db
from app.ingest import IngestError, InboundMessage, Sender, ingest
from app.ingest.identity import InvalidIdentity, find_identity, normalise_phone
from app.models import Customer, Identity, Message, Task, Ticket, utcnow

CALL_DIRECTIONS = ("inbound", "outbound")
OUTCOMES = ("resolved", "callback", "no_answer", "voicemail", "escalated", "other")


@dataclass(frozen=True)
class CallInput:
    number: str
    direction: str  #: inbound (the customer called) | outbound (we called)
    started_at: datetime
    duration_seconds: int = 0
    summary: str = ""
    outcome: str = "resolved"
    follow_up_at: Optional[datetime] = None
    #: The phone system's call id (the dedupe key); generated for calls typed in by an agent.
    call_id: Optional[str] = None
    caller_name: str = ""
    #: Attach to this customer when the number is unknown (adds the number as their identity).
    attach_to_customer_id: Optional[int] = None
    ticket_id: Optional[int] = None


def validate_call(call: CallInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        normalise_phone(call.number)
    except InvalidIdentity:
        errors["number"] = "not a phone number"
    if call.direction not in CALL_DIRECTIONS:
        errors["direction"] = f"must be one of {', '.join(CALL_DIRECTIONS)}"
    if call.outcome not in OUTCOMES:
        errors["outcome"] = f"must be one of {', '.join(OUTCOMES)}"
    if call.duration_seconds < 0 or call.duration_seconds > 24 * 3600:
        errors["duration_seconds"] = "must be between 0 and 86400"
    if call.started_at.tzinfo is None:
        errors["started_at"] = "must have a time zone"
    if call.follow_up_at is not None and call.follow_up_at.tzinfo is None:
        errors["follow_up_at"] = "must have a time zone"
    return errors


def customer_for_number(number: str) -> Optional[Customer]:
    """The customer this number belongs to, or None (the form then offers new / attach)."""
    try:
        identity = find_identity("phone", normalise_phone(number))
    except InvalidIdentity:
        return None
    return identity.customer if identity else None


def _attach_number(customer_id: int, number: str) -> None:
    value = normalise_phone(number)
    if find_identity("phone", value) is None:
        if db.session.get(Customer, customer_id) is None:
            raise IngestError({"attach_to_customer_id": "no such customer"})
        db.session.add(Identity(customer_id=customer_id, kind="phone", value=value, display=number))
        db.session.commit()


def log_call(call: CallInput, agent_id: Optional[int] = None) -> tuple[Message, bool]:
    """Store the call once (a replayed call id changes nothing); returns (message, created)."""
    errors = validate_call(call)
    if errors:
        raise IngestError(errors)
    if call.attach_to_customer_id:
        _attach_number(call.attach_to_customer_id, call.number)
    summary = call.summary.strip()
    result = ingest(InboundMessage(
        channel="phone", external_id=call.call_id or f"call-{uuid.uuid4()}",
        sender=Sender("phone", call.number, call.caller_name, call.number),
        created_at=call.started_at, subject=summary.split("\n")[0][:120], body_text=summary,
        ticket_hint=call.ticket_id, direction="in" if call.direction == "inbound" else "out",
        meta={"call_direction": call.direction, "duration_seconds": call.duration_seconds,
              "outcome": call.outcome, "number": call.number, "logged_by": agent_id,
              "follow_up_at": call.follow_up_at.isoformat() if call.follow_up_at else None},
    ))
    message = db.session.get(Message, result.message_id)
    if result.status == "created":
        _after_call(message, call, agent_id)
    return message, result.status == "created"


def _after_call(message: Message, call: CallInput, agent_id: Optional[int]) -> None:
    ticket = db.session.get(Ticket, message.ticket_id)
    if agent_id and message.author_id is None:
        message.author_id = agent_id
    if call.direction == "outbound":
        ticket.last_agent_message_at = call.started_at
        ticket.first_response_at = ticket.first_response_at or call.started_at
    if call.follow_up_at is not None:
        db.session.add(Task(ticket_id=ticket.id, customer_id=message.customer_id, message_id=message.id,
                            assignee_id=agent_id or ticket.assignee_id, kind="callback",
                            due_at=call.follow_up_at, note=call.summary[:500]))
    db.session.commit()


def open_tasks(agent_id: int) -> list[Task]:
    """The agent's promises still to keep, soonest first."""
    return list(db.session.scalars(
        select(Task).where(Task.assignee_id == agent_id, Task.done_at.is_(None)).order_by(Task.due_at)))


def complete_task(task: Task) -> None:
    task.done_at = task.done_at or utcnow()
    db.session.commit()


# --- webhook signature ------------------------------------------------------------------------

SIGNATURE_HEADER = "X-Tsunagu-Signature"
TIMESTAMP_HEADER = "X-Tsunagu-Timestamp"
REPLAY_WINDOW_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """'sha256=<hex>' of HMAC-SHA256(secret, timestamp + '.' + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: Optional[str], timestamp: str, signature: str, body: bytes,
                     now: Optional[float] = None) -> Optional[str]:
    """None when valid, else the reason (for logs; callers answer a plain 401)."""
    if not secret:
        return "webhook secret not configured"
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return "missing or malformed timestamp"
    if abs((now or time.time()) - sent) > REPLAY_WINDOW_SECONDS:
        return "timestamp outside the replay window"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature or ""):
        return "bad signature"
    return None


def parse_time(value: Optional[str]) -> Optional[datetime]:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
