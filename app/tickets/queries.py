"""Read side of tickets: the inbox listing, authorised and N+1-free.

Everything here takes the agent and goes through app.auth.access.ticket_filter, so a ticket an
agent may not see never appears in a list or a count.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.auth.access import ticket_filter
from app.channels import registry
from app.extensions import db
from app.models import OPEN_STATUSES, STATUSES, Agent, Customer, Ticket

STATUS_FILTERS = ("", "all") + STATUSES


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows: '' status means the open ones (new, open, pending)."""

    status: str = ""
    channel: str = ""
    mine: bool = False
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "InboxFilters":
        """Parse query arguments; anything unknown falls back to the default, never errors."""
        status = args.get("status", "")
        channel = args.get("channel", "")
        try:
            page = max(1, int(args.get("page", 1)))
        except (TypeError, ValueError):
            page = 1
        return cls(status=status if status in STATUS_FILTERS else "",
                   channel=channel if registry.is_known(channel) else "",
                   mine=args.get("mine") in ("1", "true", "on"), page=page)

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query arguments for a link to these filters with `changes`, defaults left out."""
        values: dict[str, Any] = {"status": self.status, "channel": self.channel, "mine": self.mine,
                                  "page": self.page}
        values.update(changes)
        out = {k: values[k] for k in ("status", "channel") if values[k]}
        if values["mine"]:
            out["mine"] = "1"
        if int(values["page"] or 1) > 1:
            out["page"] = int(values["page"])
        return out


def _scope(agent: Agent, filters: InboxFilters, with_status: bool = True):
    query = select(Ticket).where(ticket_filter(agent))
    if with_status and filters.status == "":
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif with_status and filters.status != "all":
        query = query.where(Ticket.status == filters.status)
    if filters.channel:
        query = query.where(Ticket.channel == filters.channel)
    if filters.mine:
        query = query.where(Ticket.assignee_id == agent.id)
    return query


def inbox_page(agent: Agent, filters: InboxFilters, per_page: int):
    """One page of visible tickets, newest activity first, customers and assignees preloaded."""
    query = (_scope(agent, filters)
             .options(selectinload(Ticket.customer).selectinload(Customer.identities),
                      selectinload(Ticket.assignee))
             .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc()))
    return db.paginate(query, page=filters.page, per_page=per_page, error_out=False)


def status_counts(agent: Agent, filters: InboxFilters) -> dict[str, int]:
    """Visible tickets per status under the channel/mine filters (for the filter tabs)."""
    scope = _scope(agent, filters, with_status=False).with_only_columns(Ticket.status, func.count())
    counts = {status: n for status, n in db.session.execute(scope.group_by(Ticket.status))}
    counts["all"] = sum(counts.values())
    counts[""] = sum(counts.get(s, 0) for s in OPEN_STATUSES)
    return counts


def active_agents() -> list[Agent]:
    return list(db.session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name)))
