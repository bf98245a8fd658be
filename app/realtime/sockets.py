"""Which socket belongs to which agent and watches which ticket, shared by every web process.

Revocation needs it: a logout, a ticket moved to another team or an agent moved to another team
must reach sockets held by any web process (revoke.py). With REDIS_URL the registry lives in
Redis sets, without expiry (a socket stays registered as long as it is connected, however long
that is; a process that crashed leaves a few dead sids behind, each costing one no-op disconnect
message later). Without REDIS_URL, in-process dicts serve the single-process default.
"""
from __future__ import annotations

import threading

from app.realtime.presence import _redis

_lock = threading.Lock()
_owner: dict[str, int] = {}
_by_agent: dict[int, set[str]] = {}
_watching: dict[str, set[int]] = {}
_by_ticket: dict[int, set[str]] = {}

_P = "tsunagu:rt:"


def add(sid: str, agent_id: int) -> None:
    client = _redis()
    if client is not None:
        client.pipeline().set(f"{_P}owner:{sid}", agent_id).sadd(f"{_P}agent:{agent_id}", sid).execute()
        return
    with _lock:
        _owner[sid] = agent_id
        _by_agent.setdefault(agent_id, set()).add(sid)


def remove(sid: str) -> None:
    """Forget `sid` and what it watched."""
    client = _redis()
    if client is not None:
        owner = client.get(f"{_P}owner:{sid}")
        pipe = client.pipeline()
        for ticket_id in client.smembers(f"{_P}watch:{sid}"):
            pipe.srem(f"{_P}ticket:{int(ticket_id)}", sid)
        if owner is not None:
            pipe.srem(f"{_P}agent:{int(owner)}", sid)
        pipe.delete(f"{_P}owner:{sid}", f"{_P}watch:{sid}").execute()
        return
    with _lock:
        owner = _owner.pop(sid, None)
        if owner is not None:
            _by_agent.get(owner, set()).discard(sid)
        for ticket_id in _watching.pop(sid, set()):
            _by_ticket.get(ticket_id, set()).discard(sid)


def watch(sid: str, ticket_id: int) -> None:
    client = _redis()
    if client is not None:
        client.pipeline().sadd(f"{_P}watch:{sid}", ticket_id).sadd(f"{_P}ticket:{ticket_id}", sid).execute()
        return
    with _lock:
        _watching.setdefault(sid, set()).add(ticket_id)
        _by_ticket.setdefault(ticket_id, set()).add(sid)


def unwatch(sid: str, ticket_id: int) -> None:
    client = _redis()
    if client is not None:
        client.pipeline().srem(f"{_P}watch:{sid}", ticket_id).srem(f"{_P}ticket:{ticket_id}", sid).execute()
        return
    with _lock:
        _watching.get(sid, set()).discard(ticket_id)
        _by_ticket.get(ticket_id, set()).discard(sid)


def sids_of(agent_id: int) -> list[str]:
    client = _redis()
    if client is not None:
        return sorted(s.decode() for s in client.smembers(f"{_P}agent:{agent_id}"))
    with _lock:
        return sorted(_by_agent.get(agent_id, ()))


def watched_by(sid: str) -> set[int]:
    client = _redis()
    if client is not None:
        return {int(t) for t in client.smembers(f"{_P}watch:{sid}")}
    with _lock:
        return set(_watching.get(sid, ()))


def watchers(ticket_id: int) -> list[tuple[str, int | None]]:
    """(sid, agent id) of every socket watching `ticket_id`; agent None when unknown."""
    client = _redis()
    if client is not None:
        sids = sorted(s.decode() for s in client.smembers(f"{_P}ticket:{ticket_id}"))
        owners = client.mget([f"{_P}owner:{sid}" for sid in sids]) if sids else []
        return [(sid, int(owner) if owner is not None else None) for sid, owner in zip(sids, owners)]
    with _lock:
        return [(sid, _owner.get(sid)) for sid in sorted(_by_ticket.get(ticket_id, ()))]
