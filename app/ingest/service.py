"""ingest(): the one path every inbound message takes, whatever its channel.

One transaction stores the raw source, resolves the customer, threads the message into a ticket
and stores it; the (channel, external_id) unique constraint makes replays harmless. After the
commit, `message.ingested` is published on the event bus for search, live updates, intent
detection and SLA clocks. `ingest_batch()` does the same for a polled batch in one transaction:
its lookups are a few queries for the whole batch (app.ingest.lookups), its rows one flush, and
its events one `bus.publish_many` (subscribers may take the batch at once).

Messages that are not a customer's word (special.py): a message whose id another message
already uses with other content is stored under a fresh id with a note; mail from our own
address is flagged and never makes an ordinary customer; a bounce joins the ticket of the message
it bounced; a sender the channel could not read never shares a customer with anyone.
"""
from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import bus
from app.channels import registry
from app.extensions import db
from app.ingest.history import TOPIC as HISTORY_TOPIC, place_history
from app.ingest.identity import InvalidIdentity, resolve_customer
from app.ingest import special
from app.ingest.lookups import Lookups
from app.ingest.threading import find_thread_ticket, strip_reply_prefixes
from app.ingest.types import InboundMessage, IngestResult
from app.models import Attachment, Customer, Event, Message, RawSource, Ticket, utcnow

MAX_ATTEMPTS = 4


