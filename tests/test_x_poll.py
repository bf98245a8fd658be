"""X mentions in: the real tweepy client against the local v2 server, through the one ingest path."""
from __future__ import annotations

import json
import logging

from sqlalchemy import func, select

from app.channels.x.budget import current_budget
from app.channels.x.poller import MENTIONS, poll_mentions
from app.extensions import db
from app.models import ChannelState, Event, Identity, Message, RawSource, Ticket, XUsage
from tests.xserver import ACCESS, BEARER, CONSUMER, ago, x_app, xserver  # noqa: F401


def _poll(app):
    report = poll_mentions(app.config, force=True)
    db.session.remove()
    return report


def _state(app) -> ChannelState:
    return db.session.scalar(select(ChannelState).where(ChannelState.channel == MENTIONS))


def _count(model=Message) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_first_poll_stores_mentions_with_identity_raw_json_and_cursor(x_app, xserver):
    hanako = xserver.add_user("山田 花子", "hanako_y")
    taro = xserver.add_user("佐藤 太郎", "sato_taro")
    first = xserver.add_post(hanako, "定期便の配送日を変更したいです & <至急>", created_at=ago(30))
    second = xserver.add_post(taro, "つなぐ茶の在庫はありますか？", created_at=ago(20))

    report = _poll(x_app)

    assert report.status == "ok" and report.created == 2 and report.fetched == 2
    assert _state(x_app).cursor["since_id"] == second["id"]
    msg = db.session.scalar(select(Message).where(Message.external_id == first["id"]))
    assert msg.channel == "x" and msg.direction == "in" and msg.subject == ""
    assert msg.body_text == "@tsunagu_shop 定期便の配送日を変更したいです & <至急>"  # X's &amp; &lt; undone
    assert msg.thread_key == first["conversation_id"] and msg.reply_to_keys == [first["conversation_id"]]
    assert msg.created_at.isoformat(timespec="seconds") == first["created_at"][:19] + "+00:00"
    assert msg.meta["author_handle"] == "hanako_y"
    assert msg.meta["url"] == f"https://x.com/hanako_y/status/{first['id']}"
    identity = db.session.scalar(select(Identity).where(Identity.kind == "x", Identity.value == hanako))
    assert identity.display == "@hanako_y" and identity.name == "山田 花子"
    raw = json.loads(db.session.get(RawSource, msg.raw_id).content)
    assert raw["data"]["id"] == first["id"] and raw["includes"]["users"][0]["username"] == "hanako_y"
    assert "&amp;" in raw["data"]["text"]  # the raw JSON is what X sent
    assert db.session.scalar(select(XUsage.reads)) == 2
    request = xserver.requests_to("GET", "/mentions$")[0]
    assert "since_id" not in request.args and request.args["expansions"] == "author_id"
    assert {"created_at", "conversation_id", "in_reply_to_user_id", "referenced_tweets"} <= set(
        request.args["tweet.fields"].split(","))


def test_incremental_poll_asks_since_id_and_stores_only_new_posts(x_app, xserver):
    user = xserver.add_user("鈴木 一郎", "ichiro")
    old = xserver.add_post(user, "最初の質問です")
    _poll(x_app)
    new = xserver.add_post(user, "別件でもう一つ質問です")

    report = _poll(x_app)

    assert xserver.requests_to("GET", "/mentions$")[-1].args["since_id"] == old["id"]
    assert report.fetched == 1 and report.created == 1 and report.duplicates == 0
    assert _state(x_app).cursor["since_id"] == new["id"]
    assert _poll(x_app).fetched == 0 and _count() == 2
    assert _state(x_app).cursor["since_id"] == new["id"]


def test_pagination_is_followed_before_the_cursor_moves(x_app, xserver):
    users = [xserver.add_user(f"客{i}", f"kyaku{i}") for i in range(4)]
    posts = [xserver.add_post(users[i % 4], f"問い合わせ {i}", created_at=ago(60 - i)) for i in range(12)]

    report = _poll(x_app)

    calls = xserver.requests_to("GET", "/mentions$")
    assert report.pages == 3 and len(calls) == 3
    assert "pagination_token" not in calls[0].args and calls[1].args["pagination_token"]
    assert report.created == 12 and _count() == 12
    assert _state(x_app).cursor["since_id"] == posts[-1]["id"]


