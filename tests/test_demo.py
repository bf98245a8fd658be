"""`flask seed-demo`: a small demo shop is complete, consistent and safe, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from app.demo import data
from app.demo.people import Taken
from app.demo.plan import plan_conversations
from app.demo.shop import jst_date, plan_customers
from app.extensions import db
from app.models import Agent, Customer, Event, Message, Order, OutboxItem, Subscription, Ticket, utcnow
from app.outbox import deliver_due


def _seed(runner, customers: int = 20):
    result = runner.invoke(args=["seed-demo", "--customers", str(customers)])
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_demo_agents_can_sign_in(runner, client):
    output = _seed(runner)
    assert "Demo shop ready" in output
    assert "agent@demo.example" in output

    roles = dict(db.session.execute(select(Agent.email, Agent.role)).all())
    assert roles["agent@demo.example"] == "agent"
    assert roles["supervisor@demo.example"] == "supervisor"
    assert len(roles) >= 4
    for email in ("agent@demo.example", "supervisor@demo.example"):
        response = client.post("/login", data={"email": email, "password": data.PASSWORD})
        assert response.status_code == 302, response.data[:300]
        client.post("/logout")

    again = runner.invoke(args=["seed-demo", "--if-empty"])
    assert again.exit_code == 0 and "skipped" in again.output
    assert db.session.scalar(select(func.count(Agent.id))) == len(roles)


def test_seed_demo_shop_and_conversations_are_consistent(runner):
    _seed(runner)
    now = utcnow()

    shop_customers = db.session.scalars(select(Customer).where(Customer.external_id.is_not(None))).all()
    assert len(shop_customers) == 20
    assert all(c.name and c.name_kana and c.identities for c in shop_customers)
    orders_per_customer = dict(db.session.execute(
        select(Order.customer_id, func.count(Order.id)).group_by(Order.customer_id)).all())
    assert all(orders_per_customer.get(c.id, 0) >= 1 for c in shop_customers)
    assert any(n >= 3 for n in orders_per_customer.values())  # loyal customers exist
    assert any(n <= 2 for n in orders_per_customer.values())  # and new customers

    # Subscriptions agree with the orders they produced.
    today = jst_date(now)
    for sub in db.session.scalars(select(Subscription)):
        shipped = sorted(jst_date(o.ordered_at) for o in
                         db.session.scalars(select(Order).where(Order.subscription_id == sub.id)))
        assert sub.deliveries == len(shipped) >= 1
        assert sub.last_ship_date == shipped[-1] < today
        assert sub.started_on <= shipped[0]
        assert sub.price == sub.product.subscription_price * sub.quantity
        if sub.status == "active":
            assert sub.next_ship_date >= today and sub.cancelled_at is None
        elif sub.status == "paused":
            assert sub.paused_until > today and sub.next_ship_date == sub.paused_until
        else:
            assert sub.status == "cancelled" and sub.next_ship_date is None
            assert sub.cancelled_at is not None and jst_date(sub.cancelled_at) >= sub.last_ship_date
    for order in db.session.scalars(select(Order)):
        assert order.total == sum(line.quantity * line.unit_price for line in order.lines) > 0
        assert order.ordered_at < now

    tickets = db.session.scalars(select(Ticket)).all()
    assert len(tickets) >= 12
    assert {"email", "phone", "x"} <= {t.channel for t in tickets}
    assert {t.status for t in tickets} >= {"new", "open", "solved", "closed"}

    messages = db.session.scalars(select(Message)).all()
    inbound = [m for m in messages if m.direction == "in"]
    # Every customer message went through ingest(): it has the content hash ingest computes.
    assert inbound and all(m.content_hash and m.external_id for m in inbound)
    assert all(m.raw_id for m in inbound if m.channel in ("email", "x"))
    assert all(m.meta.get("direction") == "inbound" and m.meta["duration_seconds"] >= 0
               for m in inbound if m.channel == "phone")
    for m in messages:
        assert m.created_at <= now and m.created_at.tzinfo is not None
        if m.direction != "in":
            assert m.author_id is not None and m.content_hash == ""

    # Agents' replies are history: recorded as sent, never waiting for the worker, except the two
    # the mail server refused on purpose (the inbox's "delivery failed" view has something to show).
    replies = [m for m in messages if m.direction == "out"]
    assert replies and all(m.outbox is not None and m.outbox.status in ("sent", "failed") for m in replies)
    assert db.session.scalar(select(func.count(OutboxItem.id)).where(OutboxItem.status != "sent")) == 2
    assert all(m.outbox is None for m in messages if m.direction == "internal")
    assert deliver_due() == {}

    for ticket in tickets:
        own = [m for m in messages if m.ticket_id == ticket.id]
        if all(m.meta.get("kind") == "followup" for m in own):
            continue  # an after-care mail (app.followup): nobody asked, so no first response, no assignee
        outs = [m.created_at for m in own if m.direction == "out"]
        assert ticket.created_at == min(m.created_at for m in own)
        assert ticket.last_activity_at >= max(m.created_at for m in own)
        assert ticket.last_agent_message_at == (max(outs) if outs else None)
        delivered = [m.created_at for m in own if m.direction == "out" and m.outbox.status == "sent"]
        if delivered:  # a refused reply never counts as the answer
            assert ticket.first_response_at == min(delivered) or ticket.channel == "phone"
        elif outs:
            assert ticket.first_response_at is None
        if ticket.status in ("solved", "closed"):
            assert ticket.solved_at is not None
        if ticket.status == "closed":
            assert ticket.closed_at >= ticket.solved_at
        if ticket.status != "new":
            assert ticket.assignee_id is not None

    events = db.session.scalars(select(Event).where(Event.kind.in_(["ticket.status", "ticket.assigned"]))).all()
    assert {e.kind for e in events} == {"ticket.status", "ticket.assigned"}
    assert all({"field", "old", "new"} <= set(e.data) and e.created_at <= now for e in events)
    # What agents did to subscriptions is on the timeline, and the subscriptions show it.
    for event in db.session.scalars(select(Event).where(Event.kind.like("subscription.%"))):
        sub = db.session.get(Subscription, event.data["subscription_id"])
        assert event.actor_id and event.data["changes"] and event.data["before"]["status"] == "active"
        if event.kind == "subscription.cancel":
            assert sub.status == "cancelled" and sub.cancelled_at == event.created_at
        if event.kind == "subscription.skip":
            assert event.data["after"]["next_ship_date"] > event.data["before"]["next_ship_date"]


def test_same_seed_same_shop():
    """Planning is pure and driven by one generator: the same seed plans the same shop."""
    now = datetime(2025, 3, 14, 3, 0, tzinfo=timezone.utc)

    def plan(seed: int):
        taken = Taken()
        customers = plan_customers(seed, 30, now, taken)
        conversations = plan_conversations(seed, customers, 12, taken, now)
        return ([(c.person.name, c.person.email, c.person.phone, [(o.external_id, o.total) for o in c.orders()])
                 for c in customers],
                [(c.script.key, c.person.name, [(t.at, t.text) for t in c.turns]) for c in conversations])

    first = plan(7)
    assert plan(7) == first
    assert plan(8) != first
    # A week later the same seed brings the same people (their history is relative to the day).
    later = plan_customers(7, 30, now + timedelta(days=7), Taken())
    assert [(c.person.name, c.person.email) for c in later] == [(name, email) for name, email, *_ in first[0]]


def test_one_demo_customer_reached_us_on_email_phone_and_x(runner, client):
    """The cross-channel story: one customer, three channels, one timeline on the customer page."""
    _seed(runner)
    channels = db.session.execute(
        select(Message.customer_id, func.count(func.distinct(Message.channel)))
        .where(Message.direction == "in", Message.channel.in_(("email", "phone", "x")))
        .group_by(Message.customer_id)).all()
    customer_id = next(cid for cid, n in channels if n == 3)
    client.post("/login", data={"email": "agent@demo.example", "password": data.PASSWORD})
    page = client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "定期便がまだ届きません" in page and "通話メモ" in page and "発送されてますか" in page


def test_the_demo_has_listening_posts_and_replies_that_failed(runner):
    from app.models import ListeningPost

    _seed(runner)
    assert db.session.scalar(select(func.count(ListeningPost.id))) >= 4
    failed = db.session.scalars(select(OutboxItem).where(OutboxItem.status == "failed")).all()
    assert len(failed) == 2
    for item in failed:
        assert "550" in item.last_error and item.message.ticket.status == "open"
