"""Coupon use cases: issue from a ticket, decide on a request, redeem from an order, expire.

Money rules live in the database transaction, not only in Python:
- the customer's row is locked first (FOR UPDATE on PostgreSQL; on SQLite a no-op UPDATE takes
  the database write lock), so per-customer counts cannot race;
- the agent's monthly budget is charged with one conditional UPDATE
  (`spent + amount <= limit`), checked by its rowcount;
- a request is decided with a conditional UPDATE on `status = 'requested'`, so a replayed or
  concurrent approval changes nothing;
- the idempotency key is unique, so a double submit stores one coupon.
Every refusal is an Event ("coupon.denied") with who, what and why. Side effects (Socket.IO, the
shop through app.coupons.shop) run after commit through app.bus.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError

from app import bus
from app.auth.access import can_see_ticket
from app.coupons import policy as coupon_policy
from app.coupons.codes import ALPHABET, new_code, normalise_code  # noqa: F401 (re-exported)
from app.coupons.ledger import (budget_month, charge_budget, insert_ignoring_conflict,
                                lock_customer)
from app.coupons.queries import (latest_code, month_spent, pending_requests,  # noqa: F401
                                 ticket_coupons)
from app.coupons.shop import queue_for_shop
from app.extensions import db
from app.models import Agent, Coupon, CouponRedemption, Event, Ticket, utcnow

KINDS = ("amount", "percent")
#: No goodwill coupon is ever this large; anything above is a typo.
MAX_AMOUNT_YEN = 1_000_000
MAX_USES = 100

MESSAGES = {
    "kind_invalid": _l("Choose yen or percent."),
    "value_not_positive": _l("The value must be greater than zero."),
    "percent_over_100": _l("A percentage cannot be over 100."),
    "amount_too_large": _l("The amount is larger than any coupon can be."),
    "expiry_past": _l("The expiry date is in the past."),
    "max_uses_invalid": _l("The number of uses must be between 1 and 100."),
    "reason_invalid": _l("Choose a reason from the list."),
    "ticket_invisible": _l("Ticket not found."),
    "key_reused": _l("This form was already used by someone else; reload the page."),
    "not_found": _l("Coupon request not found."),
    "not_supervisor": _l("Only supervisors decide on coupon requests."),
    "self_approval": _l("You cannot decide on your own request."),
    "already_decided": _l("This request has already been decided."),
    "note_required": _l("Give a reason for refusing."),
    "request_expired": _l("The coupon's expiry date has passed; it cannot be approved."),
}


class CouponRefused(ValueError):
    """Bad input or abuse: nothing was issued; `code` says why, `message` says it to a person."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return str(MESSAGES.get(self.code, self.code))


@dataclass(frozen=True)
class CouponInput:
    kind: str
    value: int
    expires_at: datetime
    max_uses: int
    reason: str
    reason_text: str = ""


# -- helpers ----------------------------------------------------------------------------------

def _event(event_kind: str, actor: Optional[Agent], coupon: Optional[Coupon] = None,
           ticket: Optional[Ticket] = None, note: str = "", **data) -> Event:
    ticket_id = coupon.ticket_id if coupon is not None else (ticket.id if ticket else None)
    customer_id = coupon.customer_id if coupon is not None else (ticket.customer_id if ticket else None)
    if coupon is not None:
        data.setdefault("coupon_id", coupon.id)
        data.setdefault("code", coupon.code)
        data.setdefault("kind", coupon.kind)
        data.setdefault("value", coupon.value)
    event = Event(kind=event_kind, actor_id=actor.id if actor else None, ticket_id=ticket_id,
                  customer_id=customer_id, data=data, note=note)
    db.session.add(event)
    return event


def deny(agent: Agent, why: str, *, ticket: Optional[Ticket] = None,
         coupon: Optional[Coupon] = None, **data) -> CouponRefused:
    """Discard the attempt, record the refusal in the audit trail, return the error to raise."""
    db.session.rollback()
    _event("coupon.denied", agent, coupon=coupon, ticket=ticket, why=why, **data)
    db.session.commit()
    return CouponRefused(why)


