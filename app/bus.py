"""In-process event bus: services publish after commit; features subscribe.

Handlers run synchronously in the publishing thread, after the transaction that produced the
event has committed, so a subscriber never sees (or indexes, or emits) data that may still roll
back. A failing handler is logged and never breaks the publisher or the other handlers.

Batches: `publish_many(topic, payloads)` delivers a whole batch (e.g. a polled mailbox batch).
A feature that can do its work for many events at once (one query, one commit) registers
`subscribe_batch(topic, fn, single=handler)`: `fn(payloads)` then replaces `handler` for batches,
while `publish()` keeps calling `handler`. Handlers without a batch variant are called once per
payload. A batch handler registered without `single` also receives single events, as a list of
one. If a batch handler fails, it is logged and its single partner (if any) is run per payload,
so batch handlers must be all-or-nothing (one transaction, rolled back on error).
"""
from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Callable, Iterable, Optional

log = logging.getLogger(__name__)
Handler = Callable[..., Any]
BatchHandler = Callable[[list[dict[str, Any]]], Any]

_handlers: dict[str, list[Handler]] = defaultdict(list)
#: topic -> [(batch handler, the per-event handler it stands in for, or None)]
_batch_handlers: dict[str, list[tuple[BatchHandler, Optional[Handler]]]] = defaultdict(list)


def subscribe(topic: str, handler: Handler | None = None):
    """Register `handler` for `topic`; usable as a decorator. Registering twice is a no-op."""

    def register(fn: Handler) -> Handler:
        if fn not in _handlers[topic]:
            _handlers[topic].append(fn)
        return fn

    return register(handler) if handler is not None else register


def subscribe_batch(topic: str, handler: BatchHandler, single: Optional[Handler] = None) -> BatchHandler:
    """Register `handler(payloads: list[dict])` for batches of `topic`.

    With `single` (a handler registered with `subscribe`), the batch handler replaces it in
    `publish_many` only; unsubscribing `single` (or detaching the topic's handlers) detaches both.
    """
    entry = (handler, single)
    if entry not in _batch_handlers[topic]:
        _batch_handlers[topic].append(entry)
    return handler


def unsubscribe(topic: str, handler: Handler) -> None:
    if handler in _handlers.get(topic, []):
        _handlers[topic].remove(handler)
    if topic in _batch_handlers:
        _batch_handlers[topic] = [(fn, single) for fn, single in _batch_handlers[topic]
                                  if handler is not fn and handler is not single]


def subscribed(topic: str, handler: Handler) -> bool:
    """Whether `handler` (or a functools.wraps wrapper of it) is (still) registered for `topic`."""
    return any(h is handler or getattr(h, "__wrapped__", None) is handler for h in _handlers.get(topic, []))


def _call(topic: str, handler: Handler, payload: dict[str, Any]) -> None:
    try:
        handler(**payload)
    except Exception:  # one broken subscriber must not stop the others
        log.exception("event handler %r failed for %s", handler, topic)


def _active_batch(topic: str) -> list[tuple[BatchHandler, Optional[Handler]]]:
    singles = _handlers.get(topic, [])
    # A batch handler standing in for a per-event one follows it: detached with it.
    return [(fn, single) for fn, single in _batch_handlers.get(topic, []) if single is None or single in singles]


def publish(topic: str, **payload: Any) -> None:
    """Deliver `payload` to every handler of `topic`; ids, not ORM objects, go in payloads."""
    for handler in list(_handlers.get(topic, [])):
        _call(topic, handler, payload)
    for fn, single in _active_batch(topic):
        if single is None:
            _run_batch(topic, fn, None, [payload])


def _run_batch(topic: str, fn: BatchHandler, single: Optional[Handler], payloads: list[dict[str, Any]]) -> None:
    try:
        fn(payloads)
    except Exception:
        log.exception("batch event handler %r failed for %s (%d events)", fn, topic, len(payloads))
        if single is not None:  # fall back to one event at a time: one bad event spoils nothing else
            for payload in payloads:
                _call(topic, single, payload)


def publish_many(topic: str, payloads: Iterable[dict[str, Any]]) -> None:
    """Deliver a batch of payloads: batch handlers once, the others once per payload.

    Handler by handler (each sees the whole batch before the next runs), in registration order.
    """
    payloads = list(payloads)
    if not payloads:
        return
    batch = _active_batch(topic)
    replaced = {single: fn for fn, single in batch if single is not None}
    for handler in list(_handlers.get(topic, [])):
        if handler in replaced:  # the batch variant runs where its per-event handler would
            _run_batch(topic, replaced[handler], handler, payloads)
            continue
        for payload in payloads:
            _call(topic, handler, payload)
    for fn, single in batch:
        if single is None:
            _run_batch(topic, fn, None, payloads)
