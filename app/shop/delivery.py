"""Carrying recorded actions to the shop and recording what the shop said.

An action is stored 'pending' with its before/after in the transaction that decided it. After
commit, `deliver()` claims it (a conditional UPDATE, so the web request and the worker never send
the same action twice at once), calls the backend outside any transaction, and records the
answer in a new one:
- acked: the features that queued the action are told (`on_acknowledged` handlers, in the same
  transaction): retention writes the after-state onto the local subscription only now, so the
  local record and the shop agree;
- pending + retry: sent again by the worker with backoff, up to COMMERCE_BACKEND_MAX_ATTEMPTS,
  then failed with the last error;
- pending without retry (202): the shop confirms later through POST /hooks/commerce;
- failed: the shop refused; the reason is shown and nothing local changed.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Callable, Optional

from flask import current_app
from sqlalchemy import or_, select, update

from app import bus
from app.extensions import db
from app.models import Customer, Event, SubscriptionAction, utcnow
from app.outbox.service import backoff
from app.shop import backends
from app.shop.backends import ACKED, FAILED, PENDING, BackendResult
from app.worker import register_job

log = logging.getLogger(__name__)
CLAIM_SECONDS = 120

AckHandler = Callable[[SubscriptionAction], None]
_ack_handlers: list[AckHandler] = []


def on_acknowledged(handler: AckHandler) -> AckHandler:
    """Register `handler(action)`, called when the shop applied an action, inside the transaction
    that records it (the handler must not commit). Usable as a decorator; registering twice is a
    no-op. This is how the shop package tells retention (or any feature) without importing it."""
    if handler not in _ack_handlers:
        _ack_handlers.append(handler)
    return handler


def new_action(**fields: Any) -> SubscriptionAction:
    """A pending action for the configured backend, added to the current transaction (the caller
    commits, then calls deliver() with its id)."""
    fields.setdefault("backend", backends.configured_name(current_app.config))
    action = SubscriptionAction(backend_status=PENDING, **fields)
    db.session.add(action)
    return action


def payload(action: SubscriptionAction) -> dict[str, Any]:
    """What the shop receives: the change, the ids it knows, and who asked when."""
    sub = action.subscription
    customer = db.session.get(Customer, action.customer_id)
    case = action.case
    return {
        "action_id": action.id, "idempotency_key": action.idempotency_key or f"action:{action.id}",
        "kind": action.kind, "params": action.params, "before": action.before, "after": action.after,
        "subscription": {"id": sub.id, "external_id": sub.external_id} if sub else None,
        "customer": {"id": action.customer_id, "external_id": customer.external_id if customer else None},
        "requested_at": case.first_requested_at.isoformat() if case else None,
        "reason": case.reason if case else None,
        "agent": action.actor.email if action.actor else None, "created_at": action.created_at.isoformat(),
    }


def _claim(action_id: int) -> bool:
    now = utcnow()
    result = db.session.execute(
        update(SubscriptionAction)
        .where(SubscriptionAction.id == action_id, SubscriptionAction.backend_status == PENDING,
               or_(SubscriptionAction.next_attempt_at.is_(None) & (SubscriptionAction.attempts == 0),
                   SubscriptionAction.next_attempt_at <= now))
        .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def deliver(action_id: int) -> Optional[str]:
    """Send one pending action to its backend now; returns the status it ends in (None: not ours)."""
    if not _claim(action_id):
        return None
    action = db.session.get(SubscriptionAction, action_id)
    db.session.refresh(action)
    try:
        backend = backends.get(action.backend, current_app.config)
        body = payload(action)
        db.session.commit()  # end the read transaction: no lock is held while the shop answers
        result = backend.send(body)
    except ValueError as exc:  # unknown backend name: a configuration error, shown on the action
        result = BackendResult(FAILED, str(exc))
    return record_result(action_id, result)


def record_result(action_id: int, result: BackendResult) -> str:
    """Write the backend's answer (one transaction), then publish."""
    action = db.session.get(SubscriptionAction, action_id)
    db.session.refresh(action)
    if action.backend_status != PENDING:
        return action.backend_status
    action.attempts += 1
    if result.status == ACKED:
        acknowledge(action)
    elif result.status == PENDING and result.retry:
        limit = int(current_app.config.get("COMMERCE_BACKEND_MAX_ATTEMPTS", 6))
        if action.attempts >= limit:
            _fail(action, f"gave up after {action.attempts} attempts: {result.error}")
        else:
            action.backend_error = result.error
            action.next_attempt_at = utcnow() + backoff(action.attempts)
    elif result.status == PENDING:
        action.backend_error, action.next_attempt_at = None, None  # the shop will confirm by hook
    else:
        _fail(action, result.error or "refused by the shop")
    db.session.commit()
    _publish(action)
    return action.backend_status


def acknowledge(action: SubscriptionAction) -> None:
    """The shop applied it: tell the registered features, which make the local record agree
    (caller commits)."""
    action.backend_status, action.acked_at = ACKED, utcnow()
    action.backend_error, action.next_attempt_at = None, None
    for handler in list(_ack_handlers):
        handler(action)


def _fail(action: SubscriptionAction, error: str) -> None:
    action.backend_status, action.backend_error, action.next_attempt_at = FAILED, error[:2000], None
    db.session.add(Event(customer_id=action.customer_id, ticket_id=action.ticket_id, kind="subscription.action_failed",
                         actor_id=action.actor_id, data={"action_id": action.id, "kind": action.kind,
                                                         "backend": action.backend, "error": error[:500]}))


def _publish(action: SubscriptionAction) -> None:
    bus.publish("subscription_action.updated", action_id=action.id, ticket_id=action.ticket_id,
                customer_id=action.customer_id, status=action.backend_status)
    if action.ticket_id:
        bus.publish("ticket.updated", ticket_id=action.ticket_id, customer_id=action.customer_id,
                    actor_id=action.actor_id, changes=["subscription_action"])


def shop_result(key: str, ok: bool, error: str = "") -> Optional[SubscriptionAction]:
    """The shop's late answer to a 202 (from POST /hooks/commerce): by idempotency key or id."""
    stmt = select(SubscriptionAction).where(SubscriptionAction.idempotency_key == key)
    action = db.session.scalar(stmt)
    if action is None and str(key).isdigit():
        action = db.session.get(SubscriptionAction, int(key))
    if action is None:
        return None
    record_result(action.id, BackendResult(ACKED) if ok else BackendResult(FAILED, error or "refused by the shop"))
    return action


def retry_due(limit: int = 20) -> int:
    """Worker job: send again the pending actions whose backoff has passed."""
    now = utcnow()
    # Never-sent rows (the process died between commit and delivery) are picked up after a minute.
    never_sent = (SubscriptionAction.next_attempt_at.is_(None) & (SubscriptionAction.attempts == 0)
                  & (SubscriptionAction.created_at <= now - timedelta(minutes=1)))
    ids = list(db.session.scalars(
        select(SubscriptionAction.id).where(SubscriptionAction.backend_status == PENDING,
                                            or_(SubscriptionAction.next_attempt_at <= now, never_sent))
        .order_by(SubscriptionAction.id).limit(limit)))
    db.session.commit()
    for action_id in ids:
        deliver(action_id)
    return len(ids)


def _job(app) -> int:
    return retry_due()


def register_worker_job() -> None:
    register_job("shop.backend", _job, every=15)
