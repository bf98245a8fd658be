"""Which Socket.IO rooms an agent joins, and which rooms may hear about a ticket.

The two functions mirror app.auth.access: a ticket's events go only to rooms whose members may
see the ticket.
"""
from __future__ import annotations

from app.models import Agent, Ticket

SUPERVISORS = "supervisors"
NO_TEAM = "agents"


def agent_rooms(agent: Agent) -> list[str]:
    rooms = [f"agent:{agent.id}", NO_TEAM]
    if agent.team_id is not None:
        rooms.append(f"team:{agent.team_id}")
    if agent.is_supervisor:
        rooms.append(SUPERVISORS)
    return rooms


def ticket_audience(ticket: Ticket) -> list[str]:
    """Rooms allowed to hear about `ticket` (inbox-level events)."""
    if ticket.team_id is None:
        return [NO_TEAM]
    rooms = [f"team:{ticket.team_id}", SUPERVISORS]
    if ticket.assignee_id:
        rooms.append(f"agent:{ticket.assignee_id}")
    return rooms
