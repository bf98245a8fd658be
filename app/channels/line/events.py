"""LINE webhook events (dicts, as delivered) → InboundMessages. No database, no HTTP.

Every event is stored under its `webhookEventId`, so a redelivery (`deliveryContext.isRedelivery`)
or a retried webhook is a replay for ingest(). A user's messages thread by user id (a LINE chat
is one continuous conversation). The raw source of each message is the event's own JSON.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from app.ingest.identity import Sender
from app.ingest.types import InboundAttachment, InboundMessage

#: A reply token is valid for one minute after the event; keep a margin for the outbox's latency.
REPLY_TOKEN_SECONDS = 60
REPLY_TOKEN_MARGIN = 5
#: Message types whose payload is fetched from the content API (unless sent as an external URL).
CONTENT_TYPES = {"image": ("image/jpeg", "jpg"), "video": ("video/mp4", "mp4"),
                 "audio": ("audio/m4a", "m4a"), "file": ("application/octet-stream", "")}
#: Events about the friendship, not messages: handled on the customer's identity.
RELATIONSHIP_EVENTS = {"follow", "unfollow"}


def event_id(event: dict[str, Any]) -> str:
    return str(event.get("webhookEventId") or "")


def user_id(event: dict[str, Any]) -> Optional[str]:
    source = event.get("source") or {}
    return source.get("userId") or source.get("groupId") or source.get("roomId")


def event_time(event: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(event["timestamp"]) / 1000, timezone.utc)
    except (KeyError, TypeError, ValueError):
        return datetime.now(timezone.utc)


def thread_key(uid: str) -> str:
    return f"line:{uid}"


def raw_of(event: dict[str, Any], destination: str) -> bytes:
    return json.dumps({"destination": destination, "event": event}, ensure_ascii=False,
                      sort_keys=True).encode()


def _text_of(message: dict[str, Any], labels: dict[str, str]) -> str:
    kind = message.get("type")
    if kind == "text":
        return message.get("text") or ""
    if kind == "sticker":
        words = ", ".join(message.get("keywords") or [])
        label = f"[{labels['sticker']}]"
        return f"{label} {words}".strip() if words else f"{label} {message.get('packageId')}/{message.get('stickerId')}"
    if kind == "location":
        parts = [f"[{labels['location']}] {message.get('title') or ''}".strip(), message.get("address") or "",
                 f"https://www.google.com/maps?q={message.get('latitude')},{message.get('longitude')}"]
        return "\n".join(p for p in parts if p)
    if kind == "file":
        return f"[{labels['file']}] {message.get('fileName') or ''}".strip()
    if kind in CONTENT_TYPES:
        return f"[{labels.get(kind, kind)}]"
    return f"[{labels['unsupported']}: message {kind}]"


def to_inbound(event: dict[str, Any], destination: str, *, name: str = "", labels: dict[str, str],
               attachments: tuple[InboundAttachment, ...] = (), fetch_error: Optional[str] = None
               ) -> Optional[InboundMessage]:
    """The event as an InboundMessage; None when it names nobody (nothing to thread it to)."""
    uid = user_id(event)
    if not uid or not event_id(event):
        return None
    kind = event.get("type")
    created = event_time(event)
    meta: dict[str, Any] = {"line_event_type": kind, "line_user_id": uid,
                            "redelivery": bool((event.get("deliveryContext") or {}).get("isRedelivery"))}
    if event.get("replyToken"):
        meta["reply_token"] = event["replyToken"]
        meta["reply_token_expires_at"] = (created + timedelta(seconds=REPLY_TOKEN_SECONDS - REPLY_TOKEN_MARGIN)).isoformat()
    parse_error = None
    if kind == "message":
        message = event.get("message") or {}
        meta.update(line_message_id=message.get("id"), line_message_type=message.get("type"))
        if message.get("type") == "sticker":
            meta["sticker"] = {k: message.get(k) for k in ("packageId", "stickerId", "stickerResourceType", "keywords")}
        if message.get("type") == "location":
            meta["location"] = {k: message.get(k) for k in ("title", "address", "latitude", "longitude")}
        provider = message.get("contentProvider") or {}
        if provider.get("type") == "external":
            meta["content_url"] = provider.get("originalContentUrl")
        body = _text_of(message, labels)
        parse_error = fetch_error
    else:
        body = f"[{labels['unsupported']}: {kind}]"
        parse_error = f"unsupported LINE event: {kind}"
    return InboundMessage(
        channel="line", external_id=event_id(event), sender=Sender("line", uid, name=name), created_at=created,
        body_text=body, thread_key=thread_key(uid), reply_to_keys=(thread_key(uid),), match_subject=False,
        raw=raw_of(event, destination), raw_content_type="application/json", attachments=attachments,
        parse_error=parse_error, meta=meta)


def content_attachment(message: dict[str, Any], data: bytes, content_type: Optional[str], limit: int
                       ) -> InboundAttachment:
    """What the content API returned for a message, as an attachment (over `limit`: kept out)."""
    default_type, extension = CONTENT_TYPES.get(message.get("type"), ("application/octet-stream", ""))
    filename = message.get("fileName") or f"line-{message.get('id')}{'.' + extension if extension else ''}"
    oversize = len(data) > limit
    return InboundAttachment(filename=filename, content_type=content_type or default_type,
                             data=None if oversize else bytes(data), size=len(data), oversize=oversize)
