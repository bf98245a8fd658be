"""The first screens: login, inbox, ticket page, customer page, agent actions and customer merge."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select

from app import bus
from app.customers.services import merge_customers
from app.extensions import db
from app.models import (Attachment, Coupon, Customer, Event, Identity, Message, Order, OrderLine,
                        OutboxItem, Product, Subscription, Tag, Team, Ticket)
from app.tickets.services import ActionRefused, add_note, add_reply, update_ticket
from tests.factories import make_agent, make_customer, make_ticket

NOW = datetime.now(timezone.utc)


@contextmanager
def count_queries():
    """Collect the SQL statements executed inside the block."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def fresh():
    """End the test's transaction so it sees what the requests committed."""
    db.session.commit()


def html(response) -> str:
    assert response.status_code == 200, response.data[:800]
    return response.get_data(as_text=True)


def email_ticket(text="お届け日を変更したいです", sender="hanako@example.jp", thread_key=None, **kw):
    key = thread_key or f"<{sender}.{text[:3]}@mail.example.jp>"
    return make_ticket(text, channel="email", sender=sender, thread_key=key, **kw)


def add_commerce(customer_id: int):
    """A product, a subscription and two orders (one cancelled) for the sidebar."""
    product = Product(external_id=f"p-{customer_id}", name="青汁", variant="30包", price=3980,
                      subscription_price=3480)
    db.session.add(product)
    db.session.flush()
    db.session.add(Subscription(external_id=f"s-{customer_id}", customer_id=customer_id,
                                product_id=product.id, status="active", cycle_days=45, price=3480, deliveries=4,
                                next_ship_date=date(2031, 5, 20)))
    order = Order(external_id=f"o-{customer_id}", customer_id=customer_id, total=12345,
                  ordered_at=datetime(2030, 1, 15, 3, 0, tzinfo=timezone.utc), status="delivered")
    order.lines = [OrderLine(product_id=product.id, name="青汁 30包 お試し", quantity=2, unit_price=3980)]
    db.session.add(order)
    db.session.add(Order(external_id=f"o2-{customer_id}", customer_id=customer_id, total=999,
                         ordered_at=datetime(2030, 2, 1, tzinfo=timezone.utc), status="cancelled"))
    db.session.commit()


# -- access -----------------------------------------------------------------------------------

def test_anonymous_is_redirected_to_login(client):
    for path in ("/", "/tickets/1", "/customers/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_login_page_renders_in_the_browser_language(client):
    page = html(client.get("/login", headers={"Accept-Language": "ja,en;q=0.5"}))
    assert '<html lang="ja">' in page
    assert 'name="csrf_token"' in page
    page = html(client.get("/login", headers={"Accept-Language": "en-US"}))
    assert '<html lang="en">' in page


def test_inbox_lists_tickets_escaped_with_tokyo_time(client, agent, login_as):
    ticket, _ = make_ticket("本文", subject="<script>alert(1)</script> 届かない",
                            created_at=datetime(2030, 1, 1, 0, 30, tzinfo=timezone.utc), name="鈴木 一郎")
    ticket.intent = "cancellation"
    db.session.commit()
    login_as(agent)
    page = html(client.get("/", headers={"Accept-Language": "ja"}))
    assert '<html lang="ja">' in page
    assert f'data-ticket-id="{ticket.id}"' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 届かない" in page
    assert "<script>alert(1)" not in page
    assert "鈴木 一郎" in page
    assert "2030-01-01 09:30" in page  # Asia/Tokyo
    assert "intent-cancellation" in page


def _row_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr class="ticket-row[^"]*" data-ticket-id="(\d+)"', page)]


def test_inbox_filters(client, agent, login_as):
    t_new, _ = make_ticket("a", channel="email", created_at=NOW - timedelta(hours=5))
    t_pending, _ = make_ticket("b", channel="api", created_at=NOW - timedelta(hours=4))
    t_solved, _ = make_ticket("c", channel="email", created_at=NOW - timedelta(hours=3))
    t_mine, _ = make_ticket("d", channel="api", created_at=NOW - timedelta(hours=2))
    t_pending.status, t_solved.status = "pending", "solved"
    t_mine.assignee_id = agent.id
    db.session.commit()
    login_as(agent)

    assert _row_ids(html(client.get("/"))) == [t_mine.id, t_pending.id, t_new.id]  # newest first
    assert _row_ids(html(client.get("/?status=solved"))) == [t_solved.id]
    assert _row_ids(html(client.get("/?status=all"))) == [t_mine.id, t_solved.id, t_pending.id, t_new.id]
    assert _row_ids(html(client.get("/?status=all&channel=email"))) == [t_solved.id, t_new.id]
    assert _row_ids(html(client.get("/?mine=1"))) == [t_mine.id]
    # Unknown values fall back to the defaults instead of failing.
    bogus = html(client.get("/?status=bogus&channel=nope&page=x"))
    assert _row_ids(bogus) == [t_mine.id, t_pending.id, t_new.id]


