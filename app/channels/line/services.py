"""LINE use cases: a verified webhook delivery into ingest(), friendship events on the identity,
the reply token an agent's reply may use, and the push quota for supervisors.

Each event is handled on its own (one ingest transaction each), so one bad event never loses the
others; redelivered events are replays for ingest() (the webhook event id is the external id).
Follow / unfollow are not messages: they set or clear the identity's `bouncing` flag (for LINE:
blocked) and add a customer Event, once per webhook event id.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Optional

import urllib3
from flask import current_app
from flask_babel import gettext as _
from linebot.v3.messaging.exceptions import ApiException
from sqlalchemy import select

from app.channels import registry
from app.channels.line import events as ev
from app.channels.line.adapter import LineChannel, Quota, token_valid
from app.channels.line.pictures import note_pictures
from app.extensions import db
from app.ingest.identity import Sender, find_identity, resolve_customer
from app.ingest.service import IngestError, ingest_batch
from app.models import Event, Identity, Message, Ticket, utcnow

log = logging.getLogger(__name__)


def _adapter() -> LineChannel:
    return registry.get("line", current_app.config)  # type: ignore[return-value]


def _labels() -> dict[str, str]:
    return {"sticker": _("Sticker"), "location": _("Location"), "file": _("File"), "image": _("Image"),
            "video": _("Video"), "audio": _("Audio"), "unsupported": _("Unsupported LINE event")}


def _known(ids: list[str]) -> set[str]:
    """Which of these webhook event ids are stored already (one query per delivery)."""
    return set(db.session.scalars(select(Message.external_id).where(Message.channel == "line",
                                                                   Message.external_id.in_(ids))))


def _known_names(uids: list[str]) -> dict[str, str]:
    """Names of the users we already know by name (one query per delivery)."""
    rows = db.session.execute(select(Identity.value, Identity.name).where(Identity.kind == "line",
                                                                          Identity.value.in_(uids)))
    return {value: name for value, name in rows if name}


def _name(adapter: LineChannel, uid: str, cache: dict[str, str], pictures: Optional[dict[str, str]] = None) -> str:
    """The profile name, asked of LINE only for users we do not know by name yet (once per delivery);
    the profile's picture URL goes into `pictures` (kept after the delivery's messages)."""
    if uid not in cache:
        profile = adapter.profile(uid) if uid.startswith("U") else None
        cache[uid] = profile.name if profile else ""
        if profile is not None and profile.picture_url and pictures is not None:
            pictures[uid] = profile.picture_url
    return cache[uid]


def _attachments(adapter: LineChannel, message: dict[str, Any]):
    """(attachments, error) for a message whose content lives on LINE's content API."""
    provider = (message.get("contentProvider") or {}).get("type", "line")
    if message.get("type") not in ev.CONTENT_TYPES or provider != "line":
        return (), None
    try:
        data, content_type = adapter.content(str(message.get("id")))
    except ApiException as exc:
        return (), f"LINE content API {exc.status}: content not fetched"
    except urllib3.exceptions.HTTPError as exc:
        return (), f"LINE content API unreachable ({type(exc).__name__}): content not fetched"
    return (ev.content_attachment(message, data, content_type, current_app.config["MAX_ATTACHMENT_BYTES"]),), None


def _relationship(event: dict[str, Any], name: str) -> str:
    """follow / unfollow: mark the identity (creating the customer on a first follow)."""
    uid, blocked = ev.user_id(event), event.get("type") == "unfollow"
    identity = find_identity("line", uid)
    if identity is None:
        if blocked:
            return "ignored"  # never a friend we knew: nobody to mark
        customer, _created = resolve_customer(Sender("line", uid, name=name))
        identity = find_identity("line", uid)
    customer_id = identity.customer_id
    seen = db.session.scalars(select(Event.data).where(Event.customer_id == customer_id,
                                                       Event.kind.in_(("line.follow", "line.unfollow"))))
    if any((data or {}).get("webhook_event_id") == ev.event_id(event) for data in seen):
        db.session.rollback()
        return "duplicate"
    identity.bouncing = blocked
    db.session.add(Event(customer_id=customer_id, kind=f"line.{event.get('type')}",
                         data={"webhook_event_id": ev.event_id(event), "at": ev.event_time(event).isoformat()}))
    db.session.commit()
    return "updated"