class IngestError(ValueError):
    """Input that cannot be ingested; `errors` maps field name to a message for the sender."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _has_bad_unicode(text: Optional[str]) -> bool:
    if not text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from undecodable bytes
        return True
    return "\x00" in text


def validate(msg: InboundMessage) -> None:
    """Raise IngestError naming every field that is wrong."""
    errors: dict[str, str] = {}
    if not registry.is_known(msg.channel):
        errors["channel"] = f"unknown channel {msg.channel!r}; known: {', '.join(registry.names())}"
    if not msg.external_id or len(msg.external_id) > 500:
        errors["external_id"] = "required, at most 500 characters"
    if msg.sender is None or not msg.sender.value:
        errors["from"] = "the sender is required"
    else:
        try:
            msg.sender.normalised()
        except InvalidIdentity as exc:
            errors["from"] = str(exc)
    if not isinstance(msg.created_at, datetime) or msg.created_at.tzinfo is None:
        errors["created_at"] = "must be a date-time with a time zone"
    limit = current_app.config["MAX_BODY_CHARS"]
    if len(msg.body_text or "") > limit or len(msg.body_html or "") > 4 * limit:
        errors["text"] = f"the body is longer than {limit} characters"
    if len(msg.subject or "") > 2000:
        errors["subject"] = "the subject is longer than 2000 characters"
    for name in ("subject", "body_text", "body_html", "external_id"):
        if _has_bad_unicode(getattr(msg, name)):
            errors["text" if name == "body_text" else name] = "contains invalid characters (not UTF-8)"
    if msg.sender is not None and (_has_bad_unicode(msg.sender.name) or _has_bad_unicode(msg.sender.value)):
        errors["from"] = "contains invalid characters (not UTF-8)"
    if msg.direction not in ("in", "out"):
        errors["direction"] = "must be 'in' or 'out'"
    if errors:
        raise IngestError(errors)


def content_hash(msg: InboundMessage) -> str:
    """What must be equal for a second message with the same external id to be a replay."""
    basis = json.dumps([msg.sender.kind, msg.sender.normalised(), msg.subject or "",
                        msg.body_text or "", msg.direction], ensure_ascii=False)
    return hashlib.sha256(basis.encode()).hexdigest()


def store_raw(raw: bytes, content_type: str, channel: str, lookups: Optional[Lookups] = None) -> RawSource:
    """Get or add the content-addressed raw source (flushes unless batched; the caller commits)."""
    digest = hashlib.sha256(raw).hexdigest()
    existing = lookups.raw(digest) if lookups is not None else \
        db.session.scalar(select(RawSource).where(RawSource.sha256 == digest))
    if existing is not None:
        return existing
    source = RawSource(sha256=digest, content_type=content_type, size=len(raw), content=raw,
                       channel=channel)
    db.session.add(source)
    if lookups is not None and lookups.batch:
        lookups.add_raw(source)  # inserted with the batch's flush
    else:
        db.session.flush()
    return source


def _existing(msg: InboundMessage) -> Optional[Message]:
    return Lookups().existing(msg)


def _duplicate(existing: Message, digest: str) -> IngestResult:
    """The result for a replay (special.unclaimed decided it is one)."""
    return IngestResult("duplicate", existing.id, existing.ticket_id, existing.customer_id)


def _status_event(ticket: Ticket, new: str, why: str) -> None:
    db.session.add(Event(customer_id=ticket.customer_id, ticket_id=ticket.id, kind="ticket.status",
                         data={"field": "status", "old": ticket.status, "new": new, "why": why}))
    ticket.status = new


def _same_customer(ticket: Ticket, customer: Customer) -> bool:
    if ticket.customer_id is not None and customer.id is not None:
        return ticket.customer_id == customer.id
    return ticket.customer_id is None and ticket.customer is customer  # both new in this batch


def _place_in_ticket(msg: InboundMessage, customer: Customer, now: datetime, lookups: Lookups
                     ) -> tuple[Ticket, bool, bool]:
    """(ticket, created, reopened) for the message, applying the reopen/follow-up rules."""
    ticket = find_thread_ticket(msg.reply_to_keys, msg.ticket_hint, customer, msg.subject,
                                msg.match_subject, now, lookups, at=msg.created_at,
                                text=f"{msg.subject or ''}\n{msg.body_text or ''}")
    previous_id = None
    if ticket is not None and not _same_customer(ticket, customer):
        ticket = None  # never thread one customer's message into another's conversation
    if msg.history:
        return place_history(msg, customer, ticket, lookups)
    if ticket is not None and ticket.status == "closed":
        if ticket.id is None:  # closed earlier in this batch (imported history): give it its id
            db.session.flush()
        previous_id, ticket = ticket.id, None
    if ticket is None and msg.direction == "in":
        config = current_app.config
        ticket = lookups.flood_ticket(customer, msg.created_at, int(config.get("TICKET_FLOOD_LIMIT") or 0),
                                      timedelta(seconds=int(config.get("TICKET_FLOOD_WINDOW_SECONDS") or 600)))
    if ticket is not None:
        reopened = False
        if msg.direction == "in" and ticket.status == "solved":
            _status_event(ticket, "open", "customer replied")
            ticket.reopen_count += 1
            ticket.solved_at = None
            reopened = True
        elif msg.direction == "in" and ticket.status == "pending":
            _status_event(ticket, "open", "customer replied")
        return ticket, False, reopened
    subject = strip_reply_prefixes(msg.subject) or (msg.body_text or "").strip().split("\n")[0][:80]
    # The relationship (not the id): a customer new in this batch gets its id at the batch's flush.
    ticket = Ticket(customer=customer, subject=subject[:500], status="new", channel=msg.channel,
                    previous_ticket_id=previous_id, created_at=msg.created_at,
                    last_activity_at=msg.created_at)
    db.session.add(ticket)
    lookups.new_ticket(customer, ticket)
    if previous_id:  # a closed ticket of this (existing) customer
        db.session.add(Event(customer_id=customer.id, ticket=ticket, kind="ticket.follow_up",
                             data={"previous_ticket_id": previous_id}))
    return ticket, True, False


def _store(msg: InboundMessage, digest: str, lookups: Optional[Lookups] = None):
    """Add the message's rows to the session. Without batch `lookups` it flushes and returns the
    IngestResult; in a batch it returns a function giving the result after the batch's flush."""
    lookups = lookups or Lookups()
    now = utcnow()
    raw = store_raw(msg.raw, msg.raw_content_type, msg.channel, lookups) if msg.raw is not None else None
    msg = special.annotate(msg, lookups)
    quiet = special.quiet_place(msg, lookups)
    if quiet is not None:  # a bounce, or our own mail citing a ticket: joins it, changes nothing
        msg, customer, ticket = quiet
        customer_created = created = reopened = False
    else:
        customer, customer_created = resolve_customer(msg.sender, lookups)
        ticket, created, reopened = _place_in_ticket(msg, customer, now, lookups)
        if created and msg.meta.get(special.OWN):
            special.tag_own(ticket, lookups)
    message = Message(
        channel=msg.channel, direction=msg.direction,
        external_id=msg.external_id, thread_key=msg.thread_key, reply_to_keys=list(msg.reply_to_keys),
        sender=msg.sender.name or msg.sender.display or msg.sender.value, subject=msg.subject or "",
        body_text=msg.body_text or "", body_html=msg.body_html, created_at=msg.created_at,
        received_at=now, content_hash=digest,
        parse_error=msg.parse_error, auto_submitted=msg.auto_submitted, meta=dict(msg.meta),
    )
    # Ids where known; otherwise the relationship, so rows new in this batch are linked at flush
    # (setting `ticket` on a stored ticket would append to its unloaded `messages`: avoid that).
    if ticket.id is not None:
        message.ticket_id = ticket.id
    else:
        message.ticket = ticket
    if customer.id is not None:
        message.customer_id = customer.id
    else:
        message.customer = customer
    if raw is not None:
        if raw.id is not None:
            message.raw_id = raw.id
        else:
            message.raw = raw
    message.attachments = [
        Attachment(filename=a.filename, content_type=a.content_type, size=a.size, data=a.data,
                   content_id=a.content_id, oversize=a.oversize,
                   sha256=hashlib.sha256(a.data).hexdigest() if a.data is not None else "")
        for a in msg.attachments
    ]
    db.session.add(message)
    ticket.last_activity_at = max(ticket.last_activity_at, msg.created_at)
    if msg.direction == "in" and quiet is None and not msg.meta.get(special.OWN):
        latest = ticket.last_customer_message_at
        ticket.last_customer_message_at = max(latest, msg.created_at) if latest else msg.created_at
    lookups.stored(msg, message, ticket, customer)

    def result() -> IngestResult:
        return IngestResult("created", message.id, ticket.id, customer.id, created, reopened, customer_created)

    if lookups.batch:
        return result
    db.session.flush()
    return result()


