"""Outbox delivery: claim due rows, hand them to the channel adapter, record the outcome.

A row is claimed (status 'sending', a claim that expires) in its own committed transaction before
the adapter is called, so two workers never deliver the same row; on PostgreSQL the claim uses
FOR UPDATE SKIP LOCKED. A temporary failure backs off exponentially; a permanent one, or too many
attempts, marks the row failed with the channel's answer for the agent to see. A channel that
says it already has the message but cannot show it (UnconfirmedDelivery) marks the row
'unverified' ("probably sent — check"): never queued again, never resent by the worker.

A reply counts as the ticket's answer only once delivered: success records the ticket's first
response; a row given up on (failed or unverified) reopens the ticket so someone sees it, and
an agent may mark such a row 'handled' (answered another way, or checked on the channel).

Never to ourselves, never to a made-up address: a recipient that is one of our own addresses
(MAIL_FROM, a configured mailbox) or a placeholder for a sender the channel could not read is
refused, before queueing (`recipient_refusal`, asked by the reply path) and again at delivery.
"""
from __future__ import annotations

import logging
import os
import random
import socket
from datetime import timedelta
from typing import Callable, Optional

from flask import current_app
from sqlalchemy import or_, select, update

from app import bus
from app.i18n import N_
from app.channels import registry
from app.channels.base import (OutboundAttachment, OutboundMessage, PermanentFailure, TemporaryFailure,
                               UnconfirmedDelivery)
from app.extensions import db
from app.ingest.identity import is_placeholder, own_addresses
from app.models import Customer, Event, Message, OutboxItem, Ticket, utcnow

log = logging.getLogger(__name__)
#: Default claim length; config OUTBOX_CLAIM_SECONDS overrides it (a dead worker's rows wait this long).
CLAIM_SECONDS = 300


