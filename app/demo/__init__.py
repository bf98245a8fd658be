"""Demo data: a believable Japanese single-product subscription shop (単品リピート通販).

`seed()` plans everything in memory from generators derived from one seed — customers and their
purchase history, then the conversations, which may skip, pause or cancel subscriptions — and only
then writes it: agents, products, customers, subscriptions and orders directly (they are the shop
system's mirror), and every customer message through `ingest()`, the one path real messages take.
The same seed gives the same shop (relative to `now`).
"""
from __future__ import annotations

import random
from datetime import datetime
from typing import Optional

from sqlalchemy import func, select

from app.auth.services import create_agent
from app.demo import data
from app.demo.people import Taken
from app.demo.plan import plan_conversations
from app.demo.play import Player
from app.demo.shop import jst_date, plan_customers, write_customers, write_products
from app.extensions import db
from app.models import Agent, Customer, Message, Order, Product, Subscription, Ticket, utcnow


def conversation_count(customers: int) -> int:
    """About one conversation for every three customers, never fewer than a dozen."""
    return max(12, customers * 35 // 100)


def seed(customers: int = 200, seed: int = 7, now: Optional[datetime] = None) -> str:
    """Fill an empty database with the demo shop; returns a one-paragraph summary of counts."""
    now = (now or utcnow()).replace(microsecond=0)
    for email, name, role, _weight, _en in data.AGENTS:
        create_agent(email, data.PASSWORD, role=role, name=name)
    taken = Taken()
    plans = plan_customers(seed, customers, now, taken)
    conversations = plan_conversations(seed, plans, conversation_count(customers), taken, now)
    write_customers(plans, write_products(), jst_date(now))
    db.session.commit()
    from app.demo.sla import seed_sla_policies

    seed_sla_policies()  # before the conversations: their tickets get SLA clocks
    player = Player(random.Random(f"{seed}:play"))
    for conversation in conversations:
        player.play(conversation)
    from app.demo.crosschannel import play_cross_channel, seed_listening_and_failed_sends

    play_cross_channel(now)  # one customer on X, email and phone: three tickets, one timeline
    seed_listening_and_failed_sends(now)
    from app.macros.services import seed_demo_macros

    seed_demo_macros()  # canned replies and the reply-check starter dictionary
    from app.demo.followup import seed_followup

    seed_followup(seed, now)  # two follow-up plans with steps sent and calls due today
    return summary()


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery()))


def summary() -> str:
    """Counts of what the database now holds, for the command line."""
    per_customer = select(Order.customer_id, func.count(Order.id).label("n")).group_by(Order.customer_id).subquery()
    segments = dict(db.session.execute(select(per_customer.c.n, func.count()).group_by(per_customer.c.n)).all())
    new = segments.get(1, 0)
    second = segments.get(2, 0)
    loyal = sum(count for n, count in segments.items() if n >= 3)
    subs = dict(db.session.execute(select(Subscription.status, func.count()).group_by(Subscription.status)).all())
    tickets = dict(db.session.execute(select(Ticket.channel, func.count()).group_by(Ticket.channel)).all())
    return (
        f"Demo shop ready: {_count(select(Agent.id))} agents, {_count(select(Product.id))} products, "
        f"{_count(select(Customer.id))} customers ({new} new, {second} second purchase, {loyal} loyal), "
        f"{_count(select(Order.id))} orders, {sum(subs.values())} subscriptions "
        f"({subs.get('active', 0)} active, {subs.get('paused', 0)} paused, {subs.get('cancelled', 0)} cancelled), "
        f"{sum(tickets.values())} tickets ({', '.join(f'{k} {v}' for k, v in sorted(tickets.items()))}), "
        f"{_count(select(Message.id))} messages."
    )
