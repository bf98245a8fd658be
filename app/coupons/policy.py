"""Coupon policy: reading and editing the per-role limits and the reasons list, and deciding
whether a coupon is within policy (instant) or needs a supervisor's approval (a request).

The budget is not checked here: it is charged inside the issuing transaction with a conditional
UPDATE (see services._charge_budget), because a check in Python cannot stop two agents issuing at
the same moment.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ROLES, Agent, Coupon, CouponPolicy, CouponReason, Event, Ticket

#: Used until a supervisor saves the role's policy (demo defaults, yen).
DEFAULT_POLICIES = {
    "agent": dict(max_amount_yen=1000, max_percent=10, monthly_budget_yen=20000, customer_limit=1,
                  customer_period_days=90, cancellation_may_exceed=True, cancellation_extra=1),
    "supervisor": dict(max_amount_yen=5000, max_percent=30, monthly_budget_yen=100000,
                       customer_limit=2, customer_period_days=90, cancellation_may_exceed=True,
                       cancellation_extra=1),
}
DEFAULT_POLICIES["admin"] = DEFAULT_POLICIES["supervisor"]
#: Offered until a supervisor edits the list (demo data, Japanese).
DEFAULT_REASONS = ("配送遅延", "商品不良・破損", "解約防止", "対応不備のお詫び", "その他")
POLICY_FIELDS = tuple(DEFAULT_POLICIES["agent"])
#: Coupons that count towards a customer's limit (a pending request does not, yet).
COUNTED_STATUSES = ("issued", "redeemed", "expired")


class PolicyError(ValueError):
    """A policy edit that makes no sense (negative limit...)."""


def get_policy(role: str) -> CouponPolicy:
    """The saved policy of `role`, or an unsaved one with the defaults."""
    policy = db.session.scalar(select(CouponPolicy).where(CouponPolicy.role == role))
    if policy is None:
        policy = CouponPolicy(role=role, **DEFAULT_POLICIES.get(role, DEFAULT_POLICIES["agent"]))
    return policy


def all_policies() -> list[CouponPolicy]:
    return [get_policy(role) for role in ROLES]


def save_policy(supervisor: Agent, role: str, values: dict) -> CouponPolicy:
    """Store the role's limits and record who changed what."""
    if role not in ROLES:
        raise PolicyError(_l("Unknown role."))
    for name in POLICY_FIELDS:
        if name == "cancellation_may_exceed":
            continue
        if int(values[name]) < 0:
            raise PolicyError(_l("Limits cannot be negative."))
    if int(values["max_percent"]) > 100:
        raise PolicyError(_l("A percentage cannot be over 100."))
    if int(values["customer_period_days"]) < 1:
        raise PolicyError(_l("The period must be at least one day."))
    policy = db.session.scalar(select(CouponPolicy).where(CouponPolicy.role == role))
    if policy is None:
        policy = CouponPolicy(role=role, **DEFAULT_POLICIES.get(role, DEFAULT_POLICIES["agent"]))
        db.session.add(policy)
    before = {name: getattr(policy, name) for name in POLICY_FIELDS}
    for name in POLICY_FIELDS:
        value = values[name]
        setattr(policy, name, bool(value) if name == "cancellation_may_exceed" else int(value))
    policy.updated_by_id = supervisor.id
    after = {name: getattr(policy, name) for name in POLICY_FIELDS}
    db.session.add(Event(kind="coupon.policy", actor_id=supervisor.id,
                         data={"role": role, "before": before, "after": after}))
    db.session.commit()
    return policy


def active_reasons() -> list[str]:
    """Labels an agent may choose from, in the supervisors' order."""
    # One query (the list is short): no rows at all means the defaults are still in force.
    rows = db.session.execute(select(CouponReason.label, CouponReason.active)
                              .order_by(CouponReason.position, CouponReason.id)).all()
    if not rows:
        return list(DEFAULT_REASONS)
    return [label for label, active in rows if active]


def all_reasons() -> list[CouponReason]:
    """Every reason, for the policy page (the defaults become rows so they can be edited)."""
    if db.session.scalar(select(func.count(CouponReason.id))) == 0:
        try:
            _materialise_default_reasons()
            db.session.commit()
        except IntegrityError:  # another supervisor's page did it at the same moment
            db.session.rollback()
    return list(db.session.scalars(select(CouponReason).order_by(CouponReason.position,
                                                                 CouponReason.id)))


def _materialise_default_reasons() -> None:
    """The first edit turns the built-in defaults into rows supervisors can then change."""
    if db.session.scalar(select(func.count(CouponReason.id))) == 0:
        db.session.add_all(CouponReason(label=label, position=i)
                           for i, label in enumerate(DEFAULT_REASONS))
        db.session.flush()


def add_reason(supervisor: Agent, label: str) -> CouponReason:
    label = (label or "").strip()
    if not label or len(label) > 100:
        raise PolicyError(_l("A reason needs 1 to 100 characters."))
    _materialise_default_reasons()
    reason = db.session.scalar(select(CouponReason).where(CouponReason.label == label))
    if reason is None:
        position = db.session.scalar(select(func.coalesce(func.max(CouponReason.position), 0))) + 1
        reason = CouponReason(label=label, position=position)
        db.session.add(reason)
    reason.active = True
    db.session.add(Event(kind="coupon.reason", actor_id=supervisor.id,
                         data={"label": label, "active": True}))
    db.session.commit()
    return reason


def set_reason_active(supervisor: Agent, reason_id: int, active: bool) -> Optional[CouponReason]:
    _materialise_default_reasons()
    reason = db.session.get(CouponReason, reason_id)
    if reason is None:
        return None
    reason.active = active
    db.session.add(Event(kind="coupon.reason", actor_id=supervisor.id,
                         data={"label": reason.label, "active": active}))
    db.session.commit()
    return reason


@dataclass
class Verdict:
    """Whether a coupon is within the issuer's policy; `over` names each limit it exceeds."""

    policy: CouponPolicy
    over: list[str] = field(default_factory=list)
    customer_count: int = 0
    customer_limit: int = 0

    @property
    def within(self) -> bool:
        return not self.over


def has_open_cancellation(customer_id: int) -> bool:
    from app.models import OPEN_STATUSES

    return db.session.scalar(
        select(func.count(Ticket.id)).where(Ticket.customer_id == customer_id,
                                            Ticket.intent == "cancellation",
                                            Ticket.status.in_(OPEN_STATUSES))) > 0


def evaluate(agent: Agent, customer_id: int, kind: str, value: int, now: datetime) -> Verdict:
    """Check the size and per-customer limits (call it once the customer row is locked)."""
    policy = get_policy(agent.role)
    verdict = Verdict(policy=policy)
    if kind == "amount" and value > policy.max_amount_yen:
        verdict.over.append("max_amount")
    if kind == "percent" and value > policy.max_percent:
        verdict.over.append("max_percent")
    since = now - timedelta(days=policy.customer_period_days)
    verdict.customer_count = db.session.scalar(
        select(func.count(Coupon.id)).where(Coupon.customer_id == customer_id,
                                            Coupon.status.in_(COUNTED_STATUSES),
                                            Coupon.issued_at >= since))
    limit = policy.customer_limit
    if policy.cancellation_may_exceed and has_open_cancellation(customer_id):
        limit += policy.cancellation_extra
    verdict.customer_limit = limit
    if verdict.customer_count >= limit:
        verdict.over.append("customer_limit")
    return verdict
