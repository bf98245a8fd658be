"""Taking back what a socket may hear, on every web process.

Three changes narrow what an open socket may receive: the agent logged out (or was deactivated,
or their password changed), a ticket changed team or assignee, an agent changed team or role.
Each runs after the commit (bus subscribers) and acts on the sockets the shared registry
(sockets.py) lists: disconnects and room changes go through python-socketio's manager, which
sends them over the Redis message queue to the process holding the socket, so a socket held by
another process loses its rooms before the next broadcast is published.
"""
from __future__ import annotations

import logging

from app import bus
from app.auth.access import can_see_ticket
from app.extensions import db, socketio
from app.models import Agent, Team, Ticket
from app.realtime import presence, sockets
from app.realtime.rooms import SUPERVISORS, agent_rooms

log = logging.getLogger(__name__)
NAMESPACE = "/"


def _server_call(method: str, *args) -> None:
    """A manager call for a sid that may live on another process (or be a dead leftover)."""
    try:
        getattr(socketio.server, method)(*args, namespace=NAMESPACE)
    except (KeyError, ValueError):  # not connected here and no queue to forward it: nothing to do
        pass


@bus.subscribe("agent.logged_out")
def end_agent_sockets(agent_id: int, **_) -> None:
    """Every socket of the agent, on every process, is disconnected (its pages go to login)."""
    socketio.emit("session.ended", {}, to=f"agent:{agent_id}")
    for sid in sockets.sids_of(agent_id):
        _server_call("disconnect", sid)
        sockets.remove(sid)


def revoke_ticket(sid: str, ticket_id: int) -> None:
    """`sid` stops hearing `ticket_id` (and its page is told so) and leaves its viewers."""
    _server_call("leave_room", sid, f"ticket:{ticket_id}")
    sockets.unwatch(sid, ticket_id)
    socketio.emit("ticket.revoked", {"ticket_id": ticket_id}, to=sid)
    presence.remove_viewer(ticket_id, sid)
    socketio.emit("presence", {"ticket_id": ticket_id, "viewers": presence.viewers(ticket_id)},
                  to=f"ticket:{ticket_id}")


def recheck_ticket(ticket_id: int) -> None:
    """Sockets watching the ticket whose agent may no longer see it leave its room."""
    watching = sockets.watchers(ticket_id)
    if not watching:  # the usual case: nobody has the ticket open, nothing to read
        return
    ticket = db.session.get(Ticket, ticket_id)
    for sid, agent_id in watching:
        agent = db.session.get(Agent, agent_id) if agent_id is not None else None
        if ticket is None or agent is None or not agent.active or not can_see_ticket(agent, ticket):
            revoke_ticket(sid, ticket_id)


@bus.subscribe("agent.updated")
def recheck_agent(agent_id: int, **_) -> None:
    """The agent's sockets move to the rooms of their current team and role, and leave the
    tickets they may no longer see; an agent who is gone or inactive is disconnected."""
    agent = db.session.get(Agent, agent_id)
    if agent is None or not agent.active:
        end_agent_sockets(agent_id)
        return
    rooms = agent_rooms(agent)
    stale = [f"team:{team_id}" for team_id in db.session.scalars(db.select(Team.id))] + [SUPERVISORS]
    for sid in sockets.sids_of(agent_id):
        for room in stale:
            if room not in rooms:
                _server_call("leave_room", sid, room)
        for room in rooms:
            _server_call("enter_room", sid, room)
        for ticket_id in sockets.watched_by(sid):
            ticket = db.session.get(Ticket, ticket_id)
            if ticket is None or not can_see_ticket(agent, ticket):
                revoke_ticket(sid, ticket_id)
