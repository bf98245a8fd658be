"""LINE replies through the outbox: reply token first, push with one retry key across retries."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Message, OutboxItem, Ticket, utcnow
from app.outbox.service import deliver_due
from app.tickets.services import ActionRefused, add_reply
from tests.lineserver import line_app, lineserver, post_delivery  # noqa: F401


@pytest.fixture
def chat(line_app, lineserver, client):
    """A LINE customer who just wrote (reply token fresh) and the ticket it opened."""
    uid = lineserver.add_user("岡田 彩")
    post_delivery(client, lineserver.delivery(lineserver.text(uid, "クーポンが使えませんでした")))
    return db.session.scalar(select(Ticket)), uid


def _reply(agent, ticket: Ticket, text: str) -> int:
    return add_reply(agent, ticket, text, confirmed=True).id


def _item(message_id: int) -> OutboxItem:
    db.session.expire_all()
    return db.session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id))


def _due_now(message_id: int) -> None:
    item = _item(message_id)
    item.next_attempt_at = utcnow()
    db.session.commit()


def test_a_reply_within_the_minute_uses_the_free_reply_api(chat, lineserver, agent):
    ticket, uid = chat
    message_id = _reply(agent, ticket, "ご不便をおかけしました。新しいクーポンをお送りします。")
    assert deliver_due() == {"sent": 1}
    [sent] = lineserver.delivered
    assert sent.mode == "reply" and sent.texts == ["ご不便をおかけしました。新しいクーポンをお送りします。"]
    assert db.session.get(Message, message_id).meta["line_mode"] == "reply"


def test_the_reply_token_is_single_use_so_a_second_answer_is_pushed(chat, lineserver, agent):
    ticket, uid = chat
    _reply(agent, ticket, "確認いたします。")
    _reply(agent, ticket, "確認できました。")
    assert deliver_due() == {"sent": 2}
    assert [d.mode for d in lineserver.delivered] == ["reply", "push"]
    assert lineserver.delivered[1].to == uid and lineserver.delivered[1].retry_key


def test_after_the_minute_the_answer_is_a_push_with_a_retry_key(line_app, lineserver, client, agent):
    uid = lineserver.add_user("石井 蓮")
    post_delivery(client, lineserver.delivery(lineserver.text(uid, "昨日の件です", age=120)))
    ticket = db.session.scalar(select(Ticket))
    _reply(agent, ticket, "お待たせしました。")
    deliver_due()
    [push] = lineserver.requests_to("POST", "/push$")
    assert push.headers["x-line-retry-key"] and push.body["to"] == uid
    assert not lineserver.requests_to("POST", "/reply$")


def test_a_token_line_refuses_falls_back_to_push(chat, lineserver, agent):
    ticket, uid = chat
    message = db.session.scalar(select(Message).where(Message.direction == "in"))
    lineserver.tokens[message.meta["reply_token"]]["used"] = True  # e.g. used by another tool
    _reply(agent, ticket, "こちらから改めてご連絡します。")
    assert deliver_due() == {"sent": 1}
    assert [d.mode for d in lineserver.delivered] == ["push"]


def _pushing(line_app, lineserver, client, agent) -> int:
    uid = lineserver.add_user("森 大輔")
    post_delivery(client, lineserver.delivery(lineserver.text(uid, "返金について", reply_token=False)))
    return _reply(agent, db.session.scalar(select(Ticket)), "返金手続きを開始しました。")


def test_503_storm_is_retried_with_the_same_retry_key_and_delivers_once(line_app, lineserver, client, agent):
    message_id = _pushing(line_app, lineserver, client, agent)
    lineserver.script("POST", "/push$", 503, times=2)
    for _ in range(3):
        deliver_due()
        _due_now(message_id)
    keys = {r.headers["x-line-retry-key"] for r in lineserver.requests_to("POST", "/push$")}
    assert len(lineserver.requests_to("POST", "/push$")) == 3 and len(keys) == 1
    assert len(lineserver.delivered) == 1 and _item(message_id).status == "sent"


def test_429_is_retried_later(line_app, lineserver, client, agent):
    message_id = _pushing(line_app, lineserver, client, agent)
    lineserver.script("POST", "/push$", 429)
    assert deliver_due() == {"queued": 1}
    assert "429" in _item(message_id).last_error and _item(message_id).next_attempt_at > utcnow()
    _due_now(message_id)
    assert deliver_due() == {"sent": 1} and len(lineserver.delivered) == 1


def test_a_lost_answer_is_retried_with_the_same_key_and_409_counts_as_delivered(line_app, lineserver, client, agent):
    message_id = _pushing(line_app, lineserver, client, agent)
    lineserver.script("POST", "/push$", 200, delay=1.6, after_accept=True)  # delivered, answer too late
    assert deliver_due() == {"queued": 1}
    assert "ReadTimeout" in _item(message_id).last_error
    _due_now(message_id)
    assert deliver_due() == {"sent": 1}
    first, second = lineserver.requests_to("POST", "/push$")
    assert first.headers["x-line-retry-key"] == second.headers["x-line-retry-key"] and second.status == 409
    assert len(lineserver.delivered) == 1
    meta = db.session.get(Message, message_id).meta
    assert meta["recovered"] is True and meta["line_request_id"]


def test_a_5xx_after_delivery_never_delivers_twice(line_app, lineserver, client, agent):
    message_id = _pushing(line_app, lineserver, client, agent)
    lineserver.script("POST", "/push$", 500, after_accept=True)
    deliver_due()
    _due_now(message_id)
    deliver_due()
    assert len(lineserver.delivered) == 1 and _item(message_id).status == "sent"


def test_a_400_fails_with_lines_reason(line_app, lineserver, client, agent):
    message_id = _pushing(line_app, lineserver, client, agent)
    lineserver.script("POST", "/push$", 400)
    assert deliver_due() == {"failed": 1}
    assert "LINE API 400" in _item(message_id).last_error


def test_a_reply_to_a_customer_who_blocked_us_is_refused_up_front(chat, lineserver, client, agent):
    ticket, uid = chat
    post_delivery(client, lineserver.delivery(lineserver.event(uid, "unfollow")))
    db.session.expire_all()
    with pytest.raises(ActionRefused) as refused:
        add_reply(agent, db.session.get(Ticket, ticket.id), "届いていますか？", confirmed=True)
    assert "blocked" in refused.value.message % refused.value.params
    assert not lineserver.requests_to("POST", "/v2/bot/message/")


def test_the_composer_says_reply_or_push(chat, lineserver, client, agent, login_as):
    ticket, uid = chat
    login_as(agent)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'data-line-send-mode="reply"' in page
    message = db.session.scalar(select(Message).where(Message.direction == "in"))
    message.meta = {**message.meta, "reply_token_expires_at": "2020-01-01T00:00:00+00:00"}
    db.session.commit()
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'data-line-send-mode="push"' in page


def test_supervisors_see_the_quota_with_a_warning_near_the_limit(line_app, lineserver, client, supervisor, login_as):
    lineserver.quota, lineserver.used_before = 200, 185
    login_as(supervisor)
    page = client.get("/line/status").get_data(as_text=True)
    assert "data-line-quota-warning" in page and "185" in page and "/hooks/line" in page
    lineserver.used_before = 20
    assert "data-line-quota-warning" not in client.get("/line/status").get_data(as_text=True)


def test_agents_do_not_see_the_quota_page(line_app, client, agent, login_as):
    login_as(agent)
    assert client.get("/line/status").status_code in (302, 403)


def test_a_reply_whose_answer_is_lost_is_unverified_not_pushed_again(chat, lineserver, agent):
    ticket, uid = chat
    message_id = _reply(agent, ticket, "本日発送いたしました。")
    lineserver.script("POST", "/reply$", 200, delay=1.6, after_accept=True)
    assert deliver_due() == {"unverified": 1}
    assert "single-use" in _item(message_id).last_error
    assert [d.mode for d in lineserver.delivered] == ["reply"] and not lineserver.requests_to("POST", "/push$")


def test_the_ticket_page_shows_the_customer_blocked_us(chat, lineserver, client, agent, login_as):
    ticket, uid = chat
    post_delivery(client, lineserver.delivery(lineserver.event(uid, "unfollow")))
    login_as(agent)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Blocked our LINE account" in page or "LINE公式アカウントをブロック中" in page


def test_macros_fill_in_the_line_customer_and_the_reply_check_asks_before_a_line_reply(chat, lineserver, client,
                                                                                        agent, login_as):
    """Macros and the 薬機法 reply check apply on LINE like on every channel (issue 23)."""
    from app.models import Event, Macro
    from app.tickets.services import ConfirmationNeeded

    ticket, uid = chat
    macro = Macro(title="お詫び", language="ja", body="{customer_name}、お問い合わせ番号 {ticket_number} で承りました。")
    db.session.add(macro)
    db.session.commit()
    login_as(agent)
    rendered = client.get(f"/macros/{macro.id}/render?ticket_id={ticket.id}").get_json()
    assert rendered["text"] == f"岡田 彩 様、お問い合わせ番号 {ticket.id} で承りました。"
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "data-macro-open" in page and 'data-reply-check="1"' in page
    with pytest.raises(ConfirmationNeeded) as asked:
        add_reply(agent, ticket, "このサプリで肌荒れが治ります。")
    assert [h.term for h in asked.value.hits] == ["治ります"]
    assert not lineserver.requests_to("POST", "/v2/bot/message/") and deliver_due() == {}
    response = client.post(f"/tickets/{ticket.id}/reply", data={"body": "飲むだけで必ず効きます！", "status_after": "pending"})
    assert response.status_code == 409 and "効きます" in response.get_data(as_text=True)
    add_reply(agent, db.session.get(Ticket, ticket.id), "このサプリで肌荒れが治ります。", confirmed=True)
    assert db.session.scalar(select(Event).where(Event.kind == "reply.compliance_confirmed")).data["words"] == ["治ります"]
    assert deliver_due() == {"sent": 1} and lineserver.delivered[0].texts == ["このサプリで肌荒れが治ります。"]
