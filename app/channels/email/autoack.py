"""Optional acknowledgement of a new email ticket, with its number (EMAIL_AUTO_ACK).

Subscribed to `message.ingested`, which is published after the ingest commit. It answers only
a new ticket's first inbound email, never an auto-reply, bounce or bulk mail, never our own
addresses (MAIL_FROM, any configured mailbox), and at most once per customer per ACK_WINDOW, so
two auto-responders cannot loop. The acknowledgement is an ordinary outbound Message in the
outbox (sent by the worker), marked Auto-Submitted: auto-replied and meta {'auto_ack': True}.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app import bus
from app.extensions import db
from app.ingest.identity import own_addresses
from app.models import Message, Ticket, utcnow

log = logging.getLogger(__name__)
ACK_WINDOW = timedelta(minutes=10)


def _recently_acknowledged(customer_id: int) -> bool:
    recent = db.session.scalars(
        select(Message).where(Message.customer_id == customer_id, Message.direction == "out",
                              Message.channel == "email", Message.created_at >= utcnow() - ACK_WINDOW)
        .order_by(Message.created_at.desc()).limit(10))
    return any((m.meta or {}).get("auto_ack") for m in recent)


def acknowledge(message_id: int, ticket_id: int, customer_id: int, ticket_created: bool = False,
                channel: str = "", direction: str = "in", auto_submitted: bool = False, **_ignored) -> None:
    """Queue the acknowledgement for a new email ticket, when configured and appropriate."""
    config = current_app.config
    if channel != "email" or direction != "in" or not ticket_created or auto_submitted:
        return
    if not config.get("EMAIL_AUTO_ACK"):
        return
    inbound = db.session.get(Message, message_id)
    if inbound is None or inbound.auto_submitted or (inbound.meta or {}).get("sender_missing"):
        return
    identity = inbound.customer.identity("email")
    if identity is None or identity.bouncing or identity.value in own_addresses():
        return
    if _recently_acknowledged(customer_id):
        return
    from app.channels.email.smtp import generate_message_id
    from app.outbox import enqueue

    ticket = db.session.get(Ticket, ticket_id)
    subject = f"Re: {ticket.subject}" if ticket.subject else config["EMAIL_AUTO_ACK_SUBJECT"]
    # Outbound keys run oldest first (base.OutboundMessage); inbound ones most specific first.
    keys = [*reversed(inbound.reply_to_keys or []), *([inbound.thread_key] if inbound.thread_key else [])]
    ack = Message(ticket_id=ticket_id, customer_id=customer_id, channel="email", direction="out",
                  subject=subject[:500], body_text=config["EMAIL_AUTO_ACK_TEXT"].format(ticket_id=ticket_id),
                  thread_key=generate_message_id(config), reply_to_keys=keys[-20:],
                  sender=config.get("MAIL_FROM_NAME") or config.get("MAIL_FROM") or "",
                  meta={"auto_ack": True, "auto_submitted": True})
    try:
        db.session.add(ack)
        enqueue(ack)
        db.session.commit()
    except Exception:
        db.session.rollback()  # leave the publisher's session clean; the bus logs the error
        raise
    log.info("auto-acknowledgement queued for ticket %s", ticket_id)


bus.subscribe("message.ingested", acknowledge)
