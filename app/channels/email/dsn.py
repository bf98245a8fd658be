"""The Message-ID of the message a bounce is about, for reports the parser's DSN reading misses.

mime.py reads RFC 3464 delivery-status reports (reports.parse_dsn) and gives their original
Message-ID in meta['bounce']. Many bounces are not such reports: a Japanese carrier's notice with
the original attached as message/rfc822, an Exchange NDR without recipients we can read, qmail's
plain text that quotes the original's headers. `original_message_id(raw)` looks in, in order:
message/rfc822 (or message/global) parts, text/rfc822-headers (or message/global-headers) parts,
then a quoted "Message-ID:" line in the text. The ingest path asks only for automatic mail.
"""
from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from typing import Optional

from app.channels.email.headers import normalise_message_id

_parser = BytesParser(policy=policy.compat32)
_QUOTED_ID = re.compile(rb"^[ \t>]*Message-ID[ \t]*:[ \t]*(<[!-;=?-~]{1,490}>)", re.I | re.M)
_MAX_PARTS = 200


def original_message_id(raw: bytes) -> Optional[str]:
    """The bounced message's Message-ID named inside `raw`, or None. Never raises."""
    try:
        return _from_parts(raw) or _from_text(raw)
    except Exception:  # noqa: BLE001 - a broken report is simply not attached anywhere
        return None


def _from_parts(raw: bytes) -> Optional[str]:
    msg = _parser.parsebytes(raw)
    headers_parts = []
    for index, part in enumerate(msg.walk()):
        if index > _MAX_PARTS:
            break
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else None
            found = normalise_message_id(inner.get("message-id")) if inner is not None else None
            if found:
                return found
        elif ctype in ("text/rfc822-headers", "message/global-headers"):
            headers_parts.append(part)
    for part in headers_parts:
        data = part.get_payload(decode=True) or b""
        found = normalise_message_id(_parser.parsebytes(data, headersonly=True).get("message-id"))
        if found:
            return found
    return None


def _from_text(raw: bytes) -> Optional[str]:
    """A "Message-ID:" line in the body (the top header block is the bounce's own)."""
    parts = re.split(rb"\r?\n\r?\n", raw[:262144], maxsplit=1)
    if len(parts) < 2:
        return None
    match = _QUOTED_ID.search(parts[1])
    return normalise_message_id(match.group(1).decode("ascii")) if match else None