def test_inbox_pagination(app, client, agent, login_as):
    app.config["TICKETS_PER_PAGE"] = 2
    ids = [make_ticket(f"m{i}", created_at=NOW - timedelta(hours=10 - i))[0].id for i in range(5)]
    login_as(agent)
    first = html(client.get("/"))
    assert _row_ids(first) == [ids[4], ids[3]]
    assert 'href="/?page=2"' in first and 'href="/?page=3"' in first
    assert _row_ids(html(client.get("/?page=3"))) == [ids[0]]
    assert _row_ids(html(client.get("/?page=9"))) == []
    # Filter links keep the other filters and go back to page 1.
    second = html(client.get("/?page=2&channel=api"))
    assert 'href="/?channel=api&amp;page=3"' in second
    assert 'href="/?status=all&amp;channel=api"' in second


def test_inbox_query_count_does_not_grow_with_tickets(client, agent, login_as):
    other = make_agent("agent", name="別の 担当")

    def add(n):
        for i in range(n):
            ticket, _ = make_ticket(f"質問 {i}", name="")  # no name: display_name reads identities
            ticket.assignee_id = other.id if i % 2 else agent.id
            ticket.tags = [Tag(name=f"tag-{ticket.id}")]
        db.session.commit()

    login_as(agent)
    add(2)
    with count_queries() as few:
        html(client.get("/?status=all"))
    add(10)
    with count_queries() as many:
        page = html(client.get("/?status=all"))
    assert len(_row_ids(page)) == 12
    assert len(many) == len(few), many


# -- ticket page ------------------------------------------------------------------------------

def _two_channel_customer():
    """One customer with an email conversation (two messages) and an X post in between."""
    t_mail, first = email_ticket("最初のメール", thread_key="<first@mail.example.jp>",
                                 created_at=NOW - timedelta(hours=3))
    db.session.add(Identity(customer_id=t_mail.customer_id, kind="x", value="424242", display="@hanako_x"))
    db.session.commit()
    t_x, post = make_ticket("Xでの投稿です", channel="x", kind="x", sender="424242", subject="",
                            created_at=NOW - timedelta(hours=2))
    _, second = make_ticket("二通目のメール", channel="email", sender="hanako@example.jp",
                            reply_to_keys=("<first@mail.example.jp>",), subject="Re: お問い合わせ",
                            created_at=NOW - timedelta(hours=1))
    assert t_x.customer_id == t_mail.customer_id and second.ticket_id == t_mail.id
    return t_mail, t_x


def test_ticket_page_shows_the_whole_timeline_and_sidebar(client, agent, login_as):
    t_mail, t_x = _two_channel_customer()
    db.session.add(Attachment(message_id=t_mail.messages[0].id, filename="レシート.pdf", size=2048))
    add_commerce(t_mail.customer_id)
    login_as(agent)
    page = html(client.get(f"/tickets/{t_mail.id}"))
    # The focused ticket first, its messages in time order; the X conversation after it.
    first, second, post = page.index("最初のメール"), page.index("二通目のメール"), page.index("Xでの投稿です")
    assert first < second < post
    assert page.index('tl-group focused') < first
    assert "ch-x" in page and "ch-email" in page
    assert "レシート.pdf" in page and "2.0 kB" in page
    # Sidebar: identities, subscription, orders, purchases, segment.
    assert "@hanako_x" in page and "hanako@example.jp" in page
    assert "青汁 30包" in page and "45" in page and "2031-05-20" in page
    assert "¥12,345" in page and "青汁 30包 お試し ×2" in page
    assert 'class="purchase-count">1<' in page and 'class="ltv">¥12,345<' in page
    assert "seg-new" in page
    assert f'href="/tickets/{t_x.id}"' in page  # open ticket elsewhere
    # Forms carry CSRF tokens.
    assert page.count('name="csrf_token"') >= 4


