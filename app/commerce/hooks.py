"""POST /hooks/commerce: the shop tells us about orders, subscriptions, customers and products.

Signed like every Tsunagu hook: `X-Tsunagu-Timestamp` (unix seconds) and
`X-Tsunagu-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with
COMMERCE_WEBHOOK_SECRET>`; a timestamp outside the replay window (COMMERCE_WEBHOOK_REPLAY_SECONDS,
default 300) is refused, so a captured request cannot be replayed later, and the upserts are
idempotent, so a replay inside the window changes nothing. No session, so CSRF-exempt.

Body: {"type": "order.updated", "id": "<event id>", "data": {"external_id": "...", ...}}, where
the type's first part is order | subscription | customer | product (any verb: created, updated,
upserted...), or "action.result" {"key": "<idempotency key>", "ok": true, "error": ""} to confirm
an action the shop had answered 202 to.
"""
from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request
from marshmallow import ValidationError

from app import bus
from app.commerce.schemas import SCHEMAS
from app.commerce.upserts import UpsertError, upsert
from app.extensions import csrf, db
from app.shop.backends import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from app.shop.delivery import shop_result

bp = Blueprint("commerce_hooks", __name__)


def check_signature(secret: str, timestamp: str, signature: str, body: bytes, window: int,
                    now: float | None = None) -> str | None:
    """None when the request is authentic and fresh, else why not."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return "missing or malformed timestamp"
    if abs((now or time.time()) - sent) > window:
        return "timestamp outside the replay window"
    if not verify(secret, timestamp, body, signature or ""):
        return "bad signature"
    return None


@bp.post("/hooks/commerce")
@csrf.exempt
def commerce_hook():
    """Receive one signed shop event."""
    secret = current_app.config.get("COMMERCE_WEBHOOK_SECRET")
    if not secret:
        return jsonify(error="not_configured", message="COMMERCE_WEBHOOK_SECRET is not set"), 503
    body = request.get_data(cache=True)
    problem = check_signature(secret, request.headers.get(TIMESTAMP_HEADER, ""),
                              request.headers.get(SIGNATURE_HEADER, ""), body,
                              int(current_app.config.get("COMMERCE_WEBHOOK_REPLAY_SECONDS", 300)))
    if problem:
        return jsonify(error="unauthorized", message=problem), 401
    event = request.get_json(silent=True)
    if not isinstance(event, dict) or not isinstance(event.get("type"), str) or not isinstance(event.get("data"), dict):
        return jsonify(error="bad_request", message="expected {type, data}"), 400
    kind = event["type"].split(".", 1)[0]
    data = event["data"]
    if event["type"] == "action.result":
        action = shop_result(str(data.get("key", "")), bool(data.get("ok")), str(data.get("error") or ""))
        if action is None:
            return jsonify(error="not_found", message="no action with that key"), 404
        return jsonify(status=action.backend_status, action_id=action.id)
    if kind not in SCHEMAS:
        return jsonify(error="bad_request", message=f"unknown event type {event['type']!r}"), 400
    external_id = str(data.get("external_id") or "").strip()
    if not external_id or len(external_id) > 100:
        return jsonify(error="validation", fields={"external_id": "required, at most 100 characters"}), 422
    try:
        loaded = SCHEMAS[kind]().load({k: v for k, v in data.items() if k != "external_id"})
        result = upsert(kind, external_id, loaded)
        db.session.commit()
        if kind == "subscription" and result.status == "updated":
            bus.publish("subscription.synced", subscription_id=result.id)
    except ValidationError as exc:
        db.session.rollback()
        return jsonify(error="validation", fields=exc.messages), 422
    except UpsertError as exc:
        db.session.rollback()
        return jsonify(error="validation", fields=exc.errors), 422
    return jsonify(status=result.status, id=result.id, external_id=external_id, warnings=result.warnings)
