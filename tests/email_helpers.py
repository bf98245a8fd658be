"""Helpers shared by tests/test_email_*.py: point the app at the test Dovecot/aiosmtpd, poll."""
from __future__ import annotations

from sqlalchemy import func, select

from app.channels.email.imap import mailboxes
from app.channels.email.poller import PollResult, poll_mailbox
from app.extensions import db
from app.models import Message


def mailbox_entry(dovecot, folder: str = "INBOX", key: str | None = None, **extra) -> dict:
    return {"key": key or f"{dovecot.user}/{folder}", "host": dovecot.host, "port": dovecot.port,
            "user": dovecot.user, "password": dovecot.password, "ssl": False, "folder": folder,
            "timeout": 10, **extra}


def configure(app, dovecot=None, smtp=None, *, folders=("INBOX",), **overrides) -> None:
    """Configure the email channel for the test servers (plain IMAP/SMTP on loopback)."""
    config = {"EMAIL_BATCH_SIZE": 50, "MAIL_FROM": "support@tsunagu.test"}
    if dovecot is not None:
        config["EMAIL_MAILBOXES"] = [mailbox_entry(dovecot, f) for f in folders]
    if smtp is not None:
        config.update(SMTP_HOST=smtp.host, SMTP_PORT=smtp.port, SMTP_SECURITY="none", SMTP_USER=None,
                      SMTP_TIMEOUT=10)
    config.update(overrides)
    app.config.update(config)


def poll(app, **kwargs) -> list[PollResult]:
    """Poll every configured mailbox once, in this thread; fail on a poll error."""
    results = [poll_mailbox(box, **kwargs) for box in mailboxes(app.config)]
    for result in results:
        assert result.error is None, result.error
    return results


def count(model=Message, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def inbound(external_id: str) -> Message:
    message = db.session.scalar(select(Message).where(Message.channel == "email",
                                                      Message.external_id == external_id))
    assert message is not None, f"no message {external_id}"
    return message
