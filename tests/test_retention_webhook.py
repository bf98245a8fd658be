"""The webhook commerce backend against a real HTTP server on loopback: 200, 202, 4xx, 500, timeout."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Event, RetentionCase, Subscription, SubscriptionAction, utcnow
from app.retention import panel, services
from app.retention.actions import ActionError
from app.shop import delivery
from app.shop.backends import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookBackend, sign, verify
from tests.factories import make_ticket
from tests.retention_helpers import make_product, make_subscription, req  # noqa: F401  (fixture)
from tests.shop_server import ShopServer

SECRET = "shop-secret"


@pytest.fixture
def shop(req):
    server = ShopServer()
    req.config.update(COMMERCE_BACKEND="webhook", COMMERCE_BACKEND_URL=server.url, COMMERCE_BACKEND_SECRET=SECRET,
                      COMMERCE_BACKEND_TIMEOUT=0.3, COMMERCE_BACKEND_MAX_ATTEMPTS=3,
                      COMMERCE_WEBHOOK_SECRET="hook-secret")
    yield server
    server.close()


@pytest.fixture
def setup(shop, agent):
    ticket, _ = make_ticket("定期便を解約したいです。余っています。")
    db.session.refresh(ticket)
    sub = make_subscription(ticket.customer_id, make_product(),
                            next_ship=services.calendar().today + timedelta(days=20))
    return ticket, sub


def req_config():
    from flask import current_app

    return current_app.config


def make_due() -> None:
    db.session.execute(update(SubscriptionAction).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_success_is_signed_acknowledged_and_applied(shop, setup, agent):
    ticket, sub = setup
    old_next = sub.next_ship_date
    action = services.execute(agent, ticket, "skip", {}, sub.id, idempotency_key="form-1").action
    assert action.backend == "webhook" and action.backend_status == "acked"
    got = shop.requests[0]
    assert verify(SECRET, got["headers"][TIMESTAMP_HEADER], got["body"], got["headers"][SIGNATURE_HEADER])
    assert abs(int(got["headers"][TIMESTAMP_HEADER]) - time.time()) < 60
    body = json.loads(got["body"])
    assert body["kind"] == "skip" and body["idempotency_key"] == "form-1"
    assert body["subscription"]["external_id"] == sub.external_id
    assert body["before"]["next_ship_date"] == old_next.isoformat()
    assert body["requested_at"] == ticket.intent_at.isoformat() and body["agent"] == agent.email
    db.session.refresh(sub)
    assert sub.next_ship_date == old_next + timedelta(days=30)


def test_500_stays_pending_local_record_untouched_then_retried(shop, setup, agent):
    ticket, sub = setup
    old_next = sub.next_ship_date
    shop.script = [(500, {"message": "database is down"}, 0)]
    action = services.execute(agent, ticket, "skip", {}, sub.id).action
    assert action.backend_status == "pending" and "HTTP 500: database is down" in action.backend_error
    assert action.next_attempt_at > utcnow()
    db.session.refresh(sub)
    assert sub.next_ship_date == old_next  # nothing half-applied
    assert db.session.scalar(select(RetentionCase.outcome)) == "open"
    with pytest.raises(ActionError, match="still pending"):
        services.execute(agent, ticket, "pause", {"months": 1}, sub.id)
    built = panel.build(ticket)
    assert built.history[0].backend_status == "pending"
    # the ladder says so instead of offering a click that would be refused; cancel stays available
    held = [o for c in built.cards if c.kind not in ("cancel", "coupon") for o in c.options]
    assert held and all(o.error for o in held) and any("still pending" in o.error for o in held)
    assert built.cards[-1].kind == "cancel" and built.cards[-1].options[0].error is None
    make_due()
    assert delivery.retry_due() == 1
    db.session.refresh(action)
    db.session.refresh(sub)
    assert action.backend_status == "acked" and action.attempts == 2
    assert sub.next_ship_date == old_next + timedelta(days=30)
    assert db.session.scalar(select(RetentionCase.outcome)) == "pending"  # saved once it holds


def test_repeated_500_ends_failed_and_can_be_sent_again(shop, setup, agent):
    ticket, sub = setup
    shop.default = (500, "Internal Server Error", 0)
    action = services.execute(agent, ticket, "cycle", {"cycle_days": 60}, sub.id).action
    for _ in range(2):
        make_due()
        delivery.retry_due()
    db.session.refresh(action)
    assert action.backend_status == "failed" and action.backend_error.startswith("gave up after 3 attempts")
    assert db.session.scalar(select(Event).where(Event.kind == "subscription.action_failed")) is not None
    db.session.refresh(sub)
    assert sub.cycle_days == 30
    shop.default = (200, {"ok": True}, 0)
    result = services.retry_failed(agent, ticket, action.id)
    assert result.action.backend_status == "acked"
    db.session.refresh(sub)
    assert sub.cycle_days == 60


def test_timeout_is_pending_with_a_clear_reason(shop, setup, agent):
    ticket, sub = setup
    shop.script = [(200, {"ok": True}, 1.5), (200, {"ok": True}, 1.5)]
    action = services.execute(agent, ticket, "skip", {}, sub.id).action
    assert action.backend_status == "pending"
    assert action.backend_error == "the shop did not answer within 0.3 s"
    db.session.refresh(sub)
    assert sub.next_ship_date.isoformat() == action.before["next_ship_date"]  # untouched
    # the backend gives up at its timeout, not when the slow shop finally answers
    started = time.monotonic()
    result = WebhookBackend(req_config()).send({"action_id": 0})
    assert result.status == "pending" and result.retry and time.monotonic() - started < 1.2


def test_unreachable_shop_is_pending(shop, setup, agent):
    ticket, sub = setup
    shop.close()
    action = services.execute(agent, ticket, "skip", {}, sub.id).action
    assert action.backend_status == "pending" and "could not reach the shop" in action.backend_error


def test_refusal_fails_with_the_shops_reason_and_changes_nothing(shop, setup, agent):
    ticket, sub = setup
    shop.script = [(409, {"message": "subscription already cancelled at the shop"}, 0)]
    result = services.execute(agent, ticket, "pause", {"months": 2}, sub.id)
    assert result.action.backend_status == "failed"
    assert result.action.backend_error == "HTTP 409: subscription already cancelled at the shop"
    assert "subscription already cancelled at the shop" in result.message
    db.session.refresh(sub)
    assert sub.status == "active"


def test_accepted_202_waits_for_the_shops_confirmation_hook(shop, setup, agent, client):
    ticket, sub = setup
    shop.script = [(202, {"status": "queued"}, 0)]
    action = services.execute(agent, ticket, "cancel", {}, sub.id, idempotency_key="cancel-1").action
    assert action.backend_status == "pending" and action.next_attempt_at is None
    assert delivery.retry_due() == 0  # not sent again: the shop will confirm
    body = json.dumps({"type": "action.result", "id": "evt-1", "data": {"key": "cancel-1", "ok": True}}).encode()
    ts = str(int(time.time()))
    response = client.post("/hooks/commerce", data=body, content_type="application/json",
                           headers={TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: "sha256=" + sign("hook-secret", ts, body)})
    assert response.status_code == 200 and response.get_json()["status"] == "acked"
    db.session.expire_all()
    assert db.session.get(Subscription, sub.id).status == "cancelled"
    assert db.session.scalar(select(RetentionCase.outcome)) == "cancelled"
