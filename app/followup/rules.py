"""Stop conditions, checked before every step, for a whole batch of customers at once.

`Facts.load` answers each question with one query per batch (never one per customer), so the daily
run stays fast at scale. `verdict` then says for one customer and step: go, wait (try again on a
later run: an open ticket, a recent complaint, the weekly cap, an offer before the second purchase)
or stop for good (cancelled, bounced, unsubscribed, no consent for advertising).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Optional

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import (OPEN_STATUSES, FollowupSend, FollowupStep, Identity, MailConsent, Order,
                        Subscription, Tag, Ticket, ticket_tags)

#: Tags that mark a ticket as a complaint.
COMPLAINT_TAGS = ("complaint", "クレーム", "苦情")
#: Defaults; config FOLLOWUP_COMPLAINT_DAYS / FOLLOWUP_CAP_DAYS override them.
COMPLAINT_DAYS = 30
CAP_DAYS = 7
CHUNK = 500

GO, WAIT, STOP = "go", "wait", "stop"


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


@dataclass
class Facts:
    open_ticket: set[int] = field(default_factory=set)
    complaint: set[int] = field(default_factory=set)
    cancelled: set[int] = field(default_factory=set)
    mailable: set[int] = field(default_factory=set)
    unsubscribed: set[int] = field(default_factory=set)
    consented: set[int] = field(default_factory=set)
    repeat_buyer: set[int] = field(default_factory=set)
    #: customer id -> plan ids that reached them within the cap window (updated as the run sends)
    recent_plans: dict[int, set[int]] = field(default_factory=dict)

    @classmethod
    def load(cls, customer_ids: list[int], now: datetime) -> "Facts":
        config = current_app.config
        complaint_since = now - timedelta(days=int(config.get("FOLLOWUP_COMPLAINT_DAYS") or COMPLAINT_DAYS))
        cap_since = now - timedelta(days=int(config.get("FOLLOWUP_CAP_DAYS") or CAP_DAYS))
        facts = cls()
        for ids in _chunks(sorted(customer_ids)):
            facts.open_ticket.update(db.session.scalars(select(Ticket.customer_id).distinct().where(
                Ticket.customer_id.in_(ids), Ticket.status.in_(OPEN_STATUSES))))
            facts.complaint.update(db.session.scalars(
                select(Ticket.customer_id).distinct().join(ticket_tags).join(Tag)
                .where(Ticket.customer_id.in_(ids), Tag.name.in_(COMPLAINT_TAGS),
                       Ticket.created_at >= complaint_since)))
            live = set(db.session.scalars(select(Subscription.customer_id).distinct().where(
                Subscription.customer_id.in_(ids), Subscription.status != "cancelled")))
            subscribed = set(db.session.scalars(select(Subscription.customer_id).distinct().where(
                Subscription.customer_id.in_(ids))))
            facts.cancelled.update(subscribed - live)
            facts.mailable.update(db.session.scalars(select(Identity.customer_id).distinct().where(
                Identity.customer_id.in_(ids), Identity.kind == "email", Identity.bouncing.is_(False))))
            for cid, consented_at, unsubscribed_at in db.session.execute(
                    select(MailConsent.customer_id, MailConsent.consented_at, MailConsent.unsubscribed_at)
                    .where(MailConsent.customer_id.in_(ids))):
                if unsubscribed_at is not None:
                    facts.unsubscribed.add(cid)
                elif consented_at is not None:
                    facts.consented.add(cid)
            facts.repeat_buyer.update(db.session.scalars(
                select(Order.customer_id).where(Order.customer_id.in_(ids), Order.status != "cancelled")
                .group_by(Order.customer_id).having(func.count(Order.id) >= 2)))
            for cid, plan_id in db.session.execute(
                    select(FollowupSend.customer_id, FollowupSend.plan_id).distinct()
                    .where(FollowupSend.customer_id.in_(ids), FollowupSend.status != "stopped",
                           FollowupSend.created_at >= cap_since)):
                facts.recent_plans.setdefault(cid, set()).add(plan_id)
        return facts

    def reached(self, customer_id: int, plan_id: int) -> None:
        self.recent_plans.setdefault(customer_id, set()).add(plan_id)

    def verdict(self, customer_id: int, step: FollowupStep) -> tuple[str, Optional[str]]:
        """(GO | WAIT | STOP, reason)."""
        if customer_id in self.cancelled:
            return STOP, "cancelled"
        if step.kind == "email":
            if customer_id in self.unsubscribed:
                return STOP, "unsubscribed"
            if customer_id not in self.mailable:
                return STOP, "bounced"
            if step.purpose == "advertising" and customer_id not in self.consented:
                return STOP, "no_consent"
        if customer_id in self.open_ticket:
            return WAIT, "open_ticket"
        if customer_id in self.complaint:
            return WAIT, "complaint"
        if step.offer and customer_id not in self.repeat_buyer:
            return WAIT, "before_second_purchase"
        if self.recent_plans.get(customer_id, set()) - {step.plan_id}:
            return WAIT, "frequency_cap"
        return GO, None
