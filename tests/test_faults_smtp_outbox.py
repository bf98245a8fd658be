"""SMTP faults through the outbox against a real (aiosmtpd) server: the answer lost after DATA
(and, for contrast, before it), 4xx then success at each stage, 5xx at DATA visible to the agent.

Covered elsewhere: 451 at DATA then success and 550 at RCPT (tests/test_email_smtp.py); the bare
timeout-after-DATA rule also in tests/test_faults_smtp.py.
"""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxItem, utcnow
from app.outbox import deliver_due, retry
from tests.email_helpers import configure
from tests.test_email_smtp import queue_reply


def _slow_stage(smtp_server, stage: str, seconds: float) -> None:
    """Make the server take `seconds` to answer `stage`; at DATA it has ALREADY accepted the mail."""
    original = getattr(smtp_server, f"handle_{stage}")

    async def slow(*args):
        reply = await original(*args)  # DATA: the message is recorded (accepted) here
        await asyncio.sleep(seconds)
        return reply

    setattr(smtp_server, f"handle_{stage}", slow)


def _item() -> OutboxItem:
    db.session.expire_all()
    return db.session.scalar(select(OutboxItem))


def _due_now() -> None:
    item = _item()
    item.next_attempt_at = utcnow()
    db.session.commit()


def test_timeout_after_data_fails_visibly_and_is_never_resent_blindly(app, smtp_server, client, login_as,
                                                                       supervisor):
    configure(app, smtp=smtp_server, SMTP_TIMEOUT=1)
    reply = queue_reply()
    _slow_stage(smtp_server, "DATA", 2.5)

    assert deliver_due() == {"failed": 1}

    item = _item()
    assert item.status == "failed" and item.last_error.startswith("may have been sent — check before retrying")
    assert len(smtp_server.wait_for(1)) == 1  # the server did take it
    assert deliver_due() == {}  # nothing resends it on its own
    _due_now()
    assert deliver_due() == {} and len(smtp_server.messages) == 1

    login_as(supervisor)
    page = client.get(f"/tickets/{reply.ticket_id}").get_data(as_text=True)
    assert "may have been sent" in page  # the agent sees why, and decides


def test_timeout_before_data_is_retried_and_delivered_once(app, smtp_server):
    """The same timeout one step earlier (RCPT) cannot have delivered anything: it is retried."""
    configure(app, smtp=smtp_server, SMTP_TIMEOUT=1)
    queue_reply()
    _slow_stage(smtp_server, "RCPT", 2.0)
    assert deliver_due() == {"queued": 1}
    assert "SMTP failed" in _item().last_error and smtp_server.messages == []

    smtp_server.handle_RCPT = type(smtp_server).handle_RCPT.__get__(smtp_server)  # fast again
    _due_now()
    assert deliver_due() == {"sent": 1}
    assert len(smtp_server.wait_for(1)) == 1 and deliver_due() == {}


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_4xx_then_success_delivers_exactly_once(app, smtp_server, stage):
    configure(app, smtp=smtp_server)
    queue_reply()
    smtp_server.fail_next(2, code=421, text="4.7.0 too busy", stage=stage)
    for _ in range(2):
        assert deliver_due() == {"queued": 1}
        assert _item().last_error == "421 4.7.0 too busy"
        _due_now()
    assert deliver_due() == {"sent": 1}
    assert len(smtp_server.wait_for(1)) == 1 and _item().attempts == 3
    _due_now()
    assert deliver_due() == {} and len(smtp_server.messages) == 1


def test_5xx_at_data_fails_visibly_with_the_servers_answer(app, smtp_server, client, login_as, supervisor):
    configure(app, smtp=smtp_server)
    reply = queue_reply()
    smtp_server.fail_next(1, code=554, text="5.6.0 message content rejected", stage="DATA")
    assert deliver_due() == {"failed": 1}
    item = _item()
    assert item.status == "failed" and item.last_error == "554 5.6.0 message content rejected"
    assert smtp_server.messages == [] and deliver_due() == {}

    login_as(supervisor)
    page = client.get(f"/tickets/{reply.ticket_id}").get_data(as_text=True)
    assert "554 5.6.0 message content rejected" in page
    retry(item.id)  # the agent's explicit retry
    assert deliver_due() == {"sent": 1} and len(smtp_server.wait_for(1)) == 1
