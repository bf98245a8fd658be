"""Save outcomes that mean something: a save is counted when it held, not at the click.

A save action (skip, pause, cycle, swap, quantity, resume, coupon) or an agent's "saved" puts the
case in 'pending' with the day it will be judged (`outcome_due_on`) and the rule that set it:
- next_shipment (the default, RETENTION_SAVE_RULE): the subscription's next shipment after the
  action; the save counts if the subscription is still live (not cancelled) on that day;
- window: RETENTION_SAVE_WINDOW_DAYS after the action (also used when there is no next shipment).
The worker job `retention.outcomes` judges due cases: 'saved' (抑止成功) with the yearly value
recorded at the action, or 'cancelled' (抑止失敗) when the subscription was cancelled meanwhile
(at once, without waiting for the due day). A case is judged once: a conditional UPDATE on
outcome = 'pending' lets only one worker write it.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from app import bus
from app.extensions import db
from app.models import Agent, RetentionCase, Subscription, utcnow
from app.retention.cases import record_outcome
from app.retention.dates import shop_date
from app.worker import register_job

RULES = ("next_shipment", "window")
RULE_LABELS = {
    "next_shipment": _l("Saved = the subscription is still active at its next shipment after the action."),
    "window": _l("Saved = the subscription is still active %(days)s days after the action."),
}


def rule() -> str:
    value = current_app.config.get("RETENTION_SAVE_RULE") or "next_shipment"
    return value if value in RULES else "next_shipment"


def window_days() -> int:
    return int(current_app.config.get("RETENTION_SAVE_WINDOW_DAYS") or 30)


def describe_rule() -> str:
    """The rule in force, as a sentence for the report."""
    return str(RULE_LABELS[rule()]) % {"days": window_days()}


def today(now: Optional[datetime] = None) -> date:
    return shop_date(now or utcnow(), current_app.config["TIMEZONE"])


def due_on(sub: Optional[Subscription], now: Optional[datetime] = None) -> tuple[date, str]:
    """(the day the save is judged, the rule that chose it) for a save made now."""
    start = today(now)
    if rule() == "next_shipment" and sub is not None:
        upcoming = sub.paused_until if sub.status == "paused" and sub.paused_until else sub.next_ship_date
        if upcoming is not None and upcoming >= start:
            return upcoming, "next_shipment"
    return start + timedelta(days=window_days()), "window"


def record_pending(case: RetentionCase, actor: Optional[Agent], saved_by: str, value: int,
                   sub: Optional[Subscription], note: str = "") -> None:
    """The case waits for its save to hold (the caller commits)."""
    record_outcome(case, "pending", actor, saved_by=saved_by, value=value, note=note)
    case.outcome_due_on, case.outcome_rule = due_on(sub)


def judge_due(now: Optional[datetime] = None, limit: int = 200) -> dict[str, int]:
    """Judge the pending cases that are due (or whose subscription was cancelled); returns counts."""
    day = today(now)
    rows = db.session.execute(
        select(RetentionCase.id, Subscription.status)
        .outerjoin(Subscription, Subscription.id == RetentionCase.subscription_id)
        .where(RetentionCase.outcome == "pending",
               or_(RetentionCase.outcome_due_on <= day, Subscription.status == "cancelled"))
        .order_by(RetentionCase.id).limit(limit)).all()
    db.session.commit()
    counts = {"saved": 0, "cancelled": 0}
    for case_id, status in rows:
        verdict = "cancelled" if status == "cancelled" else "saved"
        if _judge(case_id, verdict):
            counts[verdict] += 1
    return counts


def _judge(case_id: int, verdict: str) -> bool:
    claimed = db.session.execute(
        update(RetentionCase).where(RetentionCase.id == case_id, RetentionCase.outcome == "pending")
        .values(outcome=verdict).execution_options(synchronize_session=False)).rowcount == 1
    if not claimed:
        db.session.rollback()
        return False
    case = db.session.get(RetentionCase, case_id)
    db.session.refresh(case)
    case.outcome = "pending"  # record_outcome writes the old value into the event
    saved_by, value, due, used = case.saved_by, case.value_retained, case.outcome_due_on, case.outcome_rule
    record_outcome(case, verdict, None, saved_by=saved_by, value=value)
    if verdict == "saved":  # the report says by which rule the save was judged
        case.outcome_due_on, case.outcome_rule = due, used
    db.session.commit()
    bus.publish("ticket.updated", ticket_id=case.ticket_id, customer_id=case.customer_id, actor_id=None,
                changes=["retention_outcome"])
    return True


def _job(_app) -> dict[str, int]:
    return judge_due()


register_job("retention.outcomes", _job, every=600)
