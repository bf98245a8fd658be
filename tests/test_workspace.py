"""The agent workspace without a browser: reply collision and reply-check confirmations, the X
reply guard, macros (rendering, authorisation, supervisor pages), timeline pages, live-entry
partials, collapsed quotes and the inbox partial."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.customers.timeline import customer_timeline, split_quoted
from app.extensions import db
from app.macros.checks import STARTER_TERMS, Term, find_terms
from app.macros.services import render, seed_demo_macros
from app.models import Event, Macro, Message, Product, ReplyCheckTerm, Subscription, Team
from app.tickets.services import ConfirmationNeeded, add_note, add_reply
from tests.factories import make_agent, make_ticket


def email_ticket(text="お届け日について", **kwargs):
    return make_ticket(text, channel="email", **kwargs)


# --- collision ---------------------------------------------------------------------------------

def test_reply_after_a_colleagues_reply_asks_to_confirm(client, agent, login_as):
    ticket, first = email_ticket()
    colleague = make_agent(name="鈴木")
    login_as(agent)
    add_reply(colleague, ticket, "先に返信しました")
    data = {"body": "承知しました", "status_after": "pending", "seen_message_id": str(first.id)}
    refused = client.post(f"/tickets/{ticket.id}/reply", data=data)
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "send anyway" in page and "鈴木" in page and "承知しました" in page
    assert db.session.scalar(select(func.count(Message.id)).where(Message.author_id == agent.id)) == 0

    sent = client.post(f"/tickets/{ticket.id}/reply", data=dict(data, confirm="1"))
    assert sent.status_code == 302
    assert db.session.scalar(select(func.count(Message.id)).where(Message.author_id == agent.id)) == 1


def test_own_messages_and_customer_messages_are_no_collision(agent):
    ticket, first = email_ticket()
    add_note(agent, ticket, "自分のメモ")
    make_ticket("追加です", channel="email", sender=ticket.customer.identities[0].value,
                reply_to_keys=[first.thread_key] if first.thread_key else [])
    message = add_reply(agent, ticket, "ご連絡ありがとうございます", seen_message_id=first.id)
    assert message.id


def test_a_colleagues_note_is_a_collision(agent):
    ticket, first = email_ticket()
    add_note(make_agent(), ticket, "電話で対応済み")
    with pytest.raises(ConfirmationNeeded) as caught:
        add_reply(agent, ticket, "ご連絡ありがとうございます", seen_message_id=first.id)
    assert [m.body_text for m in caught.value.since] == ["電話で対応済み"]


# --- reply checks --------------------------------------------------------------------------------

def test_dictionary_matching():
    terms = [Term(t, n) for t, _lang, n in STARTER_TERMS]
    hits = [h.term for h in find_terms("アトピーが治る！絶対に１００％効きます。Secure. It CURES", terms)]
    assert hits == ["アトピーが治る", "絶対", "100%", "効きます", "cure"]
    assert find_terms("secure and procure", terms) == []
    assert find_terms("いつもご利用ありがとうございます。", terms) == []


def test_compliance_warning_then_confirmed_send_is_recorded(client, agent, login_as):
    ticket, first = email_ticket()
    login_as(agent)
    data = {"body": "このサプリで必ず痩せる、副作用なしです", "status_after": "pending",
            "seen_message_id": str(first.id)}
    refused = client.post(f"/tickets/{ticket.id}/reply", data=data)
    assert refused.status_code == 409
    assert "<mark>必ず痩せる</mark>" in refused.get_data(as_text=True)
    assert client.post(f"/tickets/{ticket.id}/reply", data=dict(data, confirm="1")).status_code == 302
    event = db.session.scalar(select(Event).where(Event.kind == "reply.compliance_confirmed"))
    assert event.actor_id == agent.id and event.data["words"] == ["必ず痩せる", "副作用なし"]
    assert "必ず痩せる" in client.get(f"/tickets/{ticket.id}").get_data(as_text=True)


def test_the_supervisors_dictionary_replaces_the_starter_list(client, agent, supervisor, login_as):
    login_as(supervisor)
    assert client.post("/admin/reply-check", data={"term": "奇跡", "language": "ja", "note": "誇大"}).status_code == 302
    assert [h.term for h in find_terms("奇跡のクリームで絶対")] == ["奇跡"]
    row = db.session.scalar(select(ReplyCheckTerm))
    client.post(f"/admin/reply-check/{row.id}/toggle")
    assert find_terms("奇跡") == []
    client.post("/admin/reply-check/seed")
    assert [h.term for h in find_terms("絶対")] == ["絶対"]
    client.post("/logout")
    login_as(agent)
    assert client.get("/admin/reply-check").status_code == 403


def test_x_reply_with_personal_data_is_refused_with_a_clear_message(client, agent, login_as):
    ticket, first = make_ticket("@shop 届きません", channel="x", kind="x", sender="1234567890")
    login_as(agent)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "data-x-composer" in page and "js/x-composer.js" in page
    response = client.post(f"/tickets/{ticket.id}/reply", data={
        "body": "ご注文の件、hanako@example.jp 宛にご連絡します", "status_after": "pending",
        "seen_message_id": str(first.id), "confirm": "1"})
    assert response.status_code == 422
    assert "cannot be posted on X" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Message.id)).where(Message.direction == "out")) == 0


# --- macros ------------------------------------------------------------------------------------

def test_macro_renders_the_ticket_variables(client, agent, login_as):
    ticket, _m = email_ticket(name="山田 花子")
    product = Product(external_id="p1", name="青汁プレミアム")
    db.session.add(product)
    db.session.flush()
    db.session.add(Subscription(external_id="s1", customer_id=ticket.customer_id, product_id=product.id,
                                next_ship_date=date(2026, 12, 5)))
    db.session.commit()
    seed_demo_macros()
    macro = db.session.scalar(select(Macro).where(Macro.title == "次回お届け日のご案内"))
    text = render(macro, ticket, agent)
    assert text.startswith("山田 花子 様") and "青汁プレミアム" in text and "2026年12月5日" in text
    english = db.session.scalar(select(Macro).where(Macro.title == "Thank you"))
    assert render(english, ticket, agent).startswith("Dear 山田 花子,")

    login_as(agent)
    listed = client.get("/macros.json").get_json()
    assert {m["title"] for m in listed} >= {"次回お届け日のご案内", "Thank you"}
    rendered = client.get(f"/macros/{macro.id}/render?ticket_id={ticket.id}").get_json()
    assert rendered["text"] == text
    # A ticket of another team is not rendered (nor revealed).
    team = Team(name="別チーム")
    db.session.add(team)
    db.session.commit()
    hidden, _m2 = email_ticket()
    hidden.team_id = team.id
    db.session.commit()
    assert client.get(f"/macros/{macro.id}/render?ticket_id={hidden.id}").status_code == 404


def test_supervisors_manage_macros_agents_do_not(client, agent, supervisor, login_as):
    login_as(agent)
    assert client.get("/admin/macros").status_code == 403
    client.post("/logout")
    login_as(supervisor)
    response = client.post("/admin/macros/new", data={"title": "お詫び", "language": "ja",
                                                      "body": "{customer_name}\nご迷惑をおかけしました。", "active": "y"})
    assert response.status_code == 302
    macro = db.session.scalar(select(Macro))
    assert macro.title == "お詫び" and macro.created_by_id == supervisor.id
    assert "お詫び" in client.get("/admin/macros").get_data(as_text=True)
    client.post(f"/admin/macros/{macro.id}/delete")
    assert db.session.scalar(select(func.count(Macro.id))) == 0


# --- timeline ------------------------------------------------------------------------------------

def test_timeline_pages_back_through_a_long_history(client, agent, login_as):
    ticket, first = email_ticket()
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i in range(119):
        db.session.add(Message(ticket_id=ticket.id, customer_id=ticket.customer_id, channel="email",
                               direction="in", body_text=f"履歴 {i}", created_at=start + timedelta(hours=i),
                               received_at=start))
    db.session.commit()
    page = customer_timeline(agent, ticket.customer_id, ticket.id)
    assert page.has_more and sum(len(g.entries) for g in page) >= 50
    older = customer_timeline(agent, ticket.customer_id, ticket.id, before_id=page.oldest_message_id)
    oldest = customer_timeline(agent, ticket.customer_id, ticket.id, before_id=older.oldest_message_id)
    assert not oldest.has_more
    seen = [e.message.id for tl in (page, older, oldest) for g in tl for e in g.entries if e.message]
    assert len(seen) == len(set(seen)) == 120

    login_as(agent)
    html = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "data-load-older" in html and "履歴 118" in html and "履歴 0<" not in html
    more = client.get(f"/customers/{ticket.customer_id}/timeline/older?before={page.oldest_message_id}"
                      f"&focus={ticket.id}").get_data(as_text=True)
    assert 'data-has-more="1"' in more and "履歴 60" in more


def test_channel_filter_and_live_entry_partials(client, agent, login_as):
    ticket, first = email_ticket("メールの質問", sender="hanako@example.jp")
    other, call = make_ticket("電話の内容", channel="phone", kind="phone", sender="03-1234-5678")
    login_as(agent)
    html = client.get(f"/tickets/{ticket.id}?channel=email").get_data(as_text=True)
    assert "メールの質問" in html
    entries = client.get(f"/tickets/{ticket.id}/timeline/entries?after=0").get_data(as_text=True)
    assert f'id="m{first.id}"' in entries
    assert client.get(f"/tickets/{ticket.id}/timeline/entries?after={first.id}").get_data(as_text=True).strip() == ""
    reply = add_reply(agent, ticket, "お返事です")
    one = client.get(f"/tickets/{ticket.id}/timeline/entries?message_id={reply.id}").get_data(as_text=True)
    assert "dl-queued" in one and "お返事です" in one


def test_quoted_history_is_collapsed():
    text = "了解です。\n\nOn 2026/11/20 10:00, Shop <support@shop.example> wrote:\n> 先日の件\n> よろしく"
    assert split_quoted(text) == ("了解です。", "On 2026/11/20 10:00, Shop <support@shop.example> wrote:\n> 先日の件\n> よろしく")
    assert split_quoted("はい\n----- 元のメッセージ -----\n差出人: 店")[1].startswith("----- 元のメッセージ")
    assert split_quoted("はい\n-----Original Message-----\nFrom: x")[0] == "はい"
    assert split_quoted("はい\n\n山田様のメッセージ:\n> 前回")[0] == "はい"
    assert split_quoted("本文\n> 引用1\n> 引用2\n") == ("本文", "> 引用1\n> 引用2")
    assert split_quoted("普通の本文") == ("普通の本文", "")


def test_inbox_partial_and_tasks(client, agent, login_as):
    ticket, _m = email_ticket()
    login_as(agent)
    partial = client.get("/?partial=1").get_data(as_text=True)
    assert partial.lstrip().startswith("{#") is False and "data-inbox-layout" in partial
    assert "<html" not in partial and f'data-ticket-id="{ticket.id}"' in partial
    assert "shortcut-help" in client.get("/").get_data(as_text=True)


def test_live_partials_are_authorised(client, agent, login_as):
    team = Team(name="別チーム")
    db.session.add(team)
    db.session.commit()
    hidden, message = email_ticket("見えない問い合わせ")
    hidden.team_id = team.id
    db.session.commit()
    login_as(agent)
    for path in (f"/tickets/{hidden.id}/timeline/entries?after=0", f"/tickets/{hidden.id}/timeline/group",
                 f"/tickets/{hidden.id}/head", f"/tickets/{hidden.id}"):
        assert client.get(path).status_code == 404, path
    older = client.get(f"/customers/{hidden.customer_id}/timeline/older?before={message.id + 1}")
    assert "見えない問い合わせ" not in older.get_data(as_text=True)
