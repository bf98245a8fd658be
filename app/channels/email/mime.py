"""Raw RFC 5322 bytes -> InboundMessage: structure, text, attachments, auto-reply and bounces.

`parse_message()` never raises: a message the parser cannot handle (a MIME bomb, a bug) becomes
an InboundMessage with `parse_error` set and its raw bytes attached, so it is stored and shown as
"could not read this message" instead of halting the mailbox. Bytes->text goes through
charsets.py, HTML through sanitize.py, DSN/auto-reply recognition through reports.py.

The `email` package parses with `policy.default` minus its header objects (RAW_POLICY): those
objects cost ~80% of the parse time (the feed parser itself asks every part for its content type)
and decode Japanese headers lossily anyway. Text is never taken from `get_content()` (it decodes
with errors='replace' and turns ①㈱ into U+FFFD): headers are read raw and payloads as bytes,
and decoded by charsets.py.
"""
from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import unquote
from typing import Any, Optional

from app.channels.email import reports
from app.channels.email.charsets import decode_bytes, decode_header, detect, raw_bytes, strip_nul
from app.channels.email.headers import (UNKNOWN_SENDER, addresses, message_ids, normalise_message_id,
                                        parse_date)
from app.channels.email.headers import sender as find_sender
from app.channels.email.sanitize import html_to_text, sanitize_html
from app.ingest.identity import Sender
from app.ingest.threading import find_ticket_token
from app.ingest.types import InboundAttachment, InboundMessage

