"""Email header fields: Message-IDs, addresses, the sender, the date (raw values in, clean out)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import getaddresses, parsedate_to_datetime
from typing import Optional

from app.channels.email.charsets import decode_header
from app.ingest.identity import InvalidIdentity, normalise_email

#: Used when no header names a usable sender: the message is still stored and shown.
UNKNOWN_SENDER = "unknown-sender@invalid.invalid"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Message-IDs are printable ASCII: one with 8-bit bytes or controls is no id (the raw hash is).
_MSGID = re.compile(r"<([!-;=?-~]{1,490})>")
_BARE_ID = re.compile(r"[!-;=?-~]{1,490}")


def normalise_message_id(value: Optional[str]) -> Optional[str]:
    """'<abc@host>' from any spelling of a Message-ID header (comments, no brackets, folding)."""
    if not value:
        return None
    match = _MSGID.search(value)
    if match:
        return f"<{match.group(1)}>"
    if "<" in value:
        return None  # an id in brackets that is not printable ASCII
    bare = _BARE_ID.fullmatch(value.strip())
    return f"<{bare.group(0)}>" if bare and "@" in bare.group(0) else None


def message_ids(value: Optional[str]) -> list[str]:
    """All ids of an In-Reply-To / References header, in header order."""
    if not value:
        return []
    found = [f"<{m}>" for m in _MSGID.findall(value)]
    if not found:
        one = normalise_message_id(value)
        return [one] if one else []
    return found


def address_of(raw: str) -> Optional[str]:
    """The normalised address in a raw header value, or None if it is none."""
    address = decode_header(raw)
    if _CONTROL.search(address):
        return None  # not an address anyone can write to (and PostgreSQL refuses NUL)
    try:
        return normalise_email(address)
    except InvalidIdentity:
        return None


def sender(headers: dict[str, str]) -> tuple[str, str, bool]:
    """(address, name, found) from From, then Sender, Reply-To, Return-Path."""
    for name in ("from", "sender", "reply-to", "return-path"):
        for display, raw in getaddresses([headers.get(name) or ""]):
            value = address_of(raw)
            if value:
                return value, _CONTROL.sub(" ", decode_header(display)).strip()[:200], True
    return UNKNOWN_SENDER, "", False


def addresses(value: Optional[str]) -> list[str]:
    found = (address_of(raw) for _display, raw in getaddresses([value or ""]))
    return [a for a in found if a][:50]


def parse_date(value: Optional[str], received_at: Optional[datetime]) -> datetime:
    now = datetime.now(timezone.utc)
    fallback = received_at or now
    if fallback.tzinfo is None:
        fallback = fallback.replace(tzinfo=timezone.utc)
    try:
        parsed = parsedate_to_datetime(decode_header(value)) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        parsed = None
    if parsed is None:
        return fallback
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    if parsed > now + timedelta(days=1) or parsed.year < 1995:
        return fallback  # a skewed clock must not sort a ticket to the top of the inbox
    return parsed.astimezone(timezone.utc)
