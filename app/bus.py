"""In-process event bus: services publish after commit; features subscribe.

Handlers run synchronously in the publishing thread, after the transaction that produced the
event has committed, so a subscriber never sees (or indexes, or emits) data that may still roll
back. A failing handler is logged and never breaks the publisher or the other handlers.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Callable

log = logging.getLogger(__name__)
Handler = Callable[..., Any]

_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(topic: str, handler: Handler | None = None):
    """Register `handler` for `topic`; usable as a decorator. Registering twice is a no-op."""

    def register(fn: Handler) -> Handler:
        if fn not in _handlers[topic]:
            _handlers[topic].append(fn)
        return fn

    return register(handler) if handler is not None else register


def unsubscribe(topic: str, handler: Handler) -> None:
    if handler in _handlers.get(topic, []):
        _handlers[topic].remove(handler)


def publish(topic: str, **payload: Any) -> None:
    """Deliver `payload` to every handler of `topic`; ids, not ORM objects, go in payloads."""
    for handler in list(_handlers.get(topic, [])):
        try:
            handler(**payload)
        except Exception:  # one broken subscriber must not stop the others
            log.exception("event handler %r failed for %s", handler, topic)
