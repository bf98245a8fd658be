"""X faults against the local X API v2 server (tests/xserver.py) that tests/test_x_*.py leave out.

Already covered there: 429 with/without headers and 503 storms on POST (test_x_reply.py), a lost
answer (503 after create) recovered from the duplicate 403, a 503 on page two of a poll
(test_x_poll.py). Here: the same faults on the READ side (mention polling), and a real client
timeout after a POST that X completed.
"""
from __future__ import annotations

import time
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app import outbox
from app.channels.x.poller import MENTIONS, poll_mentions
from app.extensions import db
from app.models import ChannelState, Message, OutboxItem, utcnow
from tests.test_x_reply import _due_now, _item, _queue, conversation  # noqa: F401
from tests.xserver import x_app, xserver  # noqa: F401


def _poll(app):
    report = poll_mentions(app.config, force=True)
    db.session.remove()
    return report


def _state() -> ChannelState:
    return db.session.scalar(select(ChannelState).where(ChannelState.channel == MENTIONS))


def _stored_once(posts: list[dict]) -> None:
    ids = sorted(db.session.scalars(select(Message.external_id).where(Message.channel == "x",
                                                                      Message.direction == "in")))
    assert ids == sorted(p["id"] for p in posts)


@pytest.mark.parametrize("with_headers", [True, False], ids=["reset-header", "no-headers"])
def test_429_on_mention_polling_waits_and_loses_nothing(x_app, xserver, with_headers):
    user = xserver.add_user("佐藤 健", "ken_s")
    first = xserver.add_post(user, "注文の確認をお願いします")
    assert _poll(x_app).created == 1
    later = [xserver.add_post(user, f"追記 {i}") for i in range(7)]
    xserver.script("GET", "/mentions$", 429, headers=with_headers, reset_in=600)

    limited = _poll(x_app)

    assert limited.status == "error" and "429" in limited.detail
    state = _state()
    assert state.cursor["since_id"] == first["id"] and "429" in state.last_error
    wait = (datetime.fromisoformat(state.cursor["next_poll_at"]) - utcnow()).total_seconds()
    if with_headers:
        assert 590 < wait < 620  # until x-rate-limit-reset
    else:
        assert 0 < wait <= x_app.config["X_POLL_MAX_SECONDS"]  # the normal pace: X gave no reset time
    assert poll_mentions(x_app.config).status == "skipped"  # not due: no hammering

    again = _poll(x_app)
    assert again.status == "ok" and again.created == 7
    _stored_once([first, *later])
    assert _state().last_error is None


def test_503_storm_on_mention_polling_then_recovery(x_app, xserver):
    user = xserver.add_user("小林 美咲", "misaki")
    posts = [xserver.add_post(user, f"問い合わせ {i}") for i in range(12)]
    xserver.script("GET", "/mentions$", 503, times=4)

    for _ in range(4):
        report = _poll(x_app)
        assert report.status == "error" and "503" in _state().last_error
        assert db.session.scalar(select(func.count()).select_from(Message)) == 0

    recovered = _poll(x_app)
    assert recovered.status == "ok" and recovered.created == 12
    _stored_once(posts)
    assert _poll(x_app).created == 0
    _stored_once(posts)


def test_timeout_after_a_post_x_completed_is_recognised_as_sent(conversation, xserver, x_app):
    """The client gives up before X answers; X creates the post anyway. The retry's 'duplicate
    content' 403 is resolved by finding our post: sent once, not an error."""
    x_app.config["X_HTTP_TIMEOUT"] = 1
    ticket, latest = conversation

    def slow(req):  # X is slow to answer this POST, past our timeout; it still creates the post
        time.sleep(1.6)
        return True

    xserver.script("POST", "/2/tweets$", 201, after_create=True, when=slow)
    message_id = _queue(ticket, "お届け状況を確認いたします。", latest["id"])

    assert outbox.deliver_due() == {"queued": 1}
    assert "unreachable" in _item(message_id).last_error  # a timeout: outcome unknown, so it retries
    deadline = time.monotonic() + 10
    while not xserver.our_posts() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(xserver.our_posts()) == 1  # X did post it

    _due_now(message_id)
    assert outbox.deliver_due() == {"sent": 1}

    assert len(xserver.our_posts()) == 1
    assert xserver.requests_to("POST", "/2/tweets$")[-1].status == 403  # the duplicate refusal
    item = _item(message_id)
    assert item.status == "sent" and item.result["post_id"] == xserver.our_posts()[0]["id"]
    assert item.result["recovered"] is True
    _due_now(message_id)
    assert outbox.deliver_due() == {} and db.session.scalar(select(func.count()).select_from(OutboxItem)) == 1