def _inbound(event: dict[str, Any], destination: str, adapter: LineChannel, names: dict[str, str],
             labels: dict[str, str], pictures: Optional[dict[str, str]] = None) -> Optional[Any]:
    """The InboundMessage for a message (or unknown) event, its content fetched; None if it names nobody."""
    attachments, error = (), None
    if event.get("type") == "message":
        attachments, error = _attachments(adapter, event.get("message") or {})
    return ev.to_inbound(event, destination, name=_name(adapter, ev.user_id(event), names, pictures), labels=labels,
                         attachments=attachments, fetch_error=error)


def receive(payload: dict[str, Any], adapter: Optional[LineChannel] = None) -> dict[str, int]:
    """Handle a verified webhook delivery; counts by outcome.

    The delivery's messages go through ingest_batch (one transaction, subscribers get the batch);
    a redelivered event is not even fetched again. Friendship events are applied after them, in
    their order, each in its own transaction."""
    adapter, counts = adapter or _adapter(), {}
    destination = str(payload.get("destination") or "")

    def count(outcome: str) -> None:
        counts[outcome] = counts.get(outcome, 0) + 1

    events = [e for e in payload.get("events") or [] if isinstance(e, dict) and ev.user_id(e) and ev.event_id(e)]
    counts_ignored = len(payload.get("events") or []) - len(events)
    if counts_ignored:
        counts["ignored"] = counts_ignored
    known = _known([ev.event_id(e) for e in events]) if events else set()
    names = _known_names(list({ev.user_id(e) for e in events})) if events else {}
    labels, pictures = _labels(), {}
    batch, relationships = [], []
    for event in events:
        if event.get("type") in ev.RELATIONSHIP_EVENTS:
            relationships.append(event)
        elif ev.event_id(event) in known:
            count("duplicate")
        else:
            msg = _inbound(event, destination, adapter, names, labels, pictures)
            batch.append(msg) if msg is not None else count("ignored")
    for result in ingest_batch(batch) if batch else []:
        if isinstance(result, IngestError):
            log.warning("LINE event not stored: %s", result)
            count("invalid")
        else:
            count(result.status)
    for event in relationships:
        name = _name(adapter, ev.user_id(event), names, pictures) if event.get("type") == "follow" else ""
        count(_relationship(event, name))
    if pictures:
        note_pictures(pictures)
    return counts


def _reply_token_message(ticket: Ticket, now: datetime) -> Optional[Message]:
    """The newest inbound LINE message of `ticket` whose reply token is unused and still valid."""
    candidates = db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id, Message.channel == "line", Message.direction == "in")
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(5))
    for message in candidates:
        meta = message.meta or {}
        if token_valid(meta, now) and not meta.get("reply_token_used_by"):
            return message
    return None


def send_mode(ticket: Ticket) -> str:
    """'reply' (free) when a reply token is usable now, else 'push' (counts against the quota)."""
    return "reply" if _reply_token_message(ticket, datetime.now(timezone.utc)) else "push"


def reply_fields(ticket: Ticket) -> dict[str, Any]:
    """The outgoing message's meta: a valid reply token, claimed (single use), or push."""
    source = _reply_token_message(ticket, datetime.now(timezone.utc))
    if source is None:
        return {"meta": {"line_mode": "push"}}
    meta = dict(source.meta)
    source.meta = {**meta, "reply_token_used_by": "pending"}  # claimed with the reply's commit
    return {"meta": {"line_mode": "reply", "reply_token": meta["reply_token"],
                     "reply_token_expires_at": meta["reply_token_expires_at"]}}


def quota_status() -> dict[str, Any]:
    """The push quota and this month's consumption for supervisors, with a warning level."""
    if not LineChannel.enabled(current_app.config):
        return {"configured": False}
    try:
        quota: Quota = _adapter().quota()
    except (ApiException, urllib3.exceptions.HTTPError) as exc:
        return {"configured": True, "error": f"{type(exc).__name__}: {getattr(exc, 'status', '') or exc}"}
    ratio = quota.used / quota.limit if quota.limit else 0.0
    warn_at = float(current_app.config.get("LINE_QUOTA_WARN_AT") or 0.8)
    return {"configured": True, "kind": quota.kind, "limit": quota.limit, "used": quota.used,
            "left": (quota.limit - quota.used) if quota.limit is not None else None,
            "ratio": ratio, "warning": quota.limit is not None and ratio >= warn_at,
            "exhausted": quota.limit is not None and quota.used >= quota.limit, "checked_at": utcnow()}
