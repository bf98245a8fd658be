"""Who is viewing (and typing on) which ticket, shared by every web process.

With REDIS_URL the state lives in Redis hashes (one per ticket), so agents connected to different
web processes see each other; without it, an in-process dict serves the single-process default.
Entries expire so a crashed process leaves no ghosts for long.
"""
from __future__ import annotations

import json
import threading
import time
from typing import Optional

from flask import current_app

TTL_SECONDS = 120
_local: dict[int, dict[str, dict]] = {}
_lock = threading.Lock()
_redis_clients: dict[str, object] = {}


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    if url not in _redis_clients:
        import redis

        _redis_clients[url] = redis.Redis.from_url(url)
    return _redis_clients[url]


def _key(ticket_id: int) -> str:
    return f"tsunagu:presence:{ticket_id}"


def set_viewer(ticket_id: int, sid: str, agent_id: int, name: str, typing: bool = False) -> None:
    entry = {"agent_id": agent_id, "name": name, "typing": typing, "seen": time.time()}
    client = _redis()
    if client is not None:
        client.hset(_key(ticket_id), sid, json.dumps(entry))
        client.expire(_key(ticket_id), TTL_SECONDS)
        return
    with _lock:
        _local.setdefault(ticket_id, {})[sid] = entry


def remove_viewer(ticket_id: int, sid: str) -> None:
    client = _redis()
    if client is not None:
        client.hdel(_key(ticket_id), sid)
        return
    with _lock:
        _local.get(ticket_id, {}).pop(sid, None)


def viewers(ticket_id: int) -> list[dict]:
    """One entry per agent (typing if any of their tabs types), oldest entries dropped."""
    client = _redis()
    if client is not None:
        raw = {k.decode(): json.loads(v) for k, v in client.hgetall(_key(ticket_id)).items()}
    else:
        with _lock:
            raw = dict(_local.get(ticket_id, {}))
    cutoff = time.time() - TTL_SECONDS
    by_agent: dict[int, dict] = {}
    for entry in raw.values():
        if entry["seen"] < cutoff:
            continue
        current: Optional[dict] = by_agent.get(entry["agent_id"])
        if current is None:
            by_agent[entry["agent_id"]] = {k: entry[k] for k in ("agent_id", "name", "typing")}
        else:
            current["typing"] = current["typing"] or entry["typing"]
    return sorted(by_agent.values(), key=lambda e: e["agent_id"])
