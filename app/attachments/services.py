"""Lookups and the safety rules for serving customer-supplied files and HTML.

Everything a customer sent is hostile: an SVG or HTML attachment opened in our origin is stored
XSS, so downloads are always `attachment`, `nosniff`, and scriptable types become octet-stream.
Only raster images are ever shown inline, and only when their bytes look like what they claim.
"""
from __future__ import annotations

import base64
import html as htmllib
import re
from typing import Optional

from flask import abort
from sqlalchemy.orm import undefer

from app.auth.access import get_ticket_for
from app.extensions import db
from app.models import Agent, Attachment, Message

#: Types a browser could execute or render as a document: always downloaded as octet-stream.
_ACTIVE = re.compile(r"(html|xml|svg|javascript|ecmascript|x-sh|pdf|flash|x-msdownload)", re.I)
#: Raster images we render inline, with their magic bytes.
INLINE_TYPES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
#: Inline images embedded into the sandboxed email view as data: URIs up to this size.
MAX_EMBED_BYTES = 2 * 1024 * 1024
_CID_SRC = re.compile(r'src="cid:([^"]*)"', re.I)
_DATA_SRC = re.compile(r'\sdata-src="(https:[^"]*)"', re.I)


def attachment_for(agent: Agent, attachment_id: int) -> Attachment:
    """The attachment, or 404 unless `agent` may see its ticket."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        abort(404)
    get_ticket_for(agent, attachment.message.ticket_id)
    return attachment


def message_for(agent: Agent, message_id: int) -> Message:
    """The message, or 404 unless `agent` may see its ticket."""
    message = db.session.get(Message, message_id, options=[undefer(Message.body_html)])
    if message is None:
        abort(404)
    get_ticket_for(agent, message.ticket_id)
    return message


def download_type(content_type: str) -> str:
    """The Content-Type to send for a download: never one a browser would run."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if not ctype or "/" not in ctype or _ACTIVE.search(ctype) or ctype.startswith("multipart/"):
        return "application/octet-stream"
    return ctype


def inline_type(attachment: Attachment) -> Optional[str]:
    """The image type when the attachment may be shown inline (declared AND sniffed), else None."""
    ctype = (attachment.content_type or "").split(";")[0].strip().lower()
    magics = INLINE_TYPES.get(ctype)
    data = attachment.data
    if not magics or data is None or not any(data.startswith(m) for m in magics):
        return None
    if ctype == "image/webp" and data[8:12] != b"WEBP":
        return None
    return ctype


def download_name(attachment: Attachment) -> str:
    name = (attachment.filename or "").replace("\r", "").replace("\n", "").strip()
    return name or f"attachment-{attachment.id}"


def raw_download_name(message: Message) -> str:
    ext = "eml" if (message.raw.content_type or "").startswith("message/") else "json"
    return f"message-{message.id}.{ext}"


def email_document(message: Message, remote: bool) -> str:
    """The sanitised HTML of `message` as a standalone document for the sandboxed iframe.

    cid: images become data: URIs (the sandboxed frame has an opaque origin, so it could not
    send our session cookie to fetch them); remote images stay `data-src` unless `remote`.
    """
    body = message.body_html or ""
    by_cid = {}
    for a in message.attachments:
        if a.content_id:
            by_cid[a.content_id.strip("<>")] = a

    def cid(match: re.Match) -> str:
        attachment = by_cid.get(htmllib.unescape(match.group(1)).strip("<>"))
        if attachment is None or attachment.oversize or (attachment.size or 0) > MAX_EMBED_BYTES:
            return 'src=""'
        ctype = inline_type(attachment)
        if ctype is None:
            return 'src=""'
        return f'src="data:{ctype};base64,{base64.b64encode(attachment.data).decode()}"'

    body = _CID_SRC.sub(cid, body)
    if remote:
        body = _DATA_SRC.sub(lambda m: f' src="{m.group(1)}"', body)
    return ("<!doctype html><html><head><meta charset=\"utf-8\">"
            "<meta name=\"referrer\" content=\"no-referrer\">"
            "<title></title></head>"
            f"<body>{body}</body></html>")


def email_csp(remote: bool) -> str:
    images = "data: https:" if remote else "data:"
    return (f"default-src 'none'; img-src {images}; style-src 'unsafe-inline'; "
            "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox")