def test_a_conversation_is_one_ticket(x_app, xserver):
    user = xserver.add_user("高橋 美咲", "misaki")
    root = xserver.add_post(user, "商品が破損して届きました", created_at=ago(10))
    _poll(x_app)
    xserver.add_post(user, "写真も送りますね", reply_to=root["id"], created_at=ago(5))
    xserver.add_post(user, "交換をお願いできますか", reply_to=root["id"], created_at=ago(4))
    other = xserver.add_post(user, "別の注文についてです", created_at=ago(3))

    _poll(x_app)

    tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert len(tickets) == 2
    thread = db.session.scalars(select(Message).where(Message.ticket_id == tickets[0].id)).all()
    assert len(thread) == 3 and {m.thread_key for m in thread} == {root["id"]}
    assert db.session.scalar(select(Message.ticket_id).where(Message.external_id == other["id"])) == tickets[1].id


def test_failure_on_page_two_advances_nothing_and_the_retry_loses_nothing(x_app, xserver):
    user = xserver.add_user("中村 さくら", "sakura")
    first = xserver.add_post(user, "最初")
    _poll(x_app)
    posts = [xserver.add_post(user, f"続報 {i}") for i in range(12)]
    xserver.script("GET", "/mentions$", 503, when=lambda req: "pagination_token" in req.args)

    failed = _poll(x_app)

    assert failed.status == "error" and failed.pages == 1
    state = _state(x_app)
    assert state.cursor["since_id"] == first["id"] and "503" in state.last_error
    assert _count() == 1
    assert db.session.scalar(select(XUsage.reads)) == 1 + 5  # page one was read (and paid for)

    again = _poll(x_app)

    assert again.status == "ok" and again.created == 12 and _count() == 13
    assert _state(x_app).cursor["since_id"] == posts[-1]["id"] and _state(x_app).last_error is None
    assert _poll(x_app).created == 0 and _count() == 13


def test_deleted_and_protected_authors_are_stored_with_the_reason(x_app, xserver):
    gone = xserver.add_user("退会済み", "gone_user")
    locked = xserver.add_user("鍵垢", "locked_user", protected=True)
    fine = xserver.add_user("普通の人", "normal_user")
    xserver.unavailable.update({gone: "deleted", locked: "protected"})
    p_gone = xserver.add_post(gone, "返金はまだですか")
    p_locked = xserver.add_post(locked, "解約したいです")
    xserver.add_post(fine, "ありがとうございました")

    report = _poll(x_app)

    assert report.created == 3
    gone_msg = db.session.scalar(select(Message).where(Message.external_id == p_gone["id"]))
    assert "Could not find user" in gone_msg.meta["author_unavailable"]
    assert gone_msg.meta["url"] == f"https://x.com/i/web/status/{p_gone['id']}"
    locked_msg = db.session.scalar(select(Message).where(Message.external_id == p_locked["id"]))
    assert "not authorized" in locked_msg.meta["author_unavailable"]
    identity = db.session.scalar(select(Identity).where(Identity.value == gone))
    assert identity.kind == "x" and identity.display == gone
    raw = json.loads(db.session.get(RawSource, gone_msg.raw_id).content)
    assert raw["errors"][0]["resource_type"] == "user" and raw["includes"]["users"] == []


def test_pages_left_unread_warn_that_mentions_may_be_missed(x_app, xserver):
    x_app.config["X_MAX_PAGES_PER_POLL"] = 2
    user = xserver.add_user("大量 投稿", "many")
    first = xserver.add_post(user, "はじめまして")
    _poll(x_app)
    posts = [xserver.add_post(user, f"連投 {i}") for i in range(13)]

    report = _poll(x_app)

    assert report.pages == 2 and report.created == 10
    assert report.warnings and "may have been missed" in report.warnings[0]
    state = _state(x_app)
    assert state.cursor["since_id"] == posts[-1]["id"] and "may have been missed" in state.last_error
    gap = db.session.scalar(select(Event).where(Event.kind == "x.mentions_gap"))
    assert gap.data["since_id"] == first["id"] and gap.data["oldest_read_id"] == posts[3]["id"]


