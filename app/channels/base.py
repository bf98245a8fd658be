"""The channel adapter interface.

Adapters translate between a channel and Tsunagu's two shapes: they turn what arrives into
`InboundMessage`s (for `ingest()`) and deliver `OutboundMessage`s (for the outbox worker).
They never touch `db.session`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


class DeliveryError(Exception):
    """Base of delivery failures; `detail` is what the channel answered, shown to the agent."""

    def __init__(self, detail: str, retry_after: Optional[float] = None):
        super().__init__(detail)
        self.detail = detail
        #: Seconds the channel asked us to wait (rate limits), when it said.
        self.retry_after = retry_after


class TemporaryFailure(DeliveryError):
    """Try again later (connection refused, 4xx, 429, 5xx)."""


class PermanentFailure(DeliveryError):
    """Do not retry (5xx SMTP, 403 from X): the agent sees the reason and may retry by hand."""


class UnconfirmedDelivery(DeliveryError):
    """The channel says it already has this message (X's duplicate-content 403) but we could not
    find it: probably sent. Never retried nor resent; an agent checks (outbox status 'unverified')."""


@dataclass(frozen=True)
class OutboundAttachment:
    """A file an agent attached to an outbound message (its bytes stay in the database)."""

    id: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class OutboundMessage:
    """What the outbox hands an adapter: everything needed to deliver, no ORM objects."""

    message_id: int
    ticket_id: int
    channel: str
    #: Normalised identity value of the recipient (address, X user id...).
    to: str
    to_name: str
    subject: str
    body_text: str
    #: Our own key for this message (e.g. the email Message-ID we assigned).
    thread_key: Optional[str]
    #: Keys of earlier messages in the thread, oldest first (References / parent post).
    reply_to_keys: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    #: Files the agent attached (channels that send images: `max_images` > 0).
    attachments: tuple[OutboundAttachment, ...] = ()


@dataclass(frozen=True)
class DeliveryResult:
    external_id: Optional[str] = None
    meta: dict[str, Any] = field(default_factory=dict)


class ChannelAdapter:
    """One channel. Subclasses set the class attributes and override what they support."""

    #: Registry key, stored on messages and tickets.
    name: str = ""
    #: Identity kind of the people on this channel (email | phone | x).
    identity_kind: str = "email"
    #: Whether agents can reply on this channel through the outbox.
    can_reply: bool = False
    #: Why nothing is sent to an identity marked unreachable (`bouncing`; LINE: blocked), or None
    #: to send anyway (English; the reply path translates it).
    unreachable_refusal: Optional[str] = None
    #: How many images an agent may attach to a reply on this channel (0: none).
    max_images: int = 0

    def __init__(self, config: dict[str, Any]):
        self.config = config

    @classmethod
    def enabled(cls, config: dict[str, Any]) -> bool:
        """Whether the channel is configured (and its optional dependencies importable)."""
        return True

    @classmethod
    def image_refusal(cls, filename: str, content_type: str, data: bytes) -> Optional[str]:
        """Why this file cannot go out as an image on this channel (an N_ message with
        %(name)s), or None."""
        return None

    def deliver(self, outbound: OutboundMessage) -> DeliveryResult:
        raise PermanentFailure(f"channel {self.name!r} cannot send messages")