def test_ticket_page_escapes_bodies_and_does_not_render_html(client, agent, login_as):
    ticket, _ = email_ticket("<b>太字</b>\n二行目", body_html="<p>HTML版</p>")
    login_as(agent)
    page = html(client.get(f"/tickets/{ticket.id}"))
    assert "&lt;b&gt;太字&lt;/b&gt;\n二行目" in page
    assert "HTML版" not in page


def test_ticket_page_query_count_does_not_grow_with_history(client, agent, login_as):
    ticket, _ = email_ticket("最初", created_at=NOW - timedelta(days=3))
    login_as(agent)
    add_commerce(ticket.customer_id)

    def grow(n):
        for i in range(n):
            other, message = make_ticket(f"追加 {i}", channel="api", sender="hanako@example.jp",
                                         created_at=NOW - timedelta(hours=n - i))
            db.session.add(Attachment(message_id=message.id, filename=f"{i}.png", size=10))
            add_reply(agent, ticket, f"返信 {i}")
            add_note(agent, other, f"メモ {i}")
        db.session.commit()

    grow(1)
    with count_queries() as few:
        html(client.get(f"/tickets/{ticket.id}"))
    grow(6)
    with count_queries() as many:
        page = html(client.get(f"/tickets/{ticket.id}"))
    assert "追加 5" in page and "メモ 5" in page
    assert len(many) == len(few), many


def test_team_b_ticket_is_invisible_to_team_a_agent(client, login_as):
    team_a, team_b = Team(name="A"), Team(name="B")
    db.session.add_all([team_a, team_b])
    db.session.commit()
    agent_a = make_agent("agent", team_id=team_a.id)
    visible, _ = email_ticket("チームAの件", created_at=NOW - timedelta(hours=2))
    hidden, hidden_msg = make_ticket("チームBの秘密", channel="email", sender="hanako@example.jp",
                                     subject="別件", created_at=NOW - timedelta(hours=1))
    assert hidden.customer_id == visible.customer_id
    visible.team_id, hidden.team_id = team_a.id, team_b.id
    db.session.commit()
    login_as(agent_a)
    assert client.get(f"/tickets/{hidden.id}").status_code == 404
    assert client.post(f"/tickets/{hidden.id}/reply", data={"body": "x"}).status_code == 404
    assert client.post(f"/tickets/{hidden.id}/note", data={"body": "x"}).status_code == 404
    assert client.post(f"/tickets/{hidden.id}/update", data={"status": "solved"}).status_code == 404
    assert _row_ids(html(client.get("/?status=all"))) == [visible.id]
    for path in (f"/tickets/{visible.id}", f"/customers/{visible.customer_id}"):
        page = html(client.get(path))
        assert "チームAの件" in page and "チームBの秘密" not in page
    reply = add_reply(make_agent("supervisor"), hidden, "返信")
    reply.outbox.status = "failed"
    db.session.commit()
    assert client.post(f"/outbox/{reply.outbox.id}/retry").status_code == 404


# -- agent actions ----------------------------------------------------------------------------

@pytest.fixture
def published():
    """Events published on the bus during the test: [(topic, payload)]."""
    seen = []
    handlers = {topic: (lambda topic=topic, **payload: seen.append((topic, payload)))
                for topic in ("message.created", "ticket.updated")}
    for topic, handler in handlers.items():
        bus.subscribe(topic, handler)
    yield seen
    for topic, handler in handlers.items():
        bus.unsubscribe(topic, handler)


