"""Raw RFC 5322 bytes -> InboundMessage: structure, text, attachments, auto-reply and bounces.

`parse_message()` never raises: a message the parser cannot handle (a MIME bomb, a bug) becomes
an InboundMessage with `parse_error` set and its raw bytes attached, so it is stored and shown as
"could not read this message" instead of halting the mailbox. Bytes->text goes through
charsets.py, HTML through sanitize.py, DSN/auto-reply recognition through reports.py, and the
byte-level repairs real mail needs (a malformed header line, odd transfer encodings, uuencode)
through repair.py. Text that decodes but reads as mojibake is kept and flagged (parse_error).

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
from email import errors, policy
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import unquote
from typing import Any, Optional

from app.channels.email import reports
from app.channels.email.charsets import decode_bytes, decode_header, detect, garbled, raw_bytes, strip_nul
from app.channels.email.headers import (UNKNOWN_SENDER, addresses, message_ids, normalise_message_id,
                                        parse_date)
from app.channels.email.headers import sender as find_sender
from app.channels.email.repair import (normalise_cte, repair_header_block, split_uuencoded,
                                       unglue_close_delimiter)
from app.channels.email.sanitize import html_to_text, sanitize_html_capped
from app.ingest.identity import Sender
from app.ingest.threading import find_ticket_token
from app.ingest.types import InboundAttachment, InboundMessage

CHANNEL = "email"
RAW_CONTENT_TYPE = "message/rfc822"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: A content type is printable ASCII; anything else (8-bit bytes kept as surrogates by the parser,
#: NUL that PostgreSQL refuses) is dropped.
_NOT_TOKEN = re.compile(r"[^\x21-\x7e]")
_PART_HEAD = re.compile(rb"\n?content-", re.I)
_BOUNDARY_LINE = re.compile(rb"^--([^\s](?:[^\r\n]{0,68}[^\s])??)(?:--)?[ \t]*\r?$", re.M)


_UNFOLD = re.compile(r"\r?\n(?=[ \t])")
_MIME_FIELDS = ("content-type", "content-disposition")


class _RawHeaderPolicy(EmailPolicy):
    """policy.default, but `msg[name]` is the raw header string (as with compat32).

    Content-Type and Content-Disposition come unfolded (RFC 5322 2.2.3: only the CRLF goes), so a
    boundary or file name folded inside its quotes, as Outlook 2000 wrote it, is one value; the
    Content-Transfer-Encoding comes as its bare token (`Base64 ` -> `base64`), which is what
    get_payload(decode=True) compares against."""

    def header_fetch_parse(self, name, value):
        lowered = name.lower()
        if lowered in _MIME_FIELDS and "\n" in value:
            return _UNFOLD.sub("", value).replace("\r", "").replace("\n", " ")
        if lowered == "content-transfer-encoding":
            return normalise_cte(value)
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
    value = (part.get_param("filename", None, "content-disposition") or part.get_param("name", None)
             or part.get_param("name", None, "content-disposition")
             or part.get_param("file", None, "content-disposition") or part.get_param("file", None))
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
    return _safe_name(name)


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
    candidates = []
    declared = part.get_boundary()
    if declared and re.search(r"\s", declared):
        # A fold inside the quoted boundary whose blank the boundary lines do not have.
        candidates.append(re.sub(r"\s", "", declared).encode("ascii", "surrogateescape"))
    # A line of dashes in the text is no boundary: a found one must open a part with headers.
    candidates += [m.group(1) for m in _BOUNDARY_LINE.finditer(data, 0, 65536)
                   if _PART_HEAD.match(data, m.end() + 1)][:5]
    for candidate in dict.fromkeys(candidates):
        if data.count(b"--" + candidate) < 2 or b'"' in candidate:
            continue
        boundary = candidate.decode("ascii", "surrogateescape")
        reparsed = _parser.parsebytes(
            f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\r\n\r\n'.encode(
                "ascii", "surrogateescape") + data)
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
        # Only containers' payloads are read here: get_payload() of a text part decodes it with
        # its charset parameter, which raises when that parameter holds 8-bit bytes.
        payload = part.get_payload() if part.is_multipart() else None
        if ctype.startswith("multipart/"):
            if isinstance(payload, list):
                if any(isinstance(d, errors.CloseBoundaryNotFoundDefect) for d in part.defects):
                    unglue_close_delimiter(part, payload)
                if ctype == "multipart/alternative":
                    payload = _chosen_alternatives(payload)
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
            data = part.get_payload(decode=True) or b""
            if ctype == "text/plain":
                data, files = split_uuencoded(data)
                for name, content in files:
                    _attachment(part, body, options, filename=_safe_name(decode_header(
                        name.decode("ascii", "surrogateescape"))), data=content)
            text = _text(data, part.get_content_charset(), body)
            (body.plain if ctype == "text/plain" else body.html).append(text)
        else:
            _attachment(part, body, options, filename=filename)


def _is_body_text(part, ctype: str) -> bool:
    return part.get_content_type() == ctype and part.get_content_disposition() != "attachment" \
        and not _filename(part)


def _is_empty(part) -> bool:
    return not part.is_multipart() and not (part.get_payload(decode=True) or b"").strip()


def _chosen_alternatives(parts: list) -> list:
    """RFC 2046 5.1.4: alternatives come in increasing order of preference, so of several
    text/plain (or text/html) alternatives only the last is shown; other parts stay."""
    last = {}
    for index, part in enumerate(parts):
        for ctype in ("text/plain", "text/html"):
            if _is_body_text(part, ctype) and (ctype not in last or not _is_empty(part)):
                last[ctype] = index
    keep = set(last.values())
    return [part for index, part in enumerate(parts)
            if index in keep or not (_is_body_text(part, "text/plain") or _is_body_text(part, "text/html"))]


def _safe_name(name: str) -> Optional[str]:
    name = _CONTROL.sub("_", name).replace("/", "_").replace("\\", "_").strip().strip(".")
    return name[-250:] or None


def _limit(text: str, limit: int, meta: dict) -> str:
    if len(text) > limit:
        meta["truncated"] = True
        return text[:limit]
    return text


def _parse(raw: bytes, options: ParseOptions) -> InboundMessage:
    repaired, fixed_lines = repair_header_block(raw)
    msg = _parser.parsebytes(repaired)
    headers = _headers(msg)
    meta: dict[str, Any] = {}
    body = _Body()
    if fixed_lines:
        body.defects.add("MalformedHeaderLine")
    _walk(msg, body, options)

    message_id = normalise_message_id(headers.get("message-id"))
    subject = strip_nul(decode_header(headers.get("subject"))).strip()
    address, name, found = find_sender(headers)
    replies = message_ids(headers.get("in-reply-to")) + message_ids(headers.get("references"))[::-1]
    reply_to_keys = tuple(dict.fromkeys(k for k in replies if k != message_id))[:20]

    text = _limit("\n\n".join(t.strip("\n") for t in body.plain if t.strip()), options.max_body_chars, meta)
    html = None
    if body.html:
        html, cut = sanitize_html_capped("\n".join(body.html), 4 * options.max_body_chars)
        if cut:
            meta["truncated"] = True
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
    if garbled(text):
        labels = ", ".join(dict.fromkeys(body.unclean or body.charsets)) or "unknown"
        meta["garbled"] = True
        parse_error = f"the text looks garbled (charset {labels}); the original is attached"
    return InboundMessage(
        channel=CHANNEL, external_id=message_id or raw_sha256(raw),
        sender=Sender("email", address, name),
        created_at=parse_date(headers.get("date"), options.received_at),
        body_text=text, subject=subject[:500], body_html=html, thread_key=message_id,
        reply_to_keys=reply_to_keys, ticket_hint=find_ticket_token(subject), match_subject=True,
        raw=raw, raw_content_type=RAW_CONTENT_TYPE, attachments=tuple(body.attachments),
        parse_error=parse_error, auto_submitted=report.auto_submitted, meta=meta,
    )


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
