"""Email channel: IMAP in (imapclient), SMTP out.

Modules: charsets (Japanese-safe decoding), sanitize (nh3), mime (raw bytes -> InboundMessage),
reports (auto-replies, bounces), imap (fetching, no DB), poller (one mailbox poll: raw first,
cursor committed with the batch), runner (threads, worker job, IDLE), smtp (delivery),
autoack (optional acknowledgement), cli (`flask poll email`).
"""
from app.channels.base import ChannelAdapter, DeliveryResult, OutboundMessage
from app.channels.registry import register


@register
class EmailChannel(ChannelAdapter):
    name = "email"
    identity_kind = "email"
    can_reply = True

    @classmethod
    def enabled(cls, config) -> bool:
        return bool(config.get("SMTP_HOST") or config.get("IMAP_HOST") or config.get("EMAIL_MAILBOXES"))

    def deliver(self, outbound: OutboundMessage) -> DeliveryResult:
        from app.channels.email.smtp import send

        return send(outbound, self.config)