CHANNEL = "email"
RAW_CONTENT_TYPE = "message/rfc822"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: A content type is printable ASCII; anything else (8-bit bytes kept as surrogates by the parser,
#: NUL that PostgreSQL refuses) is dropped.
_NOT_TOKEN = re.compile(r"[^\x21-\x7e]")
_BOUNDARY_LINE = re.compile(rb"^--([^\s]{1,70}?)(?:--)?[ \t]*\r?$", re.M)


class _RawHeaderPolicy(EmailPolicy):
    """policy.default, but `msg[name]` is the raw header string (as with compat32)."""

    def header_fetch_parse(self, name, value):
        return value


RAW_POLICY = _RawHeaderPolicy()
_parser = BytesParser(policy=RAW_POLICY)


@dataclass
class ParseOptions:
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_body_chars: int = 200_000
    #: Which configured mailbox the message came from (kept in meta).
    mailbox: Optional[str] = None
    #: IMAP INTERNALDATE, used when the Date header is missing or absurd.
    received_at: Optional[datetime] = None


@dataclass
class _Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[InboundAttachment] = field(default_factory=list)
    charsets: list[str] = field(default_factory=list)
    unclean: list[str] = field(default_factory=list)
    dsn: list[Any] = field(default_factory=list)
    defects: set[str] = field(default_factory=set)
    original_headers: list[Any] = field(default_factory=list)


def raw_sha256(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_message(raw: bytes, options: Optional[ParseOptions] = None) -> InboundMessage:
    """The InboundMessage for `raw`; never raises (an unreadable message carries parse_error)."""
    options = options or ParseOptions()
    try:
        return _parse(raw, options)
    except Exception as exc:  # noqa: BLE001 - any parser failure (RecursionError on a MIME bomb,
        # a bug of ours) must become a visible message, never a crash or a silent drop
        return unreadable(raw, f"{type(exc).__name__}: {exc}", options)


def _headers(msg) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in msg.raw_items():
        headers.setdefault(name.lower(), value)
    return headers


def _filename(part) -> Optional[str]:
    value = part.get_param("filename", None, "content-disposition") or part.get_param("name", None)
    if not value:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded latin-1 text)
        charset, _lang, text = value
        try:
            data = text.encode("latin-1")
        except UnicodeEncodeError:
            data = raw_bytes(text)
        name = decode_bytes(data, charset or None).text
    else:
        name = decode_header(unquote(value))
    name = _CONTROL.sub("_", name).replace("/", "_").replace("\\", "_").strip().strip(".")
    return name[-250:] or None


_EXTENSIONS = {"text/rfc822-headers": ".txt", "message/rfc822": ".eml", "message/global": ".eml",
               "image/jpg": ".jpg", "image/pjpeg": ".jpg", "text/plain": ".txt"}


def _default_name(content_type: str, index: int) -> str:
    ext = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"
    return f"attachment-{index}{ext}"


def _attachment(part, body: _Body, options: ParseOptions,
                filename: Optional[str] = None, data: Optional[bytes] = None) -> None:
    content_type = _NOT_TOKEN.sub("", part.get_content_type())[:200] or "application/octet-stream"
    if data is None:
        data = part.get_payload(decode=True) or b""
    cid = _CONTROL.sub("", decode_header(part.get("content-id") or "")).strip("<> ")[:300] or None
    name = filename or _filename(part) or _default_name(content_type, len(body.attachments) + 1)
    oversize = len(data) > options.max_attachment_bytes
    body.attachments.append(InboundAttachment(
        filename=name, content_type=content_type, data=None if oversize else data, size=len(data),
        content_id=cid, oversize=oversize))


def _text(data: bytes, charset: Optional[str], body: _Body) -> str:
    decoded = decode_bytes(data, charset)
    body.charsets.append(decoded.charset)
    if not decoded.clean:
        body.unclean.append(charset or "none")
    return strip_nul(decoded.text.replace("\r\n", "\n").replace("\r", "\n"))


def _salvage_multipart(part, body: _Body, options: ParseOptions) -> None:
    """A multipart whose boundary never appears: re-parse with the boundary the body really uses,
    or, failing that, show the body as text."""
    data = part.get_payload(decode=True) or b""  # bytes as sent (get_payload() would add U+FFFD)
    match = _BOUNDARY_LINE.search(data)
    if match and data.count(b"--" + match.group(1)) >= 2:
        boundary = match.group(1).decode("ascii", "replace")
        reparsed = _parser.parsebytes(
            f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\r\n\r\n'.encode() + data)
        if isinstance(reparsed.get_payload(), list):
            _walk(reparsed, body, options)
            return
    body.plain.append(_text(data, None, body))


def _walk(root, body: _Body, options: ParseOptions) -> None:
    stack = [root]
    while stack:
        part = stack.pop()
        body.defects.update(type(d).__name__ for d in part.defects)
        ctype = part.get_content_type()
        payload = part.get_payload()
        if ctype.startswith("multipart/"):
            if isinstance(payload, list):
                stack.extend(reversed(payload))
            else:
                _salvage_multipart(part, body, options)
            continue
        if ctype == "message/delivery-status":
            body.dsn.extend(payload if isinstance(payload, list) else [])
            continue
        if ctype in ("message/rfc822", "message/global") and isinstance(payload, list) and payload:
            inner = payload[0]
            body.original_headers.append(inner)
            _attachment(part, body, options, filename=_filename(part) or "message.eml",
                        data=inner.as_bytes(policy=policy.compat32))
            continue
        if ctype == "text/rfc822-headers":
            body.original_headers.append(_parser.parsebytes(part.get_payload(decode=True) or b"",
                                                            headersonly=True))
        disposition = part.get_content_disposition()
        filename = _filename(part)
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            text = _text(part.get_payload(decode=True) or b"", part.get_content_charset(), body)
            (body.plain if ctype == "text/plain" else body.html).append(text)
        else:
            _attachment(part, body, options, filename=filename)


def _limit(text: str, limit: int, meta: dict) -> str:
    if len(text) > limit:
        meta["truncated"] = True
        return text[:limit]
    return text


def _parse(raw: bytes, options: ParseOptions) -> InboundMessage:
    msg = _parser.parsebytes(raw)
    headers = _headers(msg)
    meta: dict[str, Any] = {}
    body = _Body()
    _walk(msg, body, options)

    message_id = normalise_message_id(headers.get("message-id"))
    subject = strip_nul(decode_header(headers.get("subject"))).strip()
    address, name, found = find_sender(headers)
    replies = message_ids(headers.get("in-reply-to")) + message_ids(headers.get("references"))[::-1]
    reply_to_keys = tuple(dict.fromkeys(k for k in replies if k != message_id))[:20]

    text = _limit("\n\n".join(t.strip("\n") for t in body.plain if t.strip()), options.max_body_chars, meta)
    html = None
    if body.html:
        source = "\n".join(body.html)
        html = sanitize_html(_limit(source, 4 * options.max_body_chars, meta)) or None
        if not text:
            text = _limit(html_to_text(html or ""), options.max_body_chars, meta)
    report = reports.classify(headers, content_type=msg.get_content_type(), sender=address,
                              dsn_blocks=body.dsn, original_headers=body.original_headers)
    if options.mailbox:
        meta["mailbox"] = options.mailbox
    meta.update({k: v for k, v in {
        "to": addresses(headers.get("to")), "cc": addresses(headers.get("cc")),
        "reply_to": addresses(headers.get("reply-to")),
        "charset": body.charsets[0] if body.charsets else None,
        "defects": sorted(body.defects)[:10],
        "auto_reason": report.reason, "bounce": report.bounce,
    }.items() if v})
    if not found:
        meta["sender_missing"] = True
    parse_error = None
    if body.unclean and _mostly_garbage(text):
        parse_error = f"undecodable text (charset {', '.join(body.unclean)})"
    return InboundMessage(
        channel=CHANNEL, external_id=message_id or raw_sha256(raw),
        sender=Sender("email", address, name),
        created_at=parse_date(headers.get("date"), options.received_at),
        body_text=text, subject=subject[:500], body_html=html, thread_key=message_id,
        reply_to_keys=reply_to_keys, ticket_hint=find_ticket_token(subject), match_subject=True,
        raw=raw, raw_content_type=RAW_CONTENT_TYPE, attachments=tuple(body.attachments),
        parse_error=parse_error, auto_submitted=report.auto_submitted, meta=meta,
    )


def _mostly_garbage(text: str) -> bool:
    bad = text.count("\ufffd")
    return bad >= 8 and bad > len(text) // 10


_CRUDE_HEADER = re.compile(rb"^(message-id|from|subject|date)[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M)


def unreadable(raw: bytes, error: str, options: Optional[ParseOptions] = None,
               trust_headers: bool = True) -> InboundMessage:
    """The visible 'could not read this message' entry: crude headers, the raw kept.

    With trust_headers=False nothing of the message is used but its hash: an entry that
    ingest() cannot refuse, for a message whose headers themselves were refused."""
    options = options or ParseOptions()
    head = re.split(rb"\r?\n\r?\n", raw[:65536], maxsplit=1)[0]
    found: dict[str, str] = {}
    for match in _CRUDE_HEADER.finditer(head if trust_headers else b""):
        found.setdefault(match.group(1).decode().lower(), match.group(2).decode("ascii", "surrogateescape"))
    try:
        subject = strip_nul(decode_header(found.get("subject"))).strip()[:500]
        address, name, _found = find_sender(found)
    except Exception:  # noqa: BLE001 - the fallback itself must not fail
        subject, address, name = "", UNKNOWN_SENDER, ""
    message_id = normalise_message_id(found.get("message-id"))
    meta: dict[str, Any] = {"mailbox": options.mailbox} if options.mailbox else {}
    preview = detect(raw[len(head):len(head) + 2000]).text if len(raw) > len(head) else ""
    meta["preview"] = strip_nul(preview)[:500]
    return InboundMessage(
        channel=CHANNEL, external_id=message_id or raw_sha256(raw), sender=Sender("email", address, name),
        created_at=parse_date(found.get("date"), options.received_at), body_text="", subject=subject,
        thread_key=message_id, match_subject=False, raw=raw, raw_content_type=RAW_CONTENT_TYPE,
        parse_error=f"could not read this message: {error}"[:2000], meta=meta,
    )
