"""The normalised shape every channel turns its input into."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from app.ingest.identity import Sender


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    data: Optional[bytes]  #: None when over the size limit (kept in the raw source only)
    size: int
    content_id: Optional[str] = None
    oversize: bool = False


@dataclass(frozen=True)
class InboundMessage:
    """A message as a channel received it, before Tsunagu decides where it belongs."""

    channel: str
    #: The channel's id for the message: the dedupe key together with `channel`.
    external_id: str
    sender: Sender
    created_at: datetime
    body_text: str = ""
    subject: str = ""
    #: Already sanitised HTML, or None.
    body_html: Optional[str] = None
    #: Key later replies will cite (Message-ID, X conversation id).
    thread_key: Optional[str] = None
    #: Keys this message replies to, most specific first (In-Reply-To, References, parent post).
    reply_to_keys: tuple[str, ...] = ()
    #: Ticket number the channel found (e.g. "[#1234]" in a subject).
    ticket_hint: Optional[int] = None
    #: Whether a same-subject open ticket of this customer may be joined (carrier mail drops
    #: In-Reply-To); channels whose subjects are meaningless leave it False.
    match_subject: bool = False
    raw: Optional[bytes] = None
    raw_content_type: str = "application/octet-stream"
    attachments: tuple[InboundAttachment, ...] = ()
    #: Why the channel could not read the message; it is still stored and shown.
    parse_error: Optional[str] = None
    #: Auto-reply, bounce, bulk mail: stored and shown, never acknowledged.
    auto_submitted: bool = False
    #: 'in' for customer messages; a channel may also report our own sent posts as 'out'.
    direction: str = "in"
    #: Imported history (a mailbox's mail from before Tsunagu): stored, threaded and indexed,
    #: but its ticket is closed and only "message.imported" is published (no acknowledgement,
    #: SLA clock, live event or intent alert).
    history: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    #: created | duplicate
    status: str
    message_id: int
    ticket_id: int
    customer_id: int
    ticket_created: bool = False
    ticket_reopened: bool = False
    customer_created: bool = False
