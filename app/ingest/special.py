"""Messages that are not simply a customer's word, and where ingest() puts them.

- A reused id: senders choose Message-IDs, and some reuse them for other mail. A message whose
  id is already taken by OTHER content is stored under a fresh id (`<id>#<raw sha-256 prefix>`,
  the form the email poller uses too) with meta `external_id_reused`, instead of being refused or
  lost; the same bytes again are a replay. Only mail (raw message/rfc822 whose id is its own
  thread key) is re-keyed: an API client reusing its own id is still refused.
- Our own address (MAIL_FROM, any configured mailbox): flagged (`own_address`, automatic). When it
  replies to a stored message (its reply keys; not the ticket token, which anyone forging our
  From could guess) it joins that ticket quietly; otherwise its ticket is tagged `own-address` and
  its customer is not named after the shop. The outbox never sends to our own addresses.
- A bounce (a delivery report, or mail from MAILER-DAEMON/postmaster): joins the ticket of the
  message of OURS it bounced (the report's original Message-ID, read by the channel's parser or,
  for reports without a delivery-status part, by app.channels.email.dsn) under that ticket's
  customer, quietly: no ticket, no customer for MAILER-DAEMON.

"Quietly": no status change and no customer-message time (it is not the customer speaking).
"""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Optional

from sqlalchemy import select

from app.extensions import db
from app.ingest.types import InboundMessage
from app.models import Customer, Message, Tag, Ticket

REUSED = "external_id_reused"
OWN = "own_address"
BOUNCE_OF = "bounce_of"
OWN_TAG = "own-address"
MAIL = "message/rfc822"


def _raw_digest(msg: InboundMessage) -> Optional[str]:
    return hashlib.sha256(msg.raw).hexdigest() if msg.raw is not None else None


def _rekeyable(msg: InboundMessage) -> bool:
    return (msg.raw is not None and msg.raw_content_type == MAIL and msg.thread_key is not None
            and msg.thread_key == msg.external_id)


def _same_bytes(existing: Message, raw_digest: Optional[str]) -> bool:
    return raw_digest is not None and existing.raw_id is not None and existing.raw is not None \
        and existing.raw.sha256 == raw_digest


def _squashed(text: Optional[str]) -> str:
    return "".join((text or "").split())


def _echoes(sent: Message, msg: InboundMessage) -> bool:
    """Whether `msg` carries the text of our sent message (a copy a list or forwarder re-sent
    under another From)."""
    ours = _squashed(sent.body_text)[:300]
    return bool(ours) and ours in _squashed(msg.body_text)


def unclaimed(msg: InboundMessage, digest: str, lookups) -> tuple[InboundMessage, Optional[Message]]:
    """(the message under the id it is stored with, the stored message it replays or None).

    Raises IngestError when the id is taken by other content and the message cannot be re-keyed.
    """
    from app.ingest.service import IngestError

    existing = lookups.existing(msg)
    if existing is None:
        return msg, None
    if existing.content_hash == digest:
        return msg, existing
    raw_digest = _raw_digest(msg)
    if _same_bytes(existing, raw_digest):
        return msg, existing  # the same bytes, read differently by another parser version
    if not existing.content_hash and (not _rekeyable(msg) or is_own(msg, lookups) or _echoes(existing, msg)):
        return msg, existing  # our own sent message, looped back (sent rows carry no content hash)
    if not _rekeyable(msg):
        raise IngestError({"external_id": "already used for a different message"})
    rekeyed = dataclasses.replace(msg, external_id=f"{msg.external_id[:400]}#{raw_digest[:16]}",
                                  meta={**msg.meta, REUSED: msg.external_id})
    return rekeyed, lookups.existing(rekeyed)


def is_own(msg: InboundMessage, lookups) -> bool:
    if msg.sender.kind != "email" or msg.direction != "in":
        return False
    try:
        return msg.sender.normalised() in lookups.own_addresses()
    except ValueError:
        return False


_BOUNCE_REASONS = {"dsn", "mailer-daemon", "null-return-path"}
_DAEMONS = {"mailer-daemon", "postmaster"}


def _bounced_key(msg: InboundMessage) -> Optional[str]:
    if not msg.auto_submitted or msg.direction != "in":
        return None
    key = (msg.meta.get("bounce") or {}).get("original_message_id")
    bounce_like = msg.meta.get("auto_reason") in _BOUNCE_REASONS \
        or (msg.sender.value or "").split("@", 1)[0].lower() in _DAEMONS
    if not key and bounce_like and msg.raw is not None and msg.raw_content_type == MAIL:
        from app.channels.email.dsn import original_message_id

        key = original_message_id(msg.raw)
    return key


def annotate(msg: InboundMessage, lookups) -> InboundMessage:
    """The message with its notes (reused id, own address) in meta, before it is placed."""
    meta = dict(msg.meta)
    if msg.thread_key and msg.external_id != msg.thread_key \
            and msg.external_id.startswith(f"{msg.thread_key[:400]}#"):
        meta.setdefault(REUSED, msg.thread_key)  # re-keyed by the channel's poller
    changes = {}
    if is_own(msg, lookups):
        meta[OWN] = True
        # Never a customer named after the shop; automatic: never acknowledged.
        changes = {"sender": dataclasses.replace(msg.sender, name=""), "auto_submitted": True}
    return dataclasses.replace(msg, meta=meta, **changes) if meta != msg.meta or changes else msg


def quiet_place(msg: InboundMessage, lookups) -> Optional[tuple[InboundMessage, Customer, Ticket]]:
    """(message, customer, ticket) for a bounce of a known message, or our own mail citing a
    ticket: it joins that ticket under the ticket's customer. None: place it as usual."""
    if msg.meta.get(OWN):
        ticket = lookups.thread_ticket(tuple(msg.reply_to_keys)) if msg.reply_to_keys else None
        return (msg, ticket.customer, ticket) if ticket is not None else None
    key = _bounced_key(msg)
    if key:
        # Only a message we sent can bounce back to us: a forged report citing a customer's
        # Message-ID joins nothing.
        ticket_id = db.session.scalar(select(Message.ticket_id).where(
            Message.thread_key == key, Message.direction == "out").order_by(Message.id.desc()).limit(1))
        ticket = db.session.get(Ticket, ticket_id) if ticket_id is not None else None
        if ticket is not None:
            return dataclasses.replace(msg, meta={**msg.meta, BOUNCE_OF: key}), ticket.customer, ticket
    return None


def tag_own(ticket: Ticket, lookups) -> None:
    """Tag a new ticket opened by our own mail (get or create the tag once per batch)."""
    tag = lookups.tags.get(OWN_TAG)
    if tag is None:
        tag = db.session.scalar(select(Tag).where(Tag.name == OWN_TAG))
        if tag is None:
            tag = Tag(name=OWN_TAG)
            db.session.add(tag)
        lookups.tags[OWN_TAG] = tag
    ticket.tags = [tag]