def deny_invisible_ticket(agent: Agent, ticket_id: int) -> None:
    """Audit an attempt on a ticket the agent cannot see (kept off that ticket's timeline)."""
    db.session.rollback()
    db.session.add(Event(kind="coupon.denied", actor_id=agent.id,
                         data={"why": "ticket_invisible", "ticket_id": ticket_id}))
    db.session.commit()


def validate(data: CouponInput, now: datetime) -> Optional[str]:
    """The first problem with the input, as a MESSAGES key, or None."""
    if data.kind not in KINDS:
        return "kind_invalid"
    if data.value is None or data.value <= 0:
        return "value_not_positive"
    if data.kind == "percent" and data.value > 100:
        return "percent_over_100"
    if data.kind == "amount" and data.value > MAX_AMOUNT_YEN:
        return "amount_too_large"
    if data.expires_at is None or data.expires_at <= now:
        return "expiry_past"
    if data.max_uses is None or not 1 <= data.max_uses <= MAX_USES:
        return "max_uses_invalid"
    if data.reason not in coupon_policy.active_reasons():
        return "reason_invalid"
    return None


def _input_data(data: CouponInput) -> dict:
    return {"kind": data.kind, "value": data.value, "max_uses": data.max_uses, "reason": data.reason,
            "expires_at": data.expires_at.isoformat() if data.expires_at else None}


# -- use cases --------------------------------------------------------------------------------

def issue(agent: Agent, ticket: Ticket, data: CouponInput, idempotency_key: str = "") -> Coupon:
    """Issue a coupon to the ticket's customer, or file a request when it is over policy.

    Returns the coupon (status 'issued' with a code, or 'requested'); a resubmission with the same
    idempotency key returns the coupon the first submission stored. Raises CouponRefused.
    """
    key = (idempotency_key or "").strip()[:100] or None
    if key and (existing := _replay(agent, key, ticket)) is not None:
        return existing
    if not can_see_ticket(agent, ticket):
        deny_invisible_ticket(agent, ticket.id)
        raise CouponRefused("ticket_invisible")
    now = utcnow()
    if (problem := validate(data, now)) is not None:
        raise deny(agent, problem, ticket=ticket, **_input_data(data))
    # End any read snapshot first: on SQLite a transaction that read before another one committed
    # could not take the write lock later.
    db.session.commit()
    for _attempt in range(5):
        try:
            coupon = _store(agent, ticket, data, key, now)
            db.session.commit()
            break
        except IntegrityError:
            db.session.rollback()
            if key and (existing := _replay(agent, key, ticket)) is not None:
                return existing
            # Otherwise two codes collided between our check and the insert: try a new one.
    else:
        raise RuntimeError("could not store the coupon")
    _publish(coupon, "coupon.issued" if coupon.status == "issued" else "coupon.requested")
    return coupon


def _replay(agent: Agent, key: str, ticket: Ticket) -> Optional[Coupon]:
    existing = db.session.scalar(select(Coupon).where(Coupon.idempotency_key == key))
    if existing is None:
        return None
    if existing.issued_by_id != agent.id or existing.ticket_id != ticket.id:
        raise deny(agent, "key_reused", ticket=ticket, idempotency_key=key)
    return existing


def _store(agent: Agent, ticket: Ticket, data: CouponInput, key: Optional[str],
           now: datetime) -> Coupon:
    lock_customer(ticket.customer_id)
    verdict = coupon_policy.evaluate(agent, ticket.customer_id, data.kind, data.value, now)
    if verdict.within and data.kind == "amount":
        if not charge_budget(agent.id, budget_month(now), data.value,
                              verdict.policy.monthly_budget_yen):
            verdict.over.append("budget")
    coupon = Coupon(customer_id=ticket.customer_id, ticket_id=ticket.id, kind=data.kind,
                    value=data.value, expires_at=data.expires_at, max_uses=data.max_uses,
                    reason=data.reason, reason_text=(data.reason_text or "").strip(),
                    issued_by_id=agent.id, idempotency_key=key, created_at=now)
    if verdict.within:
        coupon.status, coupon.code, coupon.issued_at = "issued", new_code(), now
    else:
        coupon.status, coupon.approval_required = "requested", True
        coupon.approval_reasons = ",".join(verdict.over)
    db.session.add(coupon)
    db.session.flush()
    _event("coupon.issued" if verdict.within else "coupon.requested", agent, coupon=coupon,
           note=coupon.reason_text, reason=coupon.reason, over=verdict.over,
           expires_at=data.expires_at.isoformat(), max_uses=data.max_uses)
    if verdict.within:
        queue_for_shop(coupon, agent)
    return coupon