def test_reply_queues_an_email_in_the_outbox(client, agent, login_as, published):
    ticket, inbound = email_ticket("解約したい", thread_key="<orig@mail.example.jp>")
    login_as(agent)
    published.clear()  # what ingest's subscribers published is not ours
    response = client.post(f"/tickets/{ticket.id}/reply",
                           data={"body": "承知しました。\n担当より", "status_after": "pending"})
    assert response.status_code == 302
    fresh()
    reply = db.session.scalar(select(Message).where(Message.direction == "out"))
    assert reply.ticket_id == ticket.id and reply.channel == "email" and reply.author_id == agent.id
    assert reply.subject == f"Re: {ticket.subject}"
    assert re.fullmatch(rf"<.*tsunagu\.{ticket.id}@tsunagu\.example>", reply.thread_key)
    assert reply.reply_to_keys == ["<orig@mail.example.jp>"]
    assert reply.body_text == "承知しました。\n担当より"
    assert reply.outbox.status == "queued" and reply.outbox.channel == "email"
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.status == "pending" and ticket.last_agent_message_at
    assert ticket.first_response_at is None  # an answer only once delivered (tests/test_failed_sends.py)
    status_event = db.session.scalar(select(Event).where(Event.kind == "ticket.status"))
    assert status_event.actor_id == agent.id
    assert (status_event.data["old"], status_event.data["new"]) == ("new", "pending")
    topics = [topic for topic, _ in published]
    assert topics[:2] == ["message.created", "ticket.updated"]
    assert published[0][1]["message_id"] == reply.id
    assert published[1][1]["ticket_id"] == ticket.id and published[1][1]["changes"] == ["reply", "status"]
    page = html(client.get(f"/tickets/{ticket.id}"))
    assert "dl-queued" in page and "承知しました。" in page


def test_second_reply_cites_the_whole_thread(agent):
    ticket, _ = email_ticket("質問", thread_key="<q@mail.example.jp>")
    first = add_reply(agent, ticket, "一通目", "open")
    second = add_reply(agent, ticket, "二通目", "solved")
    assert second.reply_to_keys == ["<q@mail.example.jp>", first.thread_key]
    assert first.thread_key != second.thread_key
    assert ticket.status == "solved" and ticket.solved_at is not None


def test_reply_on_x_points_at_the_latest_post(agent):
    ticket, _ = make_ticket("一件目", channel="x", kind="x", sender="777", external_id="1001",
                            thread_key="1001", created_at=NOW - timedelta(hours=2))
    make_ticket("二件目", channel="x", kind="x", sender="777", external_id="1002",
                reply_to_keys=("1001",), created_at=NOW - timedelta(hours=1))
    reply = add_reply(agent, ticket, "ご連絡ありがとうございます")
    assert reply.channel == "x" and reply.meta == {"in_reply_to_post_id": "1002"}
    assert reply.outbox.status == "queued"


def test_reply_refused_on_a_channel_that_cannot_send(client, agent, login_as):
    ticket, _ = make_ticket("電話メモ", channel="phone", kind="phone", sender="090-1234-5678")
    with pytest.raises(ActionRefused):
        add_reply(agent, ticket, "返信")
    login_as(agent)
    page = html(client.get(f"/tickets/{ticket.id}"))
    assert "reply-form" not in page and "note-form" in page
    assert client.post(f"/tickets/{ticket.id}/reply", data={"body": "返信"}).status_code == 422
    fresh()
    assert db.session.scalar(select(func.count(OutboxItem.id))) == 0


def test_empty_reply_is_rejected_and_form_re_rendered(client, agent, login_as):
    ticket, _ = email_ticket()
    login_as(agent)
    response = client.post(f"/tickets/{ticket.id}/reply", data={"body": ""})
    assert response.status_code == 422
    assert "field-error" in response.get_data(as_text=True)


def test_note_is_internal_and_not_queued(client, agent, login_as, published):
    ticket, _ = email_ticket()
    login_as(agent)
    assert client.post(f"/tickets/{ticket.id}/note", data={"body": "社内メモ <i>x</i>"}).status_code == 302
    fresh()
    note = db.session.scalar(select(Message).where(Message.direction == "internal"))
    assert note.author_id == agent.id and note.outbox is None
    assert db.session.scalar(select(func.count(OutboxItem.id))) == 0
    assert db.session.get(Ticket, ticket.id).status == "new"
    assert [t for t, _ in published][-2:] == ["message.created", "ticket.updated"]
    page = html(client.get(f"/tickets/{ticket.id}"))
    assert "dir-internal" in page and "社内メモ &lt;i&gt;x&lt;/i&gt;" in page