def test_the_800_reach_limit_warns(x_app, xserver):
    xserver.reach = 8
    x_app.config["X_MENTIONS_REACH"] = 8
    user = xserver.add_user("遅れ 気味", "late")
    xserver.add_post(user, "一件目")
    _poll(x_app)
    for i in range(10):
        xserver.add_post(user, f"未読 {i}")

    report = _poll(x_app)

    assert report.fetched == 8 and "reaches back about 8" in report.warnings[0]
    assert db.session.scalar(select(Event.data).where(Event.kind == "x.mentions_gap"))["reason"] == "reach"


def test_budget_slows_then_pauses_polling_visibly(x_app, xserver):
    x_app.config.update(X_MONTHLY_READ_CAP=10, X_BUDGET_SLOWDOWN_AT=0.5, X_POLL_SECONDS=60,
                        X_POLL_MAX_SECONDS=3600)
    user = xserver.add_user("予算 確認", "budget")
    for i in range(6):
        xserver.add_post(user, f"質問 {i}")

    slowed = _poll(x_app)

    assert slowed.created == 6 and current_budget(x_app.config).reads == 6
    assert "polling slowed" in slowed.warnings[-1] and "polling slowed" in _state(x_app).last_error
    for i in range(8):
        xserver.add_post(user, f"追加 {i}")

    capped = _poll(x_app)

    assert capped.pages == 1 and capped.fetched == 5 and capped.created == 5  # read at the cap: still stored
    assert "read cap reached" in _state(x_app).last_error
    calls = len(xserver.log)

    paused = _poll(x_app)

    assert paused.status == "paused" and len(xserver.log) == calls  # no API call at the cap
    assert "read cap reached" in _state(x_app).last_error


def test_a_second_worker_does_not_poll_while_the_lease_is_held(x_app, xserver):
    from app.channels.state import acquire_lease

    assert acquire_lease(MENTIONS, xserver.user_id, "other-worker", seconds=300)
    assert poll_mentions(x_app.config, force=True, owner="me").status == "skipped"
    assert xserver.log == []


def test_cli_poll_x_once(x_app, xserver, runner):
    user = xserver.add_user("CLI 利用者", "cli_user")
    xserver.add_post(user, "コマンドから取り込み")

    result = runner.invoke(args=["poll", "x", "--once"])

    assert result.exit_code == 0, result.output
    assert "1 new" in result.output and _count() == 1


def test_tokens_never_reach_the_logs(x_app, xserver, caplog):
    from app.channels.base import OutboundMessage
    from app.channels.x.adapter import XChannel

    caplog.set_level(logging.DEBUG)
    user = xserver.add_user("ログ 確認", "logcheck")
    post = xserver.add_post(user, "ログに秘密が出ないこと")
    _poll(x_app)
    XChannel(x_app.config).deliver(OutboundMessage(0, 0, "x", user, "", "", "確認しました。", None, (),
                                                   {"in_reply_to_post_id": post["id"]}))

    assert logging.getLogger("tweepy").getEffectiveLevel() > logging.DEBUG
    assert xserver.requests_to("POST", "/2/tweets$")[0].status == 201
    for secret in (BEARER, CONSUMER[1], ACCESS[0], ACCESS[1]):
        assert secret not in caplog.text


def test_the_worker_job_polls_when_due_and_then_waits(x_app, xserver):
    from app.worker import run_once

    user = xserver.add_user("ワーカー 経由", "via_worker")
    xserver.add_post(user, "バックグラウンドで取り込み")

    assert run_once(x_app)["x"] == {"mentions": "ok"}
    assert _count() == 1
    assert run_once(x_app)["x"] == {"mentions": "skipped"}  # next poll is X_POLL_SECONDS away
    assert len(xserver.requests_to("GET", "/mentions$")) == 1