def claim_seconds() -> int:
    return int(current_app.config.get("OUTBOX_CLAIM_SECONDS") or CLAIM_SECONDS)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(message: Message) -> OutboxItem:
    """Queue `message` for delivery (the caller commits, then the worker picks it up)."""
    item = OutboxItem(message=message, channel=message.channel, status="queued", next_attempt_at=utcnow())
    db.session.add(item)
    return item


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min ... capped at 1 h, with jitter so retries do not stampede."""
    base = min(30 * (2 ** max(attempts - 1, 0)), 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def claim_due(owner: str, limit: int = 20) -> list[int]:
    """Claim up to `limit` due rows for `owner`; returns their ids (committed)."""
    now = utcnow()
    due = or_(OutboxItem.status == "queued",
              (OutboxItem.status == "sending") & (OutboxItem.claimed_until < now))
    query = (select(OutboxItem.id).where(due, OutboxItem.next_attempt_at <= now)
             .order_by(OutboxItem.next_attempt_at).limit(limit))
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(query))
    claimed = []
    for item_id in ids:
        # The conditional UPDATE is the claim on SQLite (one writer at a time) and a no-op guard
        # on PostgreSQL, where the row lock already excludes other workers.
        result = db.session.execute(
            update(OutboxItem).where(OutboxItem.id == item_id, due)
            .values(status="sending", claimed_by=owner, claimed_until=now + timedelta(seconds=claim_seconds()))
        )
        if result.rowcount == 1:
            claimed.append(item_id)
    db.session.commit()
    return claimed




#: Why a recipient is refused (English; the reply path translates them).
NO_IDENTITY = N_("The customer has no %(kind)s address to send to.")
PLACEHOLDER = N_("The sender's address could not be read (%(value)s is a placeholder), so there is no "
                 "address to reply to.")
OWN_ADDRESS = N_("%(value)s is our own address: a reply would only come back into our own inbox.")


def _identity(customer: Customer, kind: str):
    identity = next((i for i in customer.identities if i.kind == kind and not i.bouncing), None)
    return identity or customer.identity(kind)


def recipient_refusal(customer: Customer, channel: str) -> Optional[tuple[str, dict[str, str]]]:
    """(message, params) saying why nothing may be sent to `customer` on `channel`, or None."""
    if not registry.is_known(channel):
        return None
    kind = registry.identity_kind(channel)
    identity = _identity(customer, kind)
    if identity is None:
        return NO_IDENTITY, {"kind": kind}
    if is_placeholder(kind, identity.value):
        return PLACEHOLDER, {"value": identity.value}
    if identity.bouncing and registry.adapter_class(channel).unreachable_refusal:
        return registry.adapter_class(channel).unreachable_refusal, {}
    if kind == "email" and identity.value in own_addresses():
        return OWN_ADDRESS, {"value": identity.value}
    return None


def _recipient(customer: Customer, kind: str, channel: str) -> tuple[str, str]:
    refusal = recipient_refusal(customer, channel)
    if refusal is not None:
        message, params = refusal
        raise PermanentFailure("refused: " + message % params)
    identity = _identity(customer, kind)
    return identity.value, identity.name or customer.name


def build_outbound(message: Message) -> OutboundMessage:
    kind = registry.identity_kind(message.channel)
    to, to_name = _recipient(message.customer, kind, message.channel)
    return OutboundMessage(
        message_id=message.id, ticket_id=message.ticket_id, channel=message.channel, to=to,
        to_name=to_name, subject=message.subject, body_text=message.body_text,
        thread_key=message.thread_key, reply_to_keys=tuple(message.reply_to_keys or ()),
        meta=dict(message.meta or {}),
        attachments=tuple(OutboundAttachment(a.id, a.filename, a.content_type, a.size)
                          for a in message.attachments) if message.direction == "out" else (),
    )


def _renew_claim(item_id: int, owner: str) -> bool:
    """Extend `owner`'s claim on the row about to be sent; False when the claim was lost.

    A claim covers a whole batch, and a batch can outlast it (slow SMTP, a stalled process): once
    expired, another worker may have taken the row over, and sending it here too would deliver it
    twice. Renewing per row bounds that risk to a single send that outlasts a whole claim."""
    result = db.session.execute(
        update(OutboxItem).where(OutboxItem.id == item_id, OutboxItem.claimed_by == owner,
                                 OutboxItem.status == "sending")
        .values(claimed_until=utcnow() + timedelta(seconds=claim_seconds()))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver_item(item_id: int, owner: Optional[str] = None) -> str:
    """Deliver one claimed row (still claimed by `owner`, when given); returns its new status."""
    if owner is not None and not _renew_claim(item_id, owner):
        log.warning("outbox row %s: the claim of %s expired and was taken over; not sending", item_id, owner)
        return "lost"
    item = db.session.get(OutboxItem, item_id)
    if item is None or item.status in ("sent", "failed", "unverified", "handled"):
        return item.status if item else "missing"
    message = item.message
    item.attempts += 1
    try:
        outbound = build_outbound(message)
        adapter = registry.get(item.channel, current_app.config)
        result = adapter.deliver(outbound)
    except TemporaryFailure as exc:
        return _failed_attempt(item, exc.detail, exc.retry_after)
    except PermanentFailure as exc:
        return _give_up(item, exc.detail)
    except UnconfirmedDelivery as exc:
        return _give_up(item, exc.detail, status="unverified")
    except Exception as exc:  # an adapter bug must not kill the worker or lose the row
        log.exception("outbox delivery of %s crashed", item_id)
        return _failed_attempt(item, f"{type(exc).__name__}: {exc}", None)
    item.status, item.sent_at, item.last_error = "sent", utcnow(), None
    item.claimed_by = item.claimed_until = None
    item.result = dict(result.meta)
    if result.external_id:
        message.external_id = result.external_id
    if not message.thread_key and result.meta.get("thread_key"):
        message.thread_key = result.meta["thread_key"]  # e.g. the Message-ID the email adapter chose
    message.meta = {**(message.meta or {}), **result.meta}
    _answered(message.ticket, item.sent_at)
    db.session.commit()
    bus.publish("message.delivered", message_id=message.id, ticket_id=message.ticket_id, status="sent",
                author_id=message.author_id)
    return "sent"


def _answered(ticket: Ticket, at) -> None:
    """The customer has an answer as of `at` (a delivery, or a row an agent marked handled)."""
    if ticket.first_response_at is None or ticket.first_response_at > at:
        ticket.first_response_at = at


def _reopen(ticket: Ticket, message_id: int, status: str) -> bool:
    """A reply that did not (surely) reach the customer puts the ticket back in front of agents:
    not pending (SLA paused), not solved."""
    if ticket.status == "open":
        return False
    db.session.add(Event(customer_id=ticket.customer_id, ticket_id=ticket.id, kind="ticket.status",
                         data={"field": "status", "old": ticket.status, "new": "open",
                               "why": "delivery " + status, "message_id": message_id}))
    ticket.status = "open"
    ticket.solved_at = ticket.closed_at = None
    ticket.last_activity_at = utcnow()
    return True


def _failed_attempt(item: OutboxItem, detail: str, retry_after: Optional[float]) -> str:
    if item.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        return _give_up(item, detail)
    delay = timedelta(seconds=retry_after) if retry_after is not None else backoff(item.attempts)
    item.status, item.last_error = "queued", detail
    item.next_attempt_at = utcnow() + delay
    item.claimed_by = item.claimed_until = None
    db.session.commit()
    bus.publish("message.delivered", message_id=item.message_id, ticket_id=item.message.ticket_id,
                status="queued")
    return "queued"


def _give_up(item: OutboxItem, detail: str, status: str = "failed") -> str:
    item.status, item.last_error = status, detail
    item.claimed_by = item.claimed_until = None
    message = item.message
    ticket = message.ticket
    reopened = _reopen(ticket, message.id, status)
    event = {"message_id": item.message_id, "ticket_id": ticket.id, "status": status,
             "author_id": message.author_id}
    customer_id = ticket.customer_id
    db.session.commit()
    bus.publish("message.delivered", **event)
    # Inboxes show the ticket in red (and reopened): they refetch on a "delivery" change.
    bus.publish("ticket.updated", ticket_id=event["ticket_id"], customer_id=customer_id, actor_id=None,
                changes=(["status"] if reopened else []) + ["delivery"])
    return status


def give_up(item_id: int, detail: str) -> str:
    """Record a permanent failure learnt outside the worker (the demo's refused addresses)."""
    return _give_up(db.session.get(OutboxItem, item_id), detail)


#: Rows that need an agent: given up on, or probably sent but unconfirmed.
ATTENTION = ("failed", "unverified")


def mark_handled(item_id: int) -> OutboxItem:
    """An agent answered another way (or checked the channel): the row stops asking for
    attention and counts as the ticket's answer from now (the caller commits)."""
    item = db.session.get(OutboxItem, item_id)
    if item is None:
        raise LookupError(item_id)
    if item.status in ATTENTION:
        item.status, item.sent_at = "handled", utcnow()
        _answered(item.message.ticket, item.sent_at)
    return item


def release(item_ids: list[int], owner: str) -> None:
    """Give back claimed rows that were not attempted (graceful shutdown)."""
    if item_ids:
        db.session.execute(
            update(OutboxItem).where(OutboxItem.id.in_(item_ids), OutboxItem.claimed_by == owner,
                                     OutboxItem.status == "sending")
            .values(status="queued", claimed_by=None, claimed_until=None)
        )
        db.session.commit()


def deliver_due(owner: Optional[str] = None, limit: int = 20,
                should_stop: Callable[[], bool] = lambda: False) -> dict[str, int]:
    """Claim and deliver what is due; returns counts by resulting status.

    When `should_stop()` turns true (SIGTERM), the row in hand is finished and the rest of the
    claim is released for another worker.
    """
    owner = owner or worker_id()
    counts: dict[str, int] = {}
    claimed = claim_due(owner, limit)
    for index, item_id in enumerate(claimed):
        if should_stop():
            release(claimed[index:], owner)
            break
        status = deliver_item(item_id, owner)
        counts[status] = counts.get(status, 0) + 1
    return counts


def retry(item_id: int) -> OutboxItem:
    """An agent's 'retry' on a failed message: queue it again now."""
    item = db.session.get(OutboxItem, item_id)
    if item is None:
        raise LookupError(item_id)
    if item.status == "failed":
        item.status, item.attempts, item.next_attempt_at = "queued", 0, utcnow()
        db.session.commit()
    return item
