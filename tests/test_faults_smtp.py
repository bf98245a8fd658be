"""SMTP fault: the server takes the whole message, then its answer never arrives (timeout after
DATA). The message may have been accepted, so the outbox must not resend it by itself: it fails
visibly ("outcome unknown") and an agent decides. Nothing is sent twice."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxItem
from app.outbox import deliver_due
from tests.email_helpers import configure
from tests.servers.smtp import SmtpServer
from tests.test_email_smtp import queue_reply


class SlowAfterData(SmtpServer):
    """Stores the message, then answers DATA only after `delay` seconds."""

    delay = 2.5

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.delay)
        return reply


@pytest.fixture
def slow_smtp():
    server = SlowAfterData()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_timeout_after_data_is_not_resent(app, slow_smtp):
    configure(app, smtp=slow_smtp, SMTP_TIMEOUT=1)
    queue_reply()
    outcome = deliver_due()
    assert outcome == {"failed": 1}, outcome
    item = db.session.scalar(select(OutboxItem))
    assert item.status == "failed" and "may have been sent" in item.last_error
    assert len(slow_smtp.wait_for(1)) == 1
    assert deliver_due() == {}                      # nothing retried behind the agent's back
    assert len(slow_smtp.messages) == 1             # delivered once, never twice
