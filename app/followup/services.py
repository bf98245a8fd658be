"""Follow-up use cases: plans and steps (supervisors), the task queue (agents), consent and
unsubscribe. One commit per use case; every task outcome and unsubscribe is an Event (who, why).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Optional

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.i18n import N_, Refused
from app.models import (Agent, Customer, Event, FollowupPlan, FollowupSend, FollowupStep, MailConsent,
                        Task, utcnow)
from app.models.followup import PURPOSES, STEP_KINDS, TRIGGERS
from app.sla.business_time import default_calendar


class FollowupError(Refused):
    """A refused change; routes flash `translated()`."""


def all_plans() -> list[FollowupPlan]:
    return list(db.session.scalars(select(FollowupPlan).order_by(FollowupPlan.id)))


def save_plan(plan: Optional[FollowupPlan], agent: Agent, *, name_ja: str, name_en: str, trigger: str,
              trigger_n: int = 1, active: bool = True) -> FollowupPlan:
    if trigger not in TRIGGERS:
        raise FollowupError(N_("Unknown trigger."))
    if not name_ja.strip():
        raise FollowupError(N_("A Japanese name is required."))
    if plan is None:
        plan = FollowupPlan(created_by_id=agent.id)
        db.session.add(plan)
    plan.name_ja, plan.name_en = name_ja.strip(), name_en.strip()
    plan.trigger, plan.trigger_n, plan.active = trigger, max(int(trigger_n or 1), 1), bool(active)
    db.session.commit()
    return plan


def save_step(plan: FollowupPlan, step: Optional[FollowupStep], *, delay_days: int, kind: str,
              purpose: str, offer: bool, language: str, subject: str, body: str) -> FollowupStep:
    if kind not in STEP_KINDS or purpose not in PURPOSES:
        raise FollowupError(N_("Unknown step kind or purpose."))
    if offer and purpose != "advertising":
        raise FollowupError(N_("An offer is advertising: mark the step as advertising."))
    if kind == "email" and not subject.strip():
        raise FollowupError(N_("A mail needs a subject."))
    if step is None:
        step = FollowupStep(plan=plan)
        db.session.add(step)
    step.delay_days, step.kind, step.purpose, step.offer = max(int(delay_days), 0), kind, purpose, bool(offer)
    step.language, step.subject, step.body = language, subject.strip(), body
    db.session.commit()
    return step


def delete_step(step: FollowupStep) -> None:
    db.session.delete(step)
    db.session.commit()


# -- the "to do today" queue -------------------------------------------------------------------

def _end_of_today() -> datetime:
    calendar = default_calendar(current_app.config.get("TIMEZONE") or "Asia/Tokyo")
    today = calendar.local_date(utcnow())
    return datetime.combine(today + timedelta(days=1), time(0), calendar.zone).astimezone(timezone.utc)


def tasks_due(limit: int = 200) -> list[tuple[Task, FollowupSend]]:
    """Open follow-up tasks due by the end of today (oldest first), with the step that made them."""
    rows = db.session.execute(
        select(Task, FollowupSend).join(FollowupSend, FollowupSend.task_id == Task.id)
        .where(Task.done_at.is_(None), Task.due_at < _end_of_today())
        .order_by(Task.due_at, Task.id).limit(limit))
    return [(task, send) for task, send in rows]


def followup_task(task_id: int) -> Optional[Task]:
    """The task if a follow-up step made it; other tasks (a ticket's callbacks) are not ours to close
    and stay behind their ticket's team check."""
    return db.session.scalar(select(Task).join(FollowupSend, FollowupSend.task_id == Task.id)
                             .where(Task.id == task_id))


def finish_task(task: Task, agent: Agent, outcome: str, note: str = "") -> Task:
    """Mark a follow-up task done or skipped (with why); recorded on the customer's timeline."""
    if outcome not in ("done", "skipped"):
        raise FollowupError(N_("Unknown outcome."))
    if outcome == "skipped" and not note.strip():
        raise FollowupError(N_("Say why the task is skipped."))
    if task.done_at is not None:
        raise FollowupError(N_("The task is already closed."))
    task.done_at = utcnow()
    db.session.add(Event(customer_id=task.customer_id, kind=f"followup.task_{outcome}", actor_id=agent.id,
                         data={"task_id": task.id}, note=note.strip()))
    db.session.commit()
    return task


# -- consent and unsubscribe ---------------------------------------------------------------------

def consent_of(customer_id: int) -> Optional[MailConsent]:
    return db.session.scalar(select(MailConsent).where(MailConsent.customer_id == customer_id))


def _consent_row(customer_id: int) -> MailConsent:
    row = consent_of(customer_id)
    if row is None:
        try:
            with db.session.begin_nested():
                row = MailConsent(customer_id=customer_id)
                db.session.add(row)
        except IntegrityError:
            row = consent_of(customer_id)
    return row


def record_consent(customer: Customer, source: str, at: Optional[datetime] = None) -> MailConsent:
    """Opt-in to advertising mail (e.g. the checkout box); a later opt-in clears an unsubscribe."""
    row = _consent_row(customer.id)
    row.consented_at, row.source, row.unsubscribed_at = at or utcnow(), source[:100], None
    db.session.add(Event(customer_id=customer.id, kind="followup.consent", data={"source": source}))
    db.session.commit()
    return row


def unsubscribe(customer_id: int, via: str = "one-click") -> bool:
    """Stop follow-up mail at once; idempotent. True when this call unsubscribed."""
    if db.session.get(Customer, customer_id) is None:
        return False
    row = _consent_row(customer_id)
    if row.unsubscribed_at is not None:
        return False
    row.unsubscribed_at = utcnow()
    db.session.add(Event(customer_id=customer_id, kind="followup.unsubscribed", data={"via": via}))
    db.session.commit()
    return True


def today_local() -> date:
    return default_calendar(current_app.config.get("TIMEZONE") or "Asia/Tokyo").local_date(utcnow())
