"""Public replies out: outbox → POST /2/tweets on the local v2 server, rate limits, 5xx, 403s."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app import outbox
from app.channels.x.poller import poll_mentions
from app.channels.x.text import PublicReplyRefused, ensure_public_reply, validate_public_reply
from app.extensions import db
from app.models import Message, OutboxItem, Ticket, XUsage, utcnow
from tests.xserver import x_app, xserver  # noqa: F401


@pytest.fixture
def conversation(x_app, xserver):
    """A customer's post and their follow-up, polled into one ticket: (ticket, latest post)."""
    user = xserver.add_user("山田 花子", "hanako_y")
    root = xserver.add_post(user, "定期便が届きません")
    latest = xserver.add_post(user, "追跡番号も分かりません", reply_to=root["id"])
    assert poll_mentions(x_app.config, force=True).created == 2
    ticket = db.session.scalar(select(Ticket))
    return ticket, latest


def _queue(ticket: Ticket, text: str, reply_to: str | None) -> int:
    """What the reply service does: an outbound Message with in_reply_to_post_id, enqueued."""
    now = utcnow()
    message = Message(ticket_id=ticket.id, customer_id=ticket.customer_id, channel="x", direction="out",
                      body_text=text, created_at=now, received_at=now, reply_to_keys=[],
                      meta={"in_reply_to_post_id": reply_to} if reply_to else {})
    db.session.add(message)
    outbox.enqueue(message)
    db.session.commit()
    return message.id


def _item(message_id: int) -> OutboxItem:
    db.session.expire_all()
    return db.session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id))


def _due_now(message_id: int) -> None:
    """Skip the wait the outbox scheduled (instead of sleeping through it)."""
    item = _item(message_id)
    item.next_attempt_at = utcnow()
    db.session.commit()


def test_reply_is_posted_in_reply_to_the_latest_post(conversation, xserver):
    ticket, latest = conversation
    message_id = _queue(ticket, "ご不便をおかけしております。確認いたします。", latest["id"])

    assert outbox.deliver_due() == {"sent": 1}

    posts = xserver.requests_to("POST", "/2/tweets$")
    assert len(posts) == 1 and posts[0].json["reply"] == {"in_reply_to_tweet_id": latest["id"]}
    assert posts[0].auth == "OAuth "  # user context, signed for the rewritten URL
    message = db.session.get(Message, message_id)
    new_id = xserver.our_posts()[0]["id"]
    assert message.external_id == new_id
    assert message.meta["url"] == f"https://x.com/tsunagu_shop/status/{new_id}"
    assert _item(message_id).result["post_id"] == new_id
    assert db.session.scalar(select(XUsage.writes)) == 1


def test_the_customers_answer_to_our_reply_stays_in_the_ticket(conversation, xserver, x_app):
    ticket, latest = conversation
    _queue(ticket, "お調べします。", latest["id"])
    outbox.deliver_due()
    ours = xserver.our_posts()[0]
    answer = xserver.add_post(latest["author_id"], "ありがとうございます", reply_to=ours["id"])

    poll_mentions(x_app.config, force=True)

    assert db.session.scalar(select(Message.ticket_id).where(Message.external_id == answer["id"])) == ticket.id


@pytest.mark.parametrize("with_headers", [True, False], ids=["reset-header", "no-headers"])
def test_429_waits_then_posts_once(conversation, xserver, with_headers):
    ticket, latest = conversation
    xserver.script("POST", "/2/tweets$", 429, headers=with_headers, reset_in=120)
    message_id = _queue(ticket, "確認いたします。", latest["id"])

    assert outbox.deliver_due() == {"queued": 1}

    item = _item(message_id)
    wait = (item.next_attempt_at - utcnow()).total_seconds()
    if with_headers:
        assert 110 < wait < 130  # until x-rate-limit-reset
    else:
        assert 20 < wait < 40  # the outbox's own backoff when X gives no reset time
    assert "429" in item.last_error and outbox.deliver_due() == {}  # not due yet
    _due_now(message_id)
    assert outbox.deliver_due() == {"sent": 1}
    assert len(xserver.our_posts()) == 1


def test_503_storm_then_success_posts_once(conversation, xserver):
    ticket, latest = conversation
    xserver.script("POST", "/2/tweets$", 503, times=3)
    message_id = _queue(ticket, "大変お待たせしております。", latest["id"])

    for _ in range(3):
        assert outbox.deliver_due() == {"queued": 1}
        assert "503" in _item(message_id).last_error
        _due_now(message_id)
    assert outbox.deliver_due() == {"sent": 1}

    assert len(xserver.our_posts()) == 1 and _item(message_id).attempts == 4


def test_lost_answer_then_duplicate_403_finds_the_post_instead_of_failing(conversation, xserver):
    ticket, latest = conversation
    xserver.script("POST", "/2/tweets$", 503, after_create=True)  # X posted it, the answer was lost
    message_id = _queue(ticket, "返品の手続きをご案内します。", latest["id"])
    assert outbox.deliver_due() == {"queued": 1}
    _due_now(message_id)

    assert outbox.deliver_due() == {"sent": 1}

    assert len(xserver.our_posts()) == 1
    assert xserver.requests_to("POST", "/2/tweets$")[-1].status == 403  # the duplicate refusal
    message = db.session.get(Message, message_id)
    assert message.meta["post_id"] == xserver.our_posts()[0]["id"] and message.meta["recovered"] is True


