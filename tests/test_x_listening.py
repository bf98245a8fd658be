"""Brand listening (search → listening view → make a ticket / dismiss) and the X budget page."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.channels.x.listening import LISTENING, build_query, poll_listening
from app.channels.x.poller import poll_mentions
from app.extensions import db
from app.models import ChannelState, Event, ListeningPost, Message, RawSource, Ticket, XUsage
from tests.xserver import x_app, xserver  # noqa: F401


@pytest.fixture
def listening_app(x_app):
    x_app.config.update(X_KEYWORDS=["つなぐ茶", "Tsunagu Tea"], X_SEARCH_MAX_RESULTS=10)
    return x_app


@pytest.fixture
def brand_posts(xserver):
    fan = xserver.add_user("お茶好き", "ocha_suki")
    critic = xserver.add_user("辛口 レビュー", "karakuchi")
    praise = xserver.add_post(fan, "つなぐ茶、香りが良くて毎朝飲んでます", mention_us=False)
    complaint = xserver.add_post(critic, "tsunagu tea arrived crushed, not happy", mention_us=False)
    mention = xserver.add_post(critic, "つなぐ茶の件で返事ください")  # mentions us: the inbox's job
    ours = xserver.add_post(xserver.user_id, "つなぐ茶 新発売！", mention_us=False)  # our own post
    xserver.add_post(fan, "今日は雨", mention_us=False)
    return {"praise": praise, "complaint": complaint, "mention": mention, "ours": ours}


def _lp(post_id: str) -> ListeningPost:
    db.session.expire_all()
    return db.session.scalar(select(ListeningPost).where(ListeningPost.post_id == post_id))


def test_keyword_posts_not_mentioning_us_land_in_listening(listening_app, xserver, brand_posts):
    report = poll_listening(listening_app.config, force=True)

    assert report.status == "ok" and report.created == 2
    stored = {p.post_id for p in db.session.scalars(select(ListeningPost))}
    assert stored == {brand_posts["praise"]["id"], brand_posts["complaint"]["id"]}
    query = xserver.requests_to("GET", "/search/recent$")[0].args["query"]
    assert query == build_query(["つなぐ茶", "Tsunagu Tea"], xserver.user_id, "tsunagu_shop")
    assert '"つなぐ茶" OR "Tsunagu Tea"' in query and "-is:retweet" in query
    post = _lp(brand_posts["complaint"]["id"])
    assert post.keywords == ["Tsunagu Tea"] and post.author_handle == "karakuchi"
    raw = json.loads(db.session.get(RawSource, post.raw_id).content)
    assert raw["data"]["id"] == post.post_id
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0  # not tickets yet
    state = db.session.scalar(select(ChannelState).where(ChannelState.channel == LISTENING))
    assert state.cursor["since_id"] == brand_posts["complaint"]["id"]
    assert db.session.scalar(select(XUsage.reads)) == 2  # the query itself excludes our posts and mentions

    again = poll_listening(listening_app.config, force=True)
    assert again.fetched == 0
    assert xserver.requests_to("GET", "/search/recent$")[-1].args["since_id"] == brand_posts["complaint"]["id"]


def test_listening_view_make_ticket_and_dismiss(listening_app, xserver, brand_posts, client, login_as, agent):
    poll_listening(listening_app.config, force=True)
    login_as(agent)
    praise, complaint = _lp(brand_posts["praise"]["id"]), _lp(brand_posts["complaint"]["id"])

    page = client.get("/social/listening")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "tsunagu tea arrived crushed" in html and "香りが良くて" in html and "返事ください" not in html

    made = client.post(f"/social/listening/{complaint.id}/ticket")
    assert made.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert made.headers["Location"].endswith(f"/tickets/{ticket.id}")
    message = db.session.scalar(select(Message))
    assert message.external_id == complaint.post_id and message.channel == "x" and ticket.channel == "x"
    assert message.meta["source"] == "listening" and message.raw_id == complaint.raw_id
    assert _lp(complaint.post_id).status == "ticket" and _lp(complaint.post_id).ticket_id == ticket.id
    assert client.post(f"/social/listening/{complaint.id}/ticket").status_code == 302  # idempotent
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
    assert db.session.scalar(select(Event).where(Event.kind == "x.listening_ticket")).actor_id == agent.id

    assert client.post(f"/social/listening/{praise.id}/dismiss").status_code == 302
    assert _lp(praise.post_id).status == "dismissed" and _lp(praise.post_id).decided_by_id == agent.id
    remaining = client.get("/social/listening").get_data(as_text=True)
    assert "香りが良くて" not in remaining and "arrived crushed" not in remaining
    assert "香りが良くて" in client.get("/social/listening?status=dismissed").get_data(as_text=True)
    assert client.post(f"/social/listening/{complaint.id}/dismiss").status_code == 302  # refused, kept
    assert _lp(complaint.post_id).status == "ticket"
    assert client.post("/social/listening/999999/dismiss").status_code == 404


def test_a_ticket_from_listening_joins_the_authors_later_mentions(listening_app, xserver, brand_posts,
                                                                  client, login_as, agent):
    poll_listening(listening_app.config, force=True)
    login_as(agent)
    complaint = _lp(brand_posts["complaint"]["id"])
    client.post(f"/social/listening/{complaint.id}/ticket")
    follow_up = xserver.add_post(complaint.author_id, "写真です", reply_to=complaint.post_id)

    poll_mentions(listening_app.config, force=True)

    assert db.session.scalar(select(Message.ticket_id).where(Message.external_id == follow_up["id"])) \
        == _lp(complaint.post_id).ticket_id


def test_listening_pauses_visibly_when_the_budget_runs_low(listening_app, xserver, brand_posts):
    listening_app.config.update(X_MONTHLY_READ_CAP=10, X_BUDGET_SLOWDOWN_AT=0.5)
    from app.channels.x.budget import record_usage

    record_usage(reads=6)
    db.session.commit()
    report = poll_listening(listening_app.config, force=True)
    assert report.status == "paused" and xserver.log == []
    state = db.session.scalar(select(ChannelState).where(ChannelState.channel == LISTENING))
    assert "Brand listening paused" in state.last_error


def test_usage_page_is_for_supervisors(x_app, xserver, client, login_as, agent, supervisor):
    user = xserver.add_user("利用 確認", "usage")
    xserver.add_post(user, "予算ページ")
    poll_mentions(x_app.config, force=True)

    login_as(agent)
    assert client.get("/social/x/usage").status_code == 403
    client.post("/logout")
    login_as(supervisor)
    page = client.get("/social/x/usage")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "15,000" in html and "14,999" in html  # cap and remaining reads
    assert 'data-channel-state="x"' in html


def test_composer_partial_points_at_vendored_files(app, client):
    from flask import render_template

    with app.test_request_context("/"):
        html = render_template("_x_composer.html")
    assert "x-composer-i18n" in html
    for src in ("/static/vendor/twitter-text/twitter-text.min.js", "/static/js/x-composer.js"):
        assert src in html and client.get(src).status_code == 200