def decide(supervisor: Agent, coupon_id: int, approve: bool, note: str = "") -> Coupon:
    """Approve (issue a code) or refuse a request; a replay or a concurrent decision is refused."""
    note = (note or "").strip()
    coupon = db.session.get(Coupon, coupon_id)
    if coupon is None:
        raise deny(supervisor, "not_found", requested_coupon_id=coupon_id)
    if not supervisor.is_supervisor:
        raise deny(supervisor, "not_supervisor", coupon=coupon)
    if coupon.issued_by_id == supervisor.id:
        raise deny(supervisor, "self_approval", coupon=coupon, approve=approve)
    if coupon.status != "requested":
        raise deny(supervisor, "already_decided", coupon=coupon, approve=approve,
                   status=coupon.status)
    if not approve and not note:
        raise deny(supervisor, "note_required", coupon=coupon)
    now = utcnow()
    if approve and coupon.expires_at is not None and coupon.expires_at <= now:
        raise deny(supervisor, "request_expired", coupon=coupon)
    values = {"status": "issued" if approve else "refused", "decided_by_id": supervisor.id,
              "decided_at": now, "decision_note": note}
    if approve:
        values.update(code=new_code(), issued_at=now)
    result = db.session.execute(
        update(Coupon).where(Coupon.id == coupon.id, Coupon.status == "requested").values(**values)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # someone decided between our read and this write
        raise deny(supervisor, "already_decided", coupon=coupon, approve=approve)
    db.session.refresh(coupon)
    if approve and coupon.kind == "amount":
        # Approved money still counts towards the issuer's month (no limit: it was approved).
        charge_budget(coupon.issued_by_id, budget_month(now), coupon.value, None)
    _event("coupon.approved" if approve else "coupon.refused", supervisor, coupon=coupon, note=note,
           requested_by_id=coupon.issued_by_id)
    if approve:
        queue_for_shop(coupon, supervisor)
    db.session.commit()
    _publish(coupon, "coupon.decided")
    if approve:
        _publish(coupon, "coupon.issued")
    return coupon


def redeem(code: str, order_id: int) -> Optional[Coupon]:
    """Count a use of the coupon `code` on order `order_id` (called by the order import).

    Idempotent per (coupon, order): re-importing the order changes nothing. Does not commit: the
    import's transaction does. Returns the coupon, or None for a code we never issued.
    """
    code = normalise_code(code)
    if not code:
        return None
    coupon = db.session.scalar(select(Coupon).where(Coupon.code == code))
    if coupon is None:
        return None
    if not insert_ignoring_conflict(CouponRedemption.__table__, coupon_id=coupon.id,
                                     order_id=order_id, created_at=utcnow()):
        return coupon  # this order was already counted
    db.session.execute(
        update(Coupon).where(Coupon.id == coupon.id)
        .values(uses=Coupon.uses + 1,
                status=case((Coupon.uses + 1 >= Coupon.max_uses, "redeemed"), else_=Coupon.status))
        .execution_options(synchronize_session=False))
    db.session.refresh(coupon)
    _event("coupon.redeemed", None, coupon=coupon, order_id=order_id, uses=coupon.uses)
    return coupon


def expire_due(now: Optional[datetime] = None) -> int:
    """Mark issued coupons past their expiry as expired (for a periodic job); returns how many."""
    now = now or utcnow()
    count = db.session.execute(
        update(Coupon).where(Coupon.status == "issued", Coupon.expires_at <= now)
        .values(status="expired").execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return count


def _publish(coupon: Coupon, topic: str) -> None:
    bus.publish(topic, coupon_id=coupon.id, ticket_id=coupon.ticket_id,
                customer_id=coupon.customer_id, status=coupon.status,
                issued_by_id=coupon.issued_by_id, decided_by_id=coupon.decided_by_id)