def test_duplicate_of_a_post_elsewhere_fails_with_xs_reason(conversation, xserver):
    ticket, latest = conversation
    other = xserver.add_post(xserver.add_user("別の人", "other"), "別件")
    first = _queue(ticket, "ありがとうございます。", other["id"])
    outbox.deliver_due()
    assert _item(first).status == "sent"
    second = _queue(ticket, "ありがとうございます。", latest["id"])

    assert outbox.deliver_due() == {"failed": 1}

    assert "duplicate content" in _item(second).last_error and len(xserver.our_posts()) == 1


def test_reply_to_a_deleted_post_fails_with_xs_reason(conversation, xserver):
    ticket, latest = conversation
    message_id = _queue(ticket, "確認いたします。", "1234567890123")

    assert outbox.deliver_due() == {"failed": 1}

    assert "deleted or not visible" in _item(message_id).last_error
    assert xserver.our_posts() == []


def test_over_long_japanese_reply_is_refused_on_the_server(conversation, xserver):
    text = "お問い合わせありがとうございます。" * 9  # 153 characters, 306 by X's count
    problems = validate_public_reply(text)
    assert [p.code for p in problems] == ["too_long"] and "306" in problems[0].message
    with pytest.raises(ValueError, match="280"):
        ensure_public_reply(text)

    ticket, latest = conversation
    message_id = _queue(ticket, text, latest["id"])  # a row that bypassed the form is refused too
    assert outbox.deliver_due() == {"failed": 1}
    assert "280" in _item(message_id).last_error and xserver.requests_to("POST", "/2/tweets$") == []


def test_personal_data_in_a_queued_reply_is_never_posted(conversation, xserver):
    ticket, latest = conversation
    message_id = _queue(ticket, "お電話ください 090-1234-5678", latest["id"])

    assert outbox.deliver_due() == {"failed": 1}

    assert "090-1234-5678" in _item(message_id).last_error
    assert xserver.requests_to("POST", "/2/tweets$") == []


def test_missing_post_to_reply_to_is_a_clear_failure(conversation):
    ticket, _ = conversation
    message_id = _queue(ticket, "確認いたします。", None)
    assert outbox.deliver_due() == {"failed": 1}
    assert "in_reply_to_post_id" in _item(message_id).last_error


def test_refusal_carries_the_private_channel_template():
    with pytest.raises(PublicReplyRefused) as refused:
        ensure_public_reply("ご注文番号：12345678 の件、info@shop.example までご連絡ください")
    assert {p.code for p in refused.value.problems} >= {"order", "email", "private_channel"}
    assert "詳細はDMにてお伺いいたします" in refused.value.template


def test_two_identical_queued_replies_post_once_and_both_settle(conversation, xserver):
    ticket, latest = conversation
    first = _queue(ticket, "承知しました。", latest["id"])
    second = _queue(ticket, "承知しました。", latest["id"])  # a double submit

    assert outbox.deliver_due() == {"sent": 2}

    assert len(xserver.our_posts()) == 1
    assert _item(first).result["post_id"] == _item(second).result["post_id"]


def test_duplicate_403_whose_post_cannot_be_looked_up_is_probably_sent_never_queued(conversation, xserver):
    """The answer to our post was lost, and the look-up of our timeline answers 404: the row is
    'unverified' ("probably sent — check") at once, not queued for ever, and is never posted again."""
    ticket, latest = conversation
    xserver.script("POST", "/2/tweets$", 503, after_create=True)  # X posted it, the answer was lost
    xserver.script("GET", r"/2/users/\d+/tweets$", 404, times=50)
    message_id = _queue(ticket, "ご不便をおかけし申し訳ございません。", latest["id"])
    assert outbox.deliver_due() == {"queued": 1}
    _due_now(message_id)

    assert outbox.deliver_due() == {"unverified": 1}

    item = _item(message_id)
    assert item.status == "unverified" and item.claimed_by is None
    assert "duplicate" in item.last_error and "looking for our earlier post failed" in item.last_error
    _due_now(message_id)
    assert outbox.deliver_due() == {}  # never claimed again
    assert outbox.deliver_item(item.id) == "unverified"  # nor sent by a direct call
    assert len(xserver.requests_to("POST", "/2/tweets$")) == 2 and len(xserver.our_posts()) == 1
    assert db.session.get(Message, message_id).delivery_status == "unverified"


def test_duplicate_403_with_our_post_beyond_the_recent_page_is_probably_sent(conversation, xserver):
    ticket, latest = conversation
    xserver.script("POST", "/2/tweets$", 503, after_create=True)
    message_id = _queue(ticket, "配送業者に確認いたします。", latest["id"])
    assert outbox.deliver_due() == {"queued": 1}
    for n in range(100):  # a busy account: our lost reply is no longer among the latest 100
        xserver.add_post(xserver.user_id, f"お知らせ {n}", mention_us=False)
    _due_now(message_id)

    assert outbox.deliver_due() == {"unverified": 1}

    assert "not among our recent posts" in _item(message_id).last_error
    assert len(xserver.requests_to("POST", "/2/tweets$")) == 2


def test_an_unverified_reply_shows_probably_sent_on_the_ticket(conversation, xserver, client, login_as, agent):
    ticket, latest = conversation
    xserver.script("POST", "/2/tweets$", 503, after_create=True)
    xserver.script("GET", r"/2/users/\d+/tweets$", 503, times=50)
    message_id = _queue(ticket, "返金の手続きを進めます。", latest["id"])
    outbox.deliver_due()
    _due_now(message_id)
    assert outbox.deliver_due() == {"unverified": 1}
    ticket.assignee_id = agent.id
    db.session.commit()
    login_as(agent)
    html = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "delivery-unverified" in html and "Retry" not in html.split("delivery-unverified", 1)[1][:600]
