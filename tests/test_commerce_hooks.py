"""POST /hooks/commerce: HMAC-SHA256 signature, replay window, idempotent order/subscription events."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from app.commerce.hooks import check_signature
from app.extensions import db
from app.models import Order, Subscription
from app.shop.backends import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.retention_helpers import make_product

SECRET = "hook-secret"


@pytest.fixture
def hook(app, client):
    app.config["COMMERCE_WEBHOOK_SECRET"] = SECRET
    product = make_product()
    db.session.commit()

    def send(event: dict | bytes, *, ts: int | None = None, secret: str = SECRET, signature: str | None = None):
        body = event if isinstance(event, bytes) else json.dumps(event, ensure_ascii=False).encode()
        stamp = str(int(time.time()) if ts is None else ts)
        sig = signature if signature is not None else "sha256=" + sign(secret, stamp, body)
        return client.post("/hooks/commerce", data=body, content_type="application/json",
                           headers={TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sig})

    send.product = product
    return send


def order_event(product, status="ordered"):
    return {"type": "order.created", "id": "evt-1",
            "data": {"external_id": "W-1", "customer_external_id": "C-1", "email": "hook@example.jp",
                     "ordered_at": "2025-04-01T10:00:00+09:00", "status": status,
                     "lines": [{"product_external_id": product.external_id, "quantity": 1, "unit_price": 3780}]}}


def test_signed_order_event_is_upserted_and_a_replay_changes_nothing(hook):
    event = order_event(hook.product)
    first = hook(event)
    assert first.status_code == 200 and first.get_json()["status"] == "created"
    assert hook(event).get_json()["status"] == "unchanged"
    assert hook(order_event(hook.product, "shipped")).get_json()["status"] == "updated"
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_subscription_event(hook):
    event = {"type": "subscription.updated", "data": {
        "external_id": "S-9", "customer_external_id": "C-1", "product_external_id": hook.product.external_id,
        "status": "paused", "paused_until": "2025-06-01", "cycle_days": 60}}
    assert hook(event).get_json()["status"] == "created"
    assert db.session.scalar(select(Subscription.status)) == "paused"


@pytest.mark.parametrize("case,expected", [
    ("bad signature", 401), ("wrong secret", 401), ("old timestamp", 401), ("future timestamp", 401),
    ("no timestamp", 401),
])
def test_forged_or_stale_requests_are_refused(hook, case, expected):
    event = order_event(hook.product)
    if case == "bad signature":
        response = hook(event, signature="sha256=" + "0" * 64)
    elif case == "wrong secret":
        response = hook(event, secret="guess")
    elif case == "old timestamp":
        response = hook(event, ts=int(time.time()) - 301)
    elif case == "future timestamp":
        response = hook(event, ts=int(time.time()) + 301)
    else:
        response = hook(event, ts=0, signature="sha256=x")
    assert response.status_code == expected
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_body_tampering_breaks_the_signature(hook, client):
    body = json.dumps(order_event(hook.product)).encode()
    stamp = str(int(time.time()))
    sig = "sha256=" + sign(SECRET, stamp, body)
    tampered = body.replace(b"3780", b"1")
    response = client.post("/hooks/commerce", data=tampered, content_type="application/json",
                           headers={TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sig})
    assert response.status_code == 401


def test_bad_events_get_clear_errors(hook):
    assert hook(b"not json").status_code == 400
    assert hook({"type": "refund.created", "data": {"external_id": "x"}}).status_code == 400
    response = hook({"type": "order.created", "data": {"external_id": "W-2", "email": "a@example.jp",
                                                       "ordered_at": "2025-04-01T10:00:00+09:00",
                                                       "lines": [{"product_external_id": "NOPE"}]}})
    assert response.status_code == 422 and "unknown product" in json.dumps(response.get_json())
    assert hook({"type": "action.result", "data": {"key": "nope", "ok": True}}).status_code == 404


def test_without_a_secret_the_hook_is_off(app, client):
    app.config["COMMERCE_WEBHOOK_SECRET"] = None
    assert client.post("/hooks/commerce", json={}).status_code == 503


def test_check_signature_window():
    body = b"{}"
    assert check_signature("s", "1000", "sha256=" + sign("s", "1000", body), body, 300, now=1200) is None
    assert check_signature("s", "1000", "sha256=" + sign("s", "1000", body), body, 300, now=1301)
