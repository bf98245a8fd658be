"""Socket.IO handlers: authenticated connections, authorised rooms, presence and typing.

A connection is accepted only for a logged-in agent (the login session cookie of the handshake;
sessions are revocable, see Agent.session_token) and joins the rooms it may hear: its own
`agent:<id>`, its team's, `agents` (tickets of no team) and `supervisors` for supervisors.
Joining `ticket:<id>` is checked against the same rule as the ticket page. Every event re-checks
the login. Every socket is registered (sockets.py) so a logout, a ticket moving to another team
or an agent changing team reaches it on whichever process holds it (revoke.py).
"""
from __future__ import annotations

from flask import request, session
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect, emit, join_room, leave_room

from app.auth.access import can_see_ticket
from app.extensions import db, socketio
from app.models import Ticket
from app.realtime import presence, sockets
from app.realtime.rooms import agent_rooms

#: sid -> ticket ids this socket is viewing (this process only).
_viewing: dict[str, set[int]] = {}


def _agent():
    if not current_user or not current_user.is_authenticated:
        disconnect()
        return None
    return current_user._get_current_object()


@socketio.on("connect")
def on_connect(auth=None):
    if not current_user or not current_user.is_authenticated:
        raise ConnectionRefusedError("login required")
    agent = current_user._get_current_object()
    # Registered before the session is read again: a logout or team change committed from now on
    # finds this socket in the registry; one committed before is seen by the re-read below.
    sockets.add(request.sid, agent.id)
    db.session.refresh(agent)
    if not agent.active or session.get("_user_id") != agent.get_id():
        sockets.remove(request.sid)
        raise ConnectionRefusedError("login required")
    for room in agent_rooms(agent):
        join_room(room)
    _viewing[request.sid] = set()
    emit("hello", {"agent_id": agent.id})


def _broadcast_presence(ticket_id: int) -> None:
    socketio.emit("presence", {"ticket_id": ticket_id, "viewers": presence.viewers(ticket_id)},
                  to=f"ticket:{ticket_id}")


@socketio.on("ticket.join")
def on_join(data):
    agent = _agent()
    if agent is None:
        return {"ok": False, "error": "login required"}
    ticket_id = _ticket_id(data)
    ticket = db.session.get(Ticket, ticket_id) if ticket_id else None
    if ticket is None or not can_see_ticket(agent, ticket):
        return {"ok": False, "error": "not found"}
    sockets.watch(request.sid, ticket.id)
    join_room(f"ticket:{ticket.id}")
    db.session.refresh(ticket)  # moved to another team meanwhile? (the move's recheck saw the watch)
    if not can_see_ticket(agent, ticket):
        sockets.unwatch(request.sid, ticket.id)
        leave_room(f"ticket:{ticket.id}")
        return {"ok": False, "error": "not found"}
    _viewing.setdefault(request.sid, set()).add(ticket.id)
    presence.set_viewer(ticket.id, request.sid, agent.id, agent.name)
    _broadcast_presence(ticket.id)
    return {"ok": True}


@socketio.on("ticket.leave")
def on_leave(data):
    ticket_id = _ticket_id(data)
    if ticket_id is None:
        return {"ok": False}
    _leave(request.sid, ticket_id)
    return {"ok": True}


@socketio.on("ticket.typing")
def on_typing(data):
    agent = _agent()
    ticket_id = _ticket_id(data)
    if agent is None or ticket_id not in _viewing.get(request.sid, set()) \
            or ticket_id not in sockets.watched_by(request.sid):  # revoked since the join
        return {"ok": False}
    presence.set_viewer(ticket_id, request.sid, agent.id, agent.name, typing=bool(data.get("typing")))
    _broadcast_presence(ticket_id)
    return {"ok": True}


@socketio.on("disconnect")
def on_disconnect(*_args):
    sockets.remove(request.sid)
    for ticket_id in list(_viewing.pop(request.sid, set())):
        presence.remove_viewer(ticket_id, request.sid)
        _broadcast_presence(ticket_id)


def _leave(sid: str, ticket_id: int) -> None:
    leave_room(f"ticket:{ticket_id}")
    sockets.unwatch(sid, ticket_id)
    _viewing.get(sid, set()).discard(ticket_id)
    presence.remove_viewer(ticket_id, sid)
    _broadcast_presence(ticket_id)


def _ticket_id(data) -> int | None:
    try:
        return int((data or {}).get("ticket_id"))
    except (TypeError, ValueError, AttributeError):
        return None
