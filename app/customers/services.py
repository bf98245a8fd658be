"""Customer use cases: the customer page's data and merging two customers into one.

A merge moves everything that belongs to the source (identities, tickets, messages, orders,
subscriptions, coupons, events) to the target in one transaction and leaves the source as a
tombstone pointing at the target, so links and identity lookups keep finding the survivor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import select, update

from app import bus
from app.commerce.services import CommerceSummary, customer_summary
from app.extensions import db
from app.i18n import N_, Refused
from app.models import Agent, Customer, Event, Ticket, utcnow
from app.customers.timeline import TimelineGroup, customer_timeline


def customer_tables() -> list:
    """Every table with a customer_id pointing at customers: identities, tickets, messages, orders,
    subscriptions, coupons, events, and whatever later features add, so a merge misses nothing."""
    tables = []
    for table in db.metadata.sorted_tables:
        column = table.columns.get("customer_id")
        if column is not None and any(fk.column.table.name == "customers" for fk in column.foreign_keys):
            tables.append(table)
    return tables


@dataclass
class CustomerPage:
    customer: Customer
    summary: CommerceSummary
    timeline: list[TimelineGroup]
    #: Visible tickets, most recent activity first.
    tickets: list[Ticket] = field(default_factory=list)

    def open_tickets(self, exclude_id: Optional[int] = None) -> list[Ticket]:
        return [t for t in self.tickets if t.is_open and t.id != exclude_id]


def customer_page(agent: Agent, customer: Customer, focus_ticket_id: Optional[int] = None,
                  channel: Optional[str] = None) -> CustomerPage:
    """Identities, commerce summary and the first page of the visible timeline of one customer."""
    timeline = customer_timeline(agent, customer.id, focus_ticket_id, channel=channel)
    return CustomerPage(customer=customer, summary=customer_summary(customer.id), timeline=timeline,
                        tickets=timeline.tickets)


class MergeRefused(Refused):
    """A merge that must not happen; str() is English, `translated()` is for the agent."""


@dataclass(frozen=True)
class MergeResult:
    source_id: int
    target_id: int
    moved: dict[str, int]


def merge_customers(agent: Agent, source_id: int, target_id: int) -> MergeResult:
    """Move everything of customer `source_id` to `target_id`; the source becomes a tombstone.

    Raises MergeRefused (a ValueError with a message for the agent) for a self-merge, an unknown
    customer or a customer that was already merged.
    """
    if source_id == target_id:
        raise MergeRefused(N_("A customer cannot be merged into itself."))
    source, target = db.session.get(Customer, source_id), db.session.get(Customer, target_id)
    if source is None or target is None:
        missing = source_id if source is None else target_id
        raise MergeRefused(N_("Customer #%(id)s does not exist."), id=missing)
    for customer in (source, target):
        if customer.merged_into_id is not None:
            raise MergeRefused(N_("Customer #%(id)s was already merged into #%(target)s."),
                               id=customer.id, target=customer.merged_into_id)
    # What the target looked like and which rows move: kept in the merge Event so it can be undone.
    before = {"name": target.name, "name_kana": target.name_kana, "note": target.note,
              "external_id": target.external_id, "source_external_id": source.external_id}
    moved, moved_ids = {}, {}
    for table in customer_tables():
        key = _primary_key(table)
        if key is not None:
            moved_ids[table.name] = list(db.session.scalars(select(key).where(table.c.customer_id == source_id)))
        result = db.session.execute(update(table).where(table.c.customer_id == source_id)
                                    .values(customer_id=target_id))
        moved[table.name] = result.rowcount
    # Earlier tombstones of the source now point straight at the survivor.
    tombstones = list(db.session.scalars(select(Customer.id).where(Customer.merged_into_id == source_id)))
    db.session.execute(update(Customer).where(Customer.merged_into_id == source_id)
                       .values(merged_into_id=target_id), execution_options={"synchronize_session": False})
    target.name = target.name or source.name
    target.name_kana = target.name_kana or source.name_kana
    if source.note:
        target.note = f"{target.note}\n{source.note}".strip()
    target.external_id = target.external_id or _take_external_id(source)
    source.merged_into_id = target_id
    source.updated_at = target.updated_at = utcnow()
    db.session.add(Event(customer_id=target_id, kind="customer.merged", actor_id=agent.id,
                         data={"source": source_id, "target": target_id, "moved": moved,
                               "source_name": source.name, "moved_ids": moved_ids,
                               "tombstones": tombstones, "before": before,
                               "after": {"name": target.name, "name_kana": target.name_kana,
                                         "note": target.note}}))
    db.session.commit()
    # Objects loaded before the bulk updates still hold the old customer ids.
    db.session.expire_all()
    bus.publish("customer.merged", source_id=source_id, target_id=target_id, actor_id=agent.id)
    return MergeResult(source_id, target_id, moved)


def _primary_key(table):
    """The single primary-key column of `table`, or None for a composite key (not undoable)."""
    keys = list(table.primary_key.columns)
    return keys[0] if len(keys) == 1 else None


def _take_external_id(source: Customer) -> Optional[str]:
    """The shop's customer id moves to the survivor (it is unique, so clear it first)."""
    external_id, source.external_id = source.external_id, None
    if external_id is not None:
        db.session.flush()
    return external_id


def survivor_id(customer_id: int) -> Optional[int]:
    """The id of the customer `customer_id` lives on as (itself unless merged); None if unknown."""
    seen = set()
    customer = db.session.get(Customer, customer_id)
    while customer is not None and customer.merged_into_id is not None and customer.id not in seen:
        seen.add(customer.id)
        customer = db.session.get(Customer, customer.merged_into_id)
    return customer.id if customer is not None else None
