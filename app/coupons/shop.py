"""Carrying issued coupons to the shop through the shop package (backend local | webhook).

An issued coupon becomes a SubscriptionAction of kind "coupon" in the same transaction (an
outbox row: pending until the backend acknowledges it), so the shop learns of every coupon we
committed and of no coupon we rolled back. After commit, `coupon.issued` on the bus delivers it
now; whatever cannot be delivered stays pending for the worker's retries (app.shop.delivery).
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from app import bus
from app.extensions import db
from app.models import Agent, Coupon, SubscriptionAction
from app.shop import delivery

log = logging.getLogger(__name__)


def coupon_payload(coupon: Coupon) -> dict:
    """What the shop needs to create the coupon on its side."""
    return {"coupon_id": coupon.id, "code": coupon.code, "kind": coupon.kind, "value": coupon.value,
            "expires_at": coupon.expires_at.isoformat() if coupon.expires_at else None,
            "max_uses": coupon.max_uses, "customer_id": coupon.customer_id}


def queue_for_shop(coupon: Coupon, actor: Agent) -> SubscriptionAction:
    """Add the outbox row for `coupon` to the current transaction (the caller commits)."""
    return delivery.new_action(
        kind="coupon", customer_id=coupon.customer_id, ticket_id=coupon.ticket_id,
        params=coupon_payload(coupon), note=coupon.reason_text or coupon.reason,
        actor_id=actor.id, idempotency_key=f"coupon:{coupon.id}")


@bus.subscribe("coupon.issued")
def deliver_after_commit(coupon_id: int, **_) -> None:
    """Hand the coupon's action to the shop backend."""
    action_id = db.session.scalar(select(SubscriptionAction.id).where(
        SubscriptionAction.idempotency_key == f"coupon:{coupon_id}"))
    if action_id is not None:
        delivery.deliver(action_id)
