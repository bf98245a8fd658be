"""Authorisation: which tickets an agent may see, and the lookups that enforce it.

Supervisors and admins see every ticket. An agent sees tickets of no team, of their own team, and
tickets assigned to them. Every route that takes an object id goes through these helpers.
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import or_

from app.extensions import db
from app.models import Agent, Customer, Ticket


def ticket_filter(agent: Agent):
    """A SQL condition on Ticket selecting what `agent` may see."""
    if agent.is_supervisor:
        return Ticket.id.is_not(None)
    conds = [Ticket.team_id.is_(None), Ticket.assignee_id == agent.id]
    if agent.team_id is not None:
        conds.append(Ticket.team_id == agent.team_id)
    return or_(*conds)


def can_see_ticket(agent: Agent, ticket: Ticket) -> bool:
    return (agent.is_supervisor or ticket.team_id is None or ticket.assignee_id == agent.id
            or (agent.team_id is not None and ticket.team_id == agent.team_id))


def get_ticket_for(agent: Agent, ticket_id: int) -> Ticket:
    """The ticket, or 404 when it does not exist or `agent` may not see it (no existence leak)."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or not can_see_ticket(agent, ticket):
        abort(404)
    return ticket


def get_customer_for(agent: Agent, customer_id: int) -> Customer:
    """Customers are a shared directory; merged tombstones are not shown."""
    customer = db.session.get(Customer, customer_id)
    if customer is None or customer.merged_into_id is not None:
        abort(404)
    return customer


def supervisor_required(view):
    """Only supervisors and admins; others get 403."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_supervisor:
            abort(403)
        return view(*args, **kwargs)

    return wrapper
