"""Account mails (invitation, password reset) with a one-time set-password link.

Ticket replies go through the outbox, whose rows belong to a ticket's message; these mails
belong to no ticket, so they are sent once, after the commit, over the same SMTP settings.
When sending fails the admin is told, and the link is shown to them to pass on by hand.
"""
from __future__ import annotations

import logging
import smtplib
import socket
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Optional

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale, gettext as _

from app.channels.email.smtp import _connect
from app.models import Agent

log = logging.getLogger(__name__)


def set_password_url(token: str) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    path = url_for("admin.set_password", token=token)
    if base:
        return base.rstrip("/") + path
    return url_for("admin.set_password", token=token, _external=True) if has_request_context() else path


def send_password_link(agent: Agent, token: str, invitation: bool) -> Optional[str]:
    """Mail `agent` their set-password link; None when the SMTP server took it, else the reason."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        return "SMTP_HOST is not configured"
    url = set_password_url(token)
    with force_locale(agent.locale or "ja"):
        if invitation:
            subject = _("You are invited to Tsunagu")
            body = _("Hello %(name)s,\n\nan account on Tsunagu was created for you (%(email)s). "
                     "Choose your password here (the link works once, for three days):\n\n%(url)s\n",
                     name=agent.name, email=agent.email, url=url)
        else:
            subject = _("Set a new Tsunagu password")
            body = _("Hello %(name)s,\n\nan admin reset your Tsunagu password. Choose a new one here "
                     "(the link works once, for three days):\n\n%(url)s\n", name=agent.name, url=url)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((config.get("MAIL_FROM_NAME") or "", config["MAIL_FROM"]))
    message["To"] = formataddr((agent.name, agent.email))
    message["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    try:
        smtp = _connect(config)
        try:
            smtp.send_message(message, from_addr=config["MAIL_FROM"], to_addrs=[agent.email])
        finally:
            smtp.close()
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:
        log.warning("account mail to agent %s failed: %s", agent.id, exc)
        return f"{type(exc).__name__}: {exc}"
    return None
