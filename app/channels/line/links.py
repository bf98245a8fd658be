"""Linking a LINE user to the shop's customer, by member id or order number.

A LINE chat starts as a customer of its own (the webhook knows only a user id and a profile
name). The shop knows the person by its member id (Customer.external_id) or an order number
(Order.external_id). Linking attaches the LINE identity to that customer so the timeline becomes
one: the LINE-only customer is merged into the member with the customers' merge service (so it
is undoable from the member's page like any merge); a LINE user id we have never seen becomes an
identity of the member directly. A LINE identity that already belongs to another shop customer
(one with a member id or orders) is not moved: that is a conflict for a person to sort out.

Both ways in use this module: an agent from the ticket, the shop's system through the API.
Linking again to the same customer changes nothing ("unchanged").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import bus
from app.customers.services import merge_customers, survivor_id
from app.extensions import db
from app.i18n import N_, Refused
from app.ingest.identity import InvalidIdentity, find_identity, normalise_line
from app.models import Agent, Customer, Event, Identity, Order


class LinkRefused(Refused):
    """A link that cannot be made; `code` and `status` are what the API answers."""

    def __init__(self, message: str, code: str, status: int, **params):
        self.code, self.status = code, status
        super().__init__(message, **params)


@dataclass(frozen=True)
class LinkTarget:
    customer: Customer
    #: 'member_id' or 'order_number': what the customer was found by, and the value.
    via: str
    key: str


@dataclass(frozen=True)
class LinkResult:
    #: linked (a new identity on the customer) | merged (the LINE customer merged into it) | unchanged
    status: str
    customer_id: int
    identity_id: int
    merged_from: Optional[int] = None


def _clean(value: Optional[str]) -> str:
    return (value or "").strip()[:100]


def find_target(member_id: Optional[str] = None, order_number: Optional[str] = None) -> LinkTarget:
    """The live customer with this member id or order number (exactly one of them)."""
    member_id, order_number = _clean(member_id), _clean(order_number)
    if bool(member_id) == bool(order_number):
        raise LinkRefused(N_("Enter either a member id or an order number."), "bad_request", 400)
    if member_id:
        customer = db.session.scalar(select(Customer).where(Customer.external_id == member_id))
        if customer is None:
            raise LinkRefused(N_("No customer has the member id %(key)s."), "unknown_member", 404, key=member_id)
        via, key = "member_id", member_id
    else:
        customer = db.session.scalar(select(Customer).join(Order, Order.customer_id == Customer.id)
                                     .where(Order.external_id == order_number))
        if customer is None:
            raise LinkRefused(N_("No order has the number %(key)s."), "unknown_order", 404, key=order_number)
        via, key = "order_number", order_number
    live = survivor_id(customer.id)
    if live != customer.id:
        customer = db.session.get(Customer, live)
    return LinkTarget(customer, via, key)


def is_shop_customer(customer: Customer) -> bool:
    """Known to the shop (a member id or orders): never merged away by a LINE link."""
    if customer.external_id:
        return True
    return db.session.scalar(select(Order.id).where(Order.customer_id == customer.id).limit(1)) is not None


def line_user(value: str) -> str:
    try:
        return normalise_line(value)
    except InvalidIdentity:
        raise LinkRefused(N_("%(value)s is not a LINE user id."), "invalid_line_user_id", 422,
                          value=str(value)[:80]) from None


def owner_of(line_user_id: str) -> Optional[Customer]:
    """The live customer the LINE identity belongs to, or None when we never saw it."""
    identity = find_identity("line", line_user_id)
    if identity is None:
        return None
    return db.session.get(Customer, survivor_id(identity.customer_id))


def link(actor: Agent, line_user_id: str, target: LinkTarget, source: str) -> LinkResult:
    """Attach the LINE user to `target.customer` (see the module docstring); `source` is
    'agent' or 'api', recorded on the customer's timeline with who asked."""
    uid = line_user(line_user_id)
    customer = target.customer
    for attempt in (1, 2):
        try:
            return _link(actor, uid, customer, target, source)
        except IntegrityError:  # the same user id linked concurrently: read it again
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _event(actor: Agent, customer_id: int, uid: str, target: LinkTarget, source: str,
           merged_from: Optional[int]) -> None:
    db.session.add(Event(customer_id=customer_id, kind="line.linked", actor_id=actor.id,
                         data={"line_user_id": uid, "via": target.via, "key": target.key, "source": source,
                               "merged_from": merged_from}))


def _link(actor: Agent, uid: str, customer: Customer, target: LinkTarget, source: str) -> LinkResult:
    identity = find_identity("line", uid)
    if identity is None:
        identity = Identity(customer_id=customer.id, kind="line", value=uid, display=uid)
        db.session.add(identity)
        _event(actor, customer.id, uid, target, source, None)
        db.session.commit()
        bus.publish("customer.updated", customer_id=customer.id)
        return LinkResult("linked", customer.id, identity.id)
    owner = db.session.get(Customer, survivor_id(identity.customer_id))
    identity_id = identity.id
    if owner.id == customer.id:
        return LinkResult("unchanged", customer.id, identity_id)
    if is_shop_customer(owner):
        raise LinkRefused(N_("This LINE user is already linked to customer #%(id)s, another shop customer: "
                             "merge or unlink there first."), "identity_conflict", 409, id=owner.id)
    source_id, target_id = owner.id, customer.id
    merge_customers(actor, source_id, target_id)  # commits; undoable from the member's page
    _event(actor, target_id, uid, target, source, source_id)
    db.session.commit()
    bus.publish("customer.updated", customer_id=target_id)
    return LinkResult("merged", target_id, identity_id, merged_from=source_id)
