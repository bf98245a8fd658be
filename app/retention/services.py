"""Retention use cases: execute a subscription action from a ticket, settle it when acknowledged.

`execute()` validates through actions.preview (nothing is written when it refuses), records the
SubscriptionAction (pending, with before/after, the reply draft and an Event saying who and why)
in one transaction that starts with a compare-and-set on the subscription's version (the version
the agent saw; a stale action is refused with StaleAction and nothing is written), then hands it to the shop after commit (app.shop.delivery.deliver). The
local subscription changes only when the shop acknowledges (`on_acknowledged`, registered with
app.shop.delivery), so the local record and the shop agree, or the action is visibly pending or
failed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.coupons import services as coupons
from app.coupons.policy import active_reasons
from app.extensions import db
from app.models import (Agent, Coupon, Customer, Event, Product, Subscription, SubscriptionAction, Ticket,
                        utcnow)
from app.retention import actions as act
from app.retention import done, live, outcomes
from app.retention.actions import ActionError
from app.retention.cases import case_for, record_outcome, set_outcome
from app.retention.dates import Calendar
from app.retention.replies import draft
from app.shop import delivery


@dataclass
class Outcome:
    """What executing gave: the action (None when a coupon only became a request) and a message."""

    action: Optional[SubscriptionAction]
    message: str


def coupon_service():
    """The coupon feature's services module (the panel offers coupons through it)."""
    return coupons


def calendar(now: Optional[datetime] = None) -> Calendar:
    return Calendar.from_config(current_app.config, now or utcnow())


def annual_value(sub: Subscription) -> int:
    """Yen a year the subscription brings in at its current price and cycle."""
    return round(sub.price * 365 / max(sub.cycle_days, 1))


def last_money_offer(customer_id: int) -> Optional[datetime]:
    """When this customer was last offered money (a coupon, issued or requested)."""
    value = db.session.scalar(select(func.max(Coupon.created_at)).where(
        Coupon.customer_id == customer_id, Coupon.status.in_(("issued", "requested", "redeemed", "expired"))))
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value


class StaleAction(ActionError):
    """The subscription changed after the agent looked at it: nothing was done."""