def test_update_records_events_with_who_old_new(client, agent, login_as, published):
    other = make_agent("agent", name="佐藤")
    db.session.add(Tag(name="配送"))
    db.session.commit()
    ticket, _ = email_ticket()
    login_as(agent)
    response = client.post(f"/tickets/{ticket.id}/update", data={
        "status": "solved", "priority": "high", "assignee_id": str(other.id), "tags": "配送、 解約, 配送"})
    assert response.status_code == 302
    fresh()
    ticket = db.session.get(Ticket, ticket.id)
    assert (ticket.status, ticket.priority, ticket.assignee_id) == ("solved", "high", other.id)
    assert ticket.solved_at is not None
    assert sorted(t.name for t in ticket.tags) == ["解約", "配送"]
    assert db.session.scalar(select(func.count(Tag.id))) == 2  # 配送 reused, 解約 created
    events = {e.kind: e for e in db.session.scalars(select(Event).where(Event.ticket_id == ticket.id))}
    assert events["ticket.status"].data == {"field": "status", "old": "new", "new": "solved"}
    assert events["ticket.status"].actor_id == agent.id
    assert events["ticket.priority"].data["new"] == "high"
    assigned = events["ticket.assigned"].data
    assert assigned["old"] is None and assigned["new"] == other.id and assigned["new_name"] == "佐藤"
    assert events["ticket.tags"].data == {"field": "tags", "old": [], "new": ["配送", "解約"]}
    mine = {"ticket_id": ticket.id, "customer_id": ticket.customer_id, "actor_id": agent.id,
            "changes": ["status", "priority", "assignee", "tags"], "after_message": False}
    assert ("ticket.updated", mine) in published
    page = html(client.get(f"/tickets/{ticket.id}"))
    assert "ev-ticket-status" in page and "佐藤" in page
    # Taking the ticket assigns it to me.
    assert client.post(f"/tickets/{ticket.id}/take").status_code == 302
    fresh()
    assert db.session.get(Ticket, ticket.id).assignee_id == agent.id
    # Nothing changed: no event, no commit of an empty update.
    count = db.session.scalar(select(func.count(Event.id)))
    assert update_ticket(agent, db.session.get(Ticket, ticket.id), status="solved") == []
    assert db.session.scalar(select(func.count(Event.id))) == count


def test_update_from_a_stale_page_keeps_a_colleagues_change(client, agent, login_as):
    ticket, _ = email_ticket()
    login_as(agent)
    page = html(client.get(f"/tickets/{ticket.id}"))
    rendered = dict(re.findall(r'name="(orig_\w+)" type="hidden" value="([^"]*)"', page))
    assert rendered == {"orig_status": "new", "orig_priority": "normal", "orig_assignee_id": "0", "orig_tags": ""}
    update_ticket(make_agent("supervisor"), ticket, priority="urgent")  # meanwhile, elsewhere
    response = client.post(f"/tickets/{ticket.id}/update", data={
        **rendered, "status": "new", "priority": "normal", "assignee_id": "0", "tags": "返品"})
    assert response.status_code == 302
    fresh()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.priority == "urgent" and [t.name for t in ticket.tags] == ["返品"]


def test_update_refuses_unknown_values(agent):
    ticket, _ = email_ticket()
    with pytest.raises(ActionRefused):
        update_ticket(agent, ticket, status="deleted")
    db.session.rollback()
    with pytest.raises(ActionRefused):
        update_ticket(agent, ticket, assignee_id=999_999)


def test_failed_message_shows_error_and_retry_requeues(client, agent, login_as):
    ticket, _ = email_ticket()
    reply = add_reply(agent, ticket, "送れなかった返信")
    reply.outbox.status, reply.outbox.attempts = "failed", 8
    reply.outbox.last_error = "550 mailbox unavailable"
    db.session.commit()
    item_id = reply.outbox.id
    login_as(agent)
    page = html(client.get(f"/tickets/{ticket.id}"))
    assert "dl-failed" in page and "550 mailbox unavailable" in page and f"/outbox/{item_id}/retry" in page
    assert client.post(f"/outbox/{item_id}/retry").status_code == 302
    fresh()
    item = db.session.get(OutboxItem, item_id)
    assert item.status == "queued" and item.attempts == 0
    retry_event = db.session.scalar(select(Event).where(Event.kind == "message.retry"))
    assert retry_event.actor_id == agent.id and retry_event.data["old"] == "failed"
    # Retrying a queued message is refused without changing anything.
    response = client.post(f"/outbox/{item_id}/retry")
    assert response.status_code == 302
    fresh()
    assert db.session.scalar(select(func.count(Event.id)).where(Event.kind == "message.retry")) == 1
    assert client.post("/outbox/999999/retry").status_code == 404


# -- customer page and merge ------------------------------------------------------------------

