"""Test helpers (a pytest plugin): make_customer, make_ticket, agents and login_as."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from app.auth.services import create_agent
from app.extensions import db
from app.ingest import InboundMessage, Sender, ingest

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


def inbound(text: str = "こんにちは", *, channel: str = "api", sender: str | None = None,
            kind: str = "email", external_id: str | None = None, subject: str = "お問い合わせ",
            created_at: datetime | None = None, **kwargs) -> InboundMessage:
    """An InboundMessage with sensible defaults."""
    n = next(_seq)
    return InboundMessage(
        channel=channel, external_id=external_id or f"test-{n}",
        sender=Sender(kind, sender or f"customer{n}@example.jp", kwargs.pop("name", "")),
        created_at=created_at or datetime.now(timezone.utc) - timedelta(minutes=5),
        subject=subject, body_text=text, **kwargs)


def make_ticket(text: str = "商品について質問です", **kwargs):
    """Ingest a message and return (ticket, message) ORM objects."""
    from app.models import Message, Ticket

    result = ingest(inbound(text, **kwargs))
    return db.session.get(Ticket, result.ticket_id), db.session.get(Message, result.message_id)


def make_customer(name: str = "山田 花子", email: str | None = None):
    from app.models import Customer, Identity

    customer = Customer(name=name)
    db.session.add(customer)
    db.session.flush()
    db.session.add(Identity(customer_id=customer.id, kind="email",
                            value=email or f"c{next(_seq)}@example.jp"))
    db.session.commit()
    return customer


def make_agent(role: str = "agent", email: str | None = None, **kwargs):
    return create_agent(email or f"{role}{next(_seq)}@tsunagu.test", PASSWORD, role=role, **kwargs)


@pytest.fixture
def agent(app):
    return make_agent("agent", name="担当 一郎")


@pytest.fixture
def supervisor(app):
    return make_agent("supervisor", name="監督 花子")


@pytest.fixture
def login_as(client):
    """login_as(agent) signs the test client in as that agent."""

    def do(agent):
        response = client.post("/login", data={"email": agent.email, "password": PASSWORD})
        assert response.status_code == 302, response.data[:500]
        return agent

    return do