def _claim_version(sub_id: int, seen: Optional[int]) -> bool:
    """Compare-and-set: bump the version if it is still `seen` (any version when None). The UPDATE
    also serialises actions on one subscription: a row lock on PostgreSQL (a waiting UPDATE re-reads
    the row and no longer matches), the write lock on SQLite."""
    stmt = update(Subscription).where(Subscription.id == sub_id)
    if seen is not None:
        stmt = stmt.where(Subscription.version == seen)
    result = db.session.execute(stmt.values(version=Subscription.version + 1)
                                .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _stale(sub: Subscription) -> StaleAction:
    """The refusal for an out-of-date action, saying what changed (the latest action, or the shop)."""
    db.session.rollback()
    db.session.refresh(sub)
    last = db.session.scalar(select(SubscriptionAction).where(
        SubscriptionAction.subscription_id == sub.id, SubscriptionAction.backend_status != "failed")
        .order_by(SubscriptionAction.id.desc()).limit(1))
    if last is not None:
        who = last.actor.name if last.actor else ""
        what = f"{who}: {done.line(last)}" if who else done.line(last)
    else:
        what = str(_l("updated from the shop"))
    return StaleAction(_l("This subscription was changed after you opened the panel (%(what)s). Nothing was "
                          "done; the panel now shows the current state."), what=what)


def seen_version(value: Any) -> Optional[int]:
    """The version a form carried; a missing or garbled one never matches (the action is refused)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _subscription_for(ticket: Ticket, subscription_id: Any) -> Subscription:
    try:
        sub = db.session.get(Subscription, int(subscription_id))
    except (TypeError, ValueError):
        sub = None
    if sub is None or sub.customer_id != ticket.customer_id:
        raise ActionError(_l("Choose one of this customer's subscriptions."))
    return sub


def _facts(ticket: Ticket, case, tz: str) -> dict[str, Any]:
    customer = db.session.get(Customer, ticket.customer_id)
    facts: dict[str, Any] = {"name": customer.name if customer and customer.name else None}
    if case is not None:
        local = case.first_requested_at.astimezone(ZoneInfo(tz))
        facts["request_time"] = (f"{local:%Y年%m月%d日 %H:%M}" if case.lang != "en" else f"{local:%d %b %Y %H:%M}")
    return {k: v for k, v in facts.items() if v is not None}


_UNSET = object()


def preview_for(ticket: Ticket, sub: Subscription, kind: str, params: dict, case=_UNSET) -> act.Preview:
    """The preview the panel shows and execute() records (raises ActionError); `case`: the
    ticket's retention case when the caller has loaded it (the panel previews a dozen options)."""
    config = current_app.config
    if case is _UNSET:
        case = case_for(ticket.id)
    product = None
    if kind == "swap":
        try:
            product = db.session.get(Product, int(params.get("product_id")))
        except (TypeError, ValueError):
            product = None
    requested_at = case.first_requested_at if case is not None and params.get("from_request", True) else None
    return act.preview(kind, sub, params, calendar(), product=product, requested_at=requested_at, now=utcnow(),
                       tz=config["TIMEZONE"], cycle_options=tuple(config["RETENTION_CYCLE_OPTIONS"]))


def execute(agent: Agent, ticket: Ticket, kind: str, params: dict, subscription_id: Any = None,
            note: str = "", idempotency_key: str = "", version: Optional[int] = None) -> Outcome:
    """Record and carry out one action from the ticket; raises ActionError (nothing written).

    `version`: the subscription's version the agent saw (None: not checked). A stale one raises
    StaleAction, except for a cancel: cancelling is never obstructed (a second cancel is refused
    because the subscription is already cancelled)."""
    key = (idempotency_key or "").strip()[:100] or None
    if key and (earlier := db.session.scalar(select(SubscriptionAction).where(SubscriptionAction.idempotency_key == key))):
        if earlier.actor_id != agent.id or earlier.ticket_id != ticket.id:
            raise ActionError(_l("This form was already used; reload the page."))
        return Outcome(earlier, str(_l("Already done.")))
    if kind == "coupon":
        return _execute_coupon(agent, ticket, params, note, key, subscription_id, version)
    if kind not in act.KINDS:
        raise ActionError(_l("Unknown action."))
    sub = _subscription_for(ticket, subscription_id)
    db.session.commit()  # end any read snapshot before taking the write lock (SQLite)
    try:
        if not _claim_version(sub.id, None if kind == "cancel" else version):
            raise _stale(sub)
        db.session.refresh(sub)
        pending = db.session.scalar(select(SubscriptionAction).where(
            SubscriptionAction.subscription_id == sub.id, SubscriptionAction.backend_status == "pending"))
        if pending is not None and kind != "cancel":
            raise ActionError(_l("An earlier change (%(kind)s) is still pending at the shop; wait for it or "
                                 "retry it first."), kind=str(act.LABELS.get(pending.kind, pending.kind)))
        pv = preview_for(ticket, sub, kind, params)
        case = case_for(ticket.id)
        facts = dict(_facts(ticket, case, current_app.config["TIMEZONE"]), **pv.facts, locked_date=pv.locked_date)
        action = delivery.new_action(
            case_id=case.id if case else None, ticket_id=ticket.id, customer_id=ticket.customer_id,
            subscription_id=sub.id, kind=kind, params=pv.params, before=pv.before, after=pv.after,
            note=(note or "").strip(), actor_id=agent.id, idempotency_key=key,
            reply_draft=draft(kind, case.lang if case else "ja", facts))
        if case is not None and case.subscription_id is None:
            case.subscription_id = sub.id
        db.session.flush()
        db.session.add(Event(customer_id=ticket.customer_id, ticket_id=ticket.id, kind=f"subscription.{kind}",
                             actor_id=agent.id, note=action.note,
                             data={"action_id": action.id, "subscription_id": sub.id, "before": pv.before,
                                   "after": pv.after, "changes": pv.changes, "notes": pv.notes,
                                   "reason": case.reason if case else None, "backend": action.backend}))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    status = delivery.deliver(action.id)
    if status is None:  # the worker has it: tell the other viewers the version moved
        live.subscription_changed(sub.id)
    db.session.refresh(action)
    return Outcome(action, _status_message(status or action.backend_status, action))


def _status_message(status: str, action: SubscriptionAction) -> str:
    if status == "acked":
        return str(_l("Done: %(action)s.", action=str(act.LABELS[action.kind])))
    if status == "failed":
        return str(_l("The shop refused: %(error)s", error=action.backend_error or ""))
    return str(_l("Sent; pending at the shop."))


def _execute_coupon(agent: Agent, ticket: Ticket, params: dict, note: str, key: Optional[str],
                    subscription_id: Any = None, version: Optional[int] = None) -> Outcome:
    pv = act.preview("coupon", None, params, calendar())
    if subscription_id and version is not None:
        # Two agents offering money at once: the first claims the version, the second is stale.
        sub = _subscription_for(ticket, subscription_id)
        db.session.commit()
        if not _claim_version(sub.id, version):
            raise _stale(sub)
        db.session.commit()
        live.subscription_changed(sub.id)
    reasons = active_reasons()
    reason = "解約防止" if "解約防止" in reasons else (reasons[0] if reasons else "")
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    expires = datetime.combine(pv.facts["expires"] + timedelta(days=1), datetime.min.time(), tz)
    data = coupons.CouponInput(kind="amount", value=pv.params["value"], expires_at=expires, max_uses=1,
                               reason=reason, reason_text=(note or "").strip())
    try:
        coupon = coupons.issue(agent, ticket, data, idempotency_key=key or "")
    except coupons.CouponRefused as exc:
        raise ActionError(exc.message) from None
    if coupon.status != "issued":
        return Outcome(None, str(_l("Over your coupon limits: a supervisor must approve the coupon.")))
    action = db.session.scalar(select(SubscriptionAction).where(
        SubscriptionAction.idempotency_key == f"coupon:{coupon.id}"))
    case = case_for(ticket.id)
    facts = dict(_facts(ticket, case, current_app.config["TIMEZONE"]), **pv.facts, coupon_code=coupon.code)
    if action is not None:
        action.case_id = case.id if case else None
        action.after = {"coupon_id": coupon.id, "code": coupon.code, "value": coupon.value}
        action.reply_draft = draft("coupon", case.lang if case else "ja", facts)
        if action.backend_status == "acked" and case is not None:
            on_acknowledged(action)
        db.session.commit()
    return Outcome(action, str(_l("Coupon %(code)s issued.", code=coupon.code)))


@delivery.on_acknowledged
def on_acknowledged(action: SubscriptionAction) -> None:
    """Apply what the shop acknowledged to the local record and settle the case (caller commits)."""
    sub = action.subscription
    # A change acknowledged after a cancellation went through changes nothing any more.
    if sub is not None and action.kind != "coupon" and (sub.status != "cancelled" or action.kind == "cancel"):
        changed = {k: v for k, v in (action.after or {}).items() if v != (action.before or {}).get(k)}
        act.apply(sub, changed)
        sub.version = Subscription.version + 1  # in SQL: never loses a concurrent bump
        db.session.flush()
        db.session.refresh(sub)
    case = action.case
    if case is None:
        return
    actor = db.session.get(Agent, action.actor_id) if action.actor_id else None
    if action.kind == "cancel":
        record_outcome(case, "late_accepted" if (action.params or {}).get("late_accepted") else "cancelled", actor)
    elif action.kind in act.SAVE_KINDS:
        sub = sub or case.subscription
        outcomes.record_pending(case, actor, action.kind, annual_value(sub) if sub is not None else 0, sub)


def record_manual_outcome(agent: Agent, ticket: Ticket, outcome: str, note: str = ""):
    """The outcome form: 'saved' by conversation waits for the save to hold like any other save;
    the other outcomes are recorded as given (cases.set_outcome)."""
    case = case_for(ticket.id)
    if outcome != "saved" or case is None:
        return set_outcome(agent, ticket, outcome, note)
    sub = case.subscription
    if sub is None:  # saved by talking, before any action: the customer's one live subscription
        live_subs = list(db.session.scalars(select(Subscription).where(
            Subscription.customer_id == ticket.customer_id, Subscription.status != "cancelled").limit(2)))
        sub = live_subs[0] if len(live_subs) == 1 else None
        case.subscription_id = sub.id if sub is not None else None
    outcomes.record_pending(case, agent, "conversation", annual_value(sub) if sub is not None else 0, sub, note=note)
    db.session.commit()
    live.case_changed(ticket, agent)
    return case


def retry_failed(agent: Agent, ticket: Ticket, action_id: int) -> Outcome:
    """Send a failed action again, if the subscription is still as it was when it was decided."""
    action = db.session.get(SubscriptionAction, action_id)
    if action is None or action.ticket_id != ticket.id:
        raise ActionError(_l("Unknown action."))
    if action.backend_status != "failed":
        raise ActionError(_l("Only a failed action can be sent again."))
    sub = action.subscription
    if sub is not None and act.snapshot(sub) != action.before:
        raise ActionError(_l("The subscription changed since this action was decided; choose the action again."))
    action.backend_status, action.backend_error, action.attempts, action.next_attempt_at = "pending", None, 0, None
    db.session.add(Event(customer_id=action.customer_id, ticket_id=ticket.id, kind="subscription.action_retry",
                         actor_id=agent.id, data={"action_id": action.id, "kind": action.kind}))
    db.session.commit()
    status = delivery.deliver(action.id)
    db.session.refresh(action)
    return Outcome(action, _status_message(status or action.backend_status, action))
