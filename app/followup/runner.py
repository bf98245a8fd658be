"""The daily run: every due step of every active plan, once per customer.

Exactly once: a step's FollowupSend row, the mail (ticket + outbound message + outbox row) or task
are written in one savepoint, and the unique (step, customer) constraint refuses a second row. A
worker that dies mid-run loses only its uncommitted batch, which the next run redoes; two runs at
once collide on the constraint and the loser skips the customer. Candidates are handled in customer
id order so two runs on PostgreSQL wait on each other instead of deadlocking.
"""
from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from typing import Optional

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app import outbox
from app.extensions import db
from app.followup import render
from app.followup.rules import GO, STOP, Facts
from app.followup.triggers import add_business_days, anchors
from app.models import (Customer, FollowupPlan, FollowupSend, FollowupStep, Message, Task, Ticket,
                        utcnow)
from app.sla.business_time import Calendar, default_calendar

log = logging.getLogger(__name__)
#: A step not sent within this many days of its due day (waiting on a ticket, the cap...) lapses.
GRACE_DAYS = 14
BATCH = 200


def _local_start(day: date, calendar: Calendar) -> datetime:
    return datetime.combine(day, time(9, 0), calendar.zone).astimezone(timezone.utc)


def _send_mail(step: FollowupStep, customer: Customer, today: date, now: datetime) -> Message:
    """The mail as its own closed ticket: a reply reopens the conversation as a follow-up ticket
    (previous_ticket_id) like any reply to a closed ticket. No first response is recorded: nobody
    asked, so the mail must not count in response-time reports."""
    subject, body, meta = render.compose(step, customer, today)
    ticket = Ticket(customer_id=customer.id, subject=subject, status="closed", channel="email",
                    created_at=now, last_activity_at=now, last_agent_message_at=now, solved_at=now,
                    closed_at=now)
    db.session.add(ticket)
    db.session.flush()
    message = Message(ticket_id=ticket.id, customer_id=customer.id, channel="email", direction="out",
                      sender=current_app.config.get("MAIL_FROM", ""), subject=subject, body_text=body,
                      created_at=now, received_at=now, meta=meta)
    db.session.add(message)
    db.session.flush()
    outbox.enqueue(message)
    return message


def _make_task(step: FollowupStep, customer: Customer, today: date, calendar: Calendar) -> Task:
    task = Task(customer_id=customer.id, kind="follow_up", due_at=_local_start(today, calendar),
                note=render.fill(step.body, customer, step.language, today))
    db.session.add(task)
    db.session.flush()
    return task


def _begin_write() -> None:
    """On SQLite, open the real write transaction now (pysqlite starts one only before DML, so the
    first SAVEPOINT would otherwise open, and its RELEASE commit, a transaction per customer): the
    batch then commits once, and a concurrent run waits for it (busy timeout)."""
    if db.engine.dialect.name == "sqlite":
        db.session.execute(update(FollowupPlan).where(FollowupPlan.id == -1).values(active=True))


def _due_customers(step: FollowupStep, starts: dict[int, date], today: date, calendar: Calendar,
                   cache: dict[date, date]) -> list[int]:
    due = []
    for customer_id, start in starts.items():
        if start not in cache:
            cache[start] = add_business_days(start, step.delay_days, calendar)
        if today - timedelta(days=GRACE_DAYS) <= cache[start] <= today:
            due.append(customer_id)
    return due


def _one(step: FollowupStep, customer_id: int, facts: Facts, today: date, now: datetime,
         calendar: Calendar) -> Optional[str]:
    """Handle one customer in a savepoint; the outcome for the counts, None when already done."""
    verdict, reason = facts.verdict(customer_id, step)
    if verdict not in (GO, STOP):
        return "wait:" + (reason or "")
    try:
        with db.session.begin_nested():
            send = FollowupSend(step_id=step.id, plan_id=step.plan_id, customer_id=customer_id,
                                status="stopped", reason=reason or "", created_at=now)
            db.session.add(send)
            db.session.flush()  # the unique (step, customer) claim, before any mail is written
            if verdict == GO:
                customer = db.session.get(Customer, customer_id)
                if step.kind == "email":
                    send.status, send.message_id = "sent", _send_mail(step, customer, today, now).id
                else:
                    send.status, send.task_id = "task", _make_task(step, customer, today, calendar).id
    except IntegrityError:
        return None
    if verdict == GO:
        facts.reached(customer_id, step.plan_id)
        return send.status
    return "stop:" + (reason or "")


def run(today: Optional[date] = None, calendar: Optional[Calendar] = None,
        now: Optional[datetime] = None) -> dict[str, int]:
    """Send every due step; returns counts (sent, task, stop:<reason>, wait:<reason>). Commits.

    `now` stamps what is written (the demo replays past days); it defaults to the current time."""
    calendar = calendar or default_calendar(current_app.config.get("TIMEZONE") or "Asia/Tokyo")
    now = now or utcnow()
    today = today or calendar.local_date(now)
    counts: Counter[str] = Counter()
    plans = list(db.session.scalars(select(FollowupPlan).where(FollowupPlan.active.is_(True))
                                    .order_by(FollowupPlan.id)))
    for plan in plans:
        steps = list(plan.steps)
        if not steps:
            continue
        longest = max(s.delay_days for s in steps)
        # business days are at most ~2x calendar days (weekends, 年末年始); be generous
        since = today - timedelta(days=GRACE_DAYS + longest * 2 + 14)
        starts = anchors(plan, since, calendar)
        cache: dict[date, date] = {}
        for step in steps:
            candidates = _due_customers(step, starts, today, calendar, cache)
            if not candidates:
                continue
            done = set(db.session.scalars(select(FollowupSend.customer_id).where(
                FollowupSend.step_id == step.id)))
            candidates = sorted(set(candidates) - done)
            for i in range(0, len(candidates), BATCH):
                batch = candidates[i:i + BATCH]
                facts = Facts.load(batch, now)
                _begin_write()
                for customer_id in batch:
                    outcome = _one(step, customer_id, facts, today, now, calendar)
                    if outcome:
                        counts[outcome] += 1
                db.session.commit()
    db.session.commit()
    log.info("follow-up run %s: %s", today, dict(counts))
    return dict(counts)
