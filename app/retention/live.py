"""Live retention panels: after a subscription changes, every open panel about it refetches.

Publishes `subscription.changed` on the bus (after commit) with the tickets whose panel shows the
customer's subscriptions (those with a retention case); app.realtime.broadcast emits it to those
tickets' rooms and static/js/retention.js refetches the panel. Triggered by the shop's answer to
an action (`subscription_action.updated`), by a shop sync (`subscription.synced`) and by the
services directly when they change the version without an answer yet.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import select

from app import bus
from app.extensions import db
from app.models import Agent, RetentionCase, Subscription, SubscriptionAction, Ticket


def subscription_changed(subscription_id: int) -> None:
    """Tell every open panel about this subscription (call after commit)."""
    row = db.session.execute(select(Subscription.customer_id, Subscription.version)
                             .where(Subscription.id == subscription_id)).first()
    if row is None:
        return
    ticket_ids = list(db.session.scalars(select(RetentionCase.ticket_id)
                                         .where(RetentionCase.customer_id == row.customer_id)))
    db.session.commit()  # end the read: subscribers may run their own transactions
    if ticket_ids:
        bus.publish("subscription.changed", subscription_id=subscription_id, customer_id=row.customer_id,
                    version=row.version, ticket_ids=ticket_ids)


def case_changed(ticket: Ticket, actor: Optional[Agent] = None) -> None:
    """The case's outcome changed (after commit): the ticket's live views refresh."""
    bus.publish("ticket.updated", ticket_id=ticket.id, customer_id=ticket.customer_id,
                actor_id=actor.id if actor else None, changes=["retention_outcome"])


@bus.subscribe("subscription_action.updated")
def _on_action_updated(action_id: int, **_) -> None:
    subscription_id = db.session.scalar(select(SubscriptionAction.subscription_id)
                                        .where(SubscriptionAction.id == action_id))
    if subscription_id is not None:
        subscription_changed(subscription_id)


@bus.subscribe("subscription.synced")
def _on_synced(subscription_id: int, **_) -> None:
    subscription_changed(subscription_id)
