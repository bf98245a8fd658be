"""Follow-up reports: what each step did, and whether a plan changes what customers do.

Per step: sent, tasks, stopped, replied (an inbound message in the mail's thread or a ticket
following it), unsubscribed (after the send), tickets opened (a new conversation after the send).
Per plan: second-purchase rate and 3-month subscription survival of customers the plan reached vs
comparable customers it did not (same first product and first-order month, Asia/Tokyo), the
comparison standardised to the reached customers' mix of strata; sample sizes shown.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Optional

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import (Event, FollowupPlan, FollowupSend, FollowupStep, Message, Order, OrderLine,
                        Subscription, Ticket, utcnow)
from app.sla.business_time import default_calendar

SURVIVAL_DAYS = 90


def _count(condition):
    return func.sum(case((condition, 1), else_=0))


def step_counts() -> list[dict]:
    sent_msg = aliased(Message)
    reply_ticket = aliased(Ticket)
    replied = exists(select(Message.id).join(reply_ticket, reply_ticket.id == Message.ticket_id).where(
        Message.direction == "in", Message.customer_id == FollowupSend.customer_id,
        or_(Message.ticket_id == sent_msg.ticket_id, reply_ticket.previous_ticket_id == sent_msg.ticket_id)))
    unsubscribed = exists(select(Event.id).where(Event.kind == "followup.unsubscribed",
                                                 Event.customer_id == FollowupSend.customer_id,
                                                 Event.created_at >= FollowupSend.created_at))
    opened = exists(select(Ticket.id).where(
        Ticket.customer_id == FollowupSend.customer_id, Ticket.created_at > FollowupSend.created_at,
        or_(sent_msg.ticket_id.is_(None), and_(Ticket.id != sent_msg.ticket_id,
                                               or_(Ticket.previous_ticket_id.is_(None),
                                                   Ticket.previous_ticket_id != sent_msg.ticket_id))),
        exists(select(Message.id).where(Message.ticket_id == Ticket.id, Message.direction == "in"))))
    rows = db.session.execute(
        select(FollowupSend.step_id, _count(FollowupSend.status == "sent"), _count(FollowupSend.status == "task"),
               _count(FollowupSend.status == "stopped"),
               _count(and_(FollowupSend.status == "sent", replied)),
               _count(and_(FollowupSend.status == "sent", unsubscribed)),
               _count(and_(FollowupSend.status != "stopped", opened)))
        .outerjoin(sent_msg, sent_msg.id == FollowupSend.message_id)
        .group_by(FollowupSend.step_id))
    by_step = {r[0]: [int(v or 0) for v in r[1:]] for r in rows}
    result = []
    for step in db.session.scalars(select(FollowupStep).order_by(FollowupStep.plan_id, FollowupStep.delay_days)):
        sent, tasks, stopped, replies, unsubs, tickets = by_step.get(step.id, [0] * 6)
        result.append({"step": step, "plan": step.plan, "sent": sent, "tasks": tasks, "stopped": stopped,
                       "replied": replies, "unsubscribed": unsubs, "tickets": tickets})
    return result


@dataclass
class Cohort:
    plan: FollowupPlan
    reached: int
    reached_repeat: Optional[float]
    comparison: int
    comparison_repeat: Optional[float]
    reached_subs: int
    reached_survival: Optional[float]
    comparison_subs: int
    comparison_survival: Optional[float]


def _customer_facts(today: date):
    calendar = default_calendar()
    rank = func.row_number().over(partition_by=Order.customer_id, order_by=(Order.ordered_at, Order.id)).label("r")
    ranked = select(Order.id, Order.customer_id, Order.ordered_at, rank).where(Order.status != "cancelled").subquery()
    first_product = (select(OrderLine.order_id, func.min(OrderLine.product_id).label("p"))
                     .group_by(OrderLine.order_id).subquery())
    stratum: dict[int, tuple] = {}
    for cid, ordered_at, product_id in db.session.execute(
            select(ranked.c.customer_id, ranked.c.ordered_at, first_product.c.p)
            .outerjoin(first_product, first_product.c.order_id == ranked.c.id).where(ranked.c.r == 1)):
        local = calendar.local_date(ordered_at)
        stratum[cid] = (product_id, local.year, local.month)
    repeat = set(db.session.scalars(select(Order.customer_id).where(Order.status != "cancelled")
                                    .group_by(Order.customer_id).having(func.count(Order.id) >= 2)))
    survival: dict[int, bool] = {}
    horizon = today - timedelta(days=SURVIVAL_DAYS)
    for cid, started, cancelled_at in db.session.execute(
            select(Subscription.customer_id, Subscription.started_on, Subscription.cancelled_at)
            .where(Subscription.started_on.is_not(None), Subscription.started_on <= horizon)
            .order_by(Subscription.started_on)):
        if cid not in survival:
            end = started + timedelta(days=SURVIVAL_DAYS)
            survival[cid] = cancelled_at is None or calendar.local_date(cancelled_at) > end
    return stratum, repeat, survival


def _rates(reached: set[int], stratum, outcome) -> tuple[int, Optional[float], int, Optional[float]]:
    """(n reached, rate reached, n comparison, standardised comparison rate) for `outcome(cid)`."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for cid, key in stratum.items():
        if cid not in reached:
            groups[key].append(cid)
    mine = [c for c in reached if c in stratum and outcome(c) is not None]
    if not mine:
        return 0, None, 0, None
    reached_rate = sum(1 for c in mine if outcome(c)) / len(mine)
    weights: dict[tuple, int] = defaultdict(int)
    for c in mine:
        weights[stratum[c]] += 1
    total_w, acc, n_comp = 0, 0.0, 0
    for key, w in weights.items():
        comp = [c for c in groups.get(key, []) if outcome(c) is not None]
        if comp:
            acc += w * sum(1 for c in comp if outcome(c)) / len(comp)
            total_w += w
            n_comp += len(comp)
    return len(mine), reached_rate, n_comp, (acc / total_w if total_w else None)


def cohorts(today: Optional[date] = None) -> list[Cohort]:
    today = today or default_calendar().local_date(utcnow())
    stratum, repeat, survival = _customer_facts(today)
    result = []
    for plan in db.session.scalars(select(FollowupPlan).order_by(FollowupPlan.id)):
        reached = set(db.session.scalars(select(FollowupSend.customer_id).distinct().where(
            FollowupSend.plan_id == plan.id, FollowupSend.status != "stopped")))
        n, rate, n_comp, comp_rate = _rates(reached, stratum, lambda c: c in repeat)
        sn, srate, sn_comp, scomp = _rates(reached, stratum, lambda c: survival.get(c))
        result.append(Cohort(plan, n, rate, n_comp, comp_rate, sn, srate, sn_comp, scomp))
    return result