def _payload(msg: InboundMessage, result: IngestResult) -> dict:
    return dict(message_id=result.message_id, ticket_id=result.ticket_id,
                customer_id=result.customer_id, ticket_created=result.ticket_created,
                ticket_reopened=result.ticket_reopened, channel=msg.channel,
                direction=msg.direction, auto_submitted=msg.auto_submitted)


def _publish(msg: InboundMessage, result: IngestResult) -> None:
    bus.publish(HISTORY_TOPIC if msg.history else "message.ingested", **_payload(msg, result))


def ingest(msg: InboundMessage) -> IngestResult:
    """Store `msg` once, in its customer's ticket; return whether it was new or a replay.

    Raises IngestError for bad input (nothing is stored). Safe to call concurrently with the same
    message: the unique constraints decide, and the loser reports 'duplicate'.
    """
    validate(msg)
    digest = content_hash(msg)
    original = msg
    for attempt in range(MAX_ATTEMPTS):
        msg, existing = special.unclaimed(original, digest, Lookups())
        if existing is not None:
            result = _duplicate(existing, digest)
            db.session.rollback()
            return result
        try:
            result = _store(msg, digest)
            db.session.commit()
        except IntegrityError:
            # Lost a race (same message, same new identity or raw source): start again.
            db.session.rollback()
            if attempt == MAX_ATTEMPTS - 1:
                raise
            continue
        except Exception:
            db.session.rollback()
            raise
        _publish(msg, result)
        return result
    raise RuntimeError("unreachable")


#: The ticket ids of the batch whose message.ingested is being delivered in this context.
_delivering: ContextVar[Optional[set[int]]] = ContextVar("ingest_delivering", default=None)


def delivering() -> Optional[set[int]]:
    """While a batch's message.ingested is delivered (bus.publish_many): its tickets' ids, which a
    subscriber that will handle them all may use to leave earlier events about them to that (and
    may empty once it has); None otherwise."""
    return _delivering.get()


def _stage_batch(msgs: list[InboundMessage]) -> list:
    """Add the batch's rows to the session without flushing: one entry per message, an
    IngestError, or a function giving its IngestResult once the batch is flushed."""
    staged: list = []
    valid: list[tuple[InboundMessage, str]] = []
    for msg in msgs:
        try:
            validate(msg)
        except IngestError as exc:
            staged.append(exc)
            continue
        digest = content_hash(msg)
        valid.append((msg, digest))
        staged.append((msg, digest))
    with db.session.no_autoflush:
        lookups = Lookups(prefetch=valid, now=utcnow())
        for i, entry in enumerate(staged):
            if isinstance(entry, IngestError):
                continue
            msg, digest = entry
            try:
                msg, existing = special.unclaimed(msg, digest, lookups)
            except IngestError as exc:
                staged[i] = exc
                continue
            if existing is not None:  # stored earlier, or earlier in this very batch
                staged[i] = lambda m=existing: IngestResult("duplicate", m.id, m.ticket_id, m.customer_id)
                continue
            staged[i] = _store(msg, digest, lookups)
    return staged


def ingest_batch(msgs: list[InboundMessage], advance_cursor: Optional[Callable[[], None]] = None
                 ) -> list[IngestResult | IngestError]:
    """Ingest a polled batch in ONE transaction together with the channel's cursor update.

    `advance_cursor` changes the ChannelState row (without committing); it is committed with the
    messages, so a crash before the commit replays the whole batch and the unique constraint
    absorbs what an earlier run stored. A message with bad input yields its IngestError in the
    result list and does not stop the others. If the batch loses a race, it falls back to one
    transaction per message (then advances the cursor).

    The batch's lookups are made in a few queries for all its messages (app.ingest.lookups) and
    its rows are written by one flush; `message.ingested` is published for the created messages
    with `bus.publish_many` after the commit, so subscribers may handle the batch at once.
    """
    try:
        staged = _stage_batch(msgs)
        db.session.flush()
        results = [entry if isinstance(entry, IngestError) else entry() for entry in staged]
        # Let the batch's ORM objects go: every commit a subscriber makes would expire them all.
        del staged
        if advance_cursor is not None:
            advance_cursor()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        results = []
        for msg in msgs:
            try:
                results.append(ingest(msg))
            except IngestError as exc:
                results.append(exc)
        if advance_cursor is not None:
            advance_cursor()
            db.session.commit()
        return results  # ingest() already published
    except Exception:
        db.session.rollback()
        raise
    created = [(msg, result) for msg, result in zip(msgs, results)
               if isinstance(result, IngestResult) and result.status == "created"]
    payloads = [_payload(m, r) for m, r in created if not m.history]
    token = _delivering.set({p["ticket_id"] for p in payloads})
    try:
        bus.publish_many("message.ingested", payloads)
    finally:
        _delivering.reset(token)
    bus.publish_many(HISTORY_TOPIC, [_payload(m, r) for m, r in created if m.history])
    return results


def aware(value: datetime) -> datetime:
    """Treat a naive datetime as UTC (for channels that give UTC without a zone)."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