def test_customer_page_shows_identities_tickets_and_timeline(client, agent, login_as):
    t_mail, t_x = _two_channel_customer()
    add_commerce(t_mail.customer_id)
    login_as(agent)
    page = html(client.get(f"/customers/{t_mail.customer_id}"))
    for text in ("最初のメール", "二通目のメール", "Xでの投稿です", "@hanako_x", "¥12,345"):
        assert text in page
    assert "merge-form" not in page  # merging is for supervisors (tests/test_customer_merge.py)
    assert f'href="/tickets/{t_mail.id}"' in page and f'href="/tickets/{t_x.id}"' in page
    assert client.get("/customers/999999").status_code == 404


def _customer_with_everything(name: str, email: str):
    ticket, message = email_ticket(f"{name}の問い合わせ", sender=email, name=name)
    customer_id = ticket.customer_id
    add_commerce(customer_id)
    db.session.add(Coupon(customer_id=customer_id, value=500, code=f"C{customer_id}X", ticket_id=ticket.id))
    db.session.add(Event(customer_id=customer_id, ticket_id=None, kind="subscription.skip", data={}))
    db.session.commit()
    return db.session.get(Customer, customer_id), ticket


def test_merge_moves_everything_and_leaves_a_tombstone(agent):
    source, s_ticket = _customer_with_everything("旧 アカウント", "old@example.jp")
    target, t_ticket = _customer_with_everything("新 アカウント", "new@example.jp")
    result = merge_customers(agent, source.id, target.id)
    assert result.moved["identities"] == 1 and result.moved["tickets"] == 1
    assert result.moved["messages"] == 1 and result.moved["orders"] == 2
    assert result.moved["subscriptions"] == 1 and result.moved["coupons"] == 1
    assert result.moved["events"] == 1
    db.session.expire_all()
    source, target = db.session.get(Customer, source.id), db.session.get(Customer, target.id)
    assert source.merged_into_id == target.id
    assert sorted(i.value for i in target.identities) == ["new@example.jp", "old@example.jp"]
    for model in (Ticket, Message, Order, Subscription, Coupon):
        left = select(func.count()).select_from(model).where(model.customer_id == source.id)
        assert db.session.scalar(left) == 0
    merged = db.session.scalar(select(Event).where(Event.kind == "customer.merged"))
    assert merged.customer_id == target.id and merged.actor_id == agent.id
    assert merged.data["source"] == source.id and merged.data["target"] == target.id
    assert merged.data["moved"]["orders"] == 2
    # The source's address now finds the survivor.
    ticket, _ = make_ticket("また連絡します", channel="email", sender="old@example.jp", subject="別件")
    assert ticket.customer_id == target.id


@pytest.mark.parametrize("case", ["self", "source_tombstone", "target_tombstone", "missing"])
def test_merge_refusals(agent, case):
    a, b, c = make_customer("A"), make_customer("B"), make_customer("C")
    if case == "self":
        source, target = a.id, a.id
    elif case == "missing":
        source, target = a.id, 999_999
    else:
        merge_customers(agent, b.id, c.id)
        source, target = (b.id, a.id) if case == "source_tombstone" else (a.id, b.id)
    with pytest.raises(ValueError) as info:
        merge_customers(agent, source, target)
    assert str(info.value)
    db.session.rollback()
    assert db.session.get(Customer, a.id).merged_into_id is None


def test_merge_through_the_customer_page(client, supervisor, login_as):
    source, _ = _customer_with_everything("旧", "old@example.jp")
    target, _ = _customer_with_everything("新", "new@example.jp")
    login_as(supervisor)
    response = client.post(f"/customers/{source.id}/merge", data={"target_id": str(target.id)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/customers/{target.id}")
    page = html(client.get(f"/customers/{target.id}"))
    assert "旧の問い合わせ" in page and "新の問い合わせ" in page
    # The tombstone's page leads to the survivor; merging it again is refused.
    response = client.get(f"/customers/{source.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/customers/{target.id}")
    assert client.post(f"/customers/{source.id}/merge", data={"target_id": str(target.id)}).status_code == 404
    response = client.post(f"/customers/{target.id}/merge", data={"target_id": str(target.id)},
                           follow_redirects=True)
    assert "flash-error" in html(response)


def test_japanese_browsers_get_japanese(client):
    for header in ("ja-JP", "ja", "en-US;q=0.5, ja-JP;q=0.9", "ja_JP"):
        html = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)
        assert '<html lang="ja">' in html and "ログイン" in html, header
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
