"""Reconciliation (database vs index) and the lag indicator.

Events are recorded after the data's commit, so a process that dies between the two loses the
event. Reconciliation closes that gap without trusting the bus: it walks the database's ids and
the index's `doc_id` terms side by side (both sorted; constant memory) and queues what is
missing or superfluous, and it queues what changed since the previous pass (tickets, customers,
their orders and identities), which covers lost *update* events.
"""
from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from typing import Iterable, Iterator, Optional

from sqlalchemy import func, select

from app.extensions import db
from app.models import Customer, Identity, Message, Order, SearchQueueItem, Ticket, utcnow
from app.search import index as idx
from app.search.indexer import RECONCILE_MARGIN, enqueue
from app.search.rebuild import read_progress

WATERMARK_FILE = "tsunagu-reconciled.json"


def _indexed_ids(reader, prefix: str) -> Iterator[int]:
    for term in reader.expand_prefix("doc_id", prefix):
        yield int(term[len(prefix):])


def _merge_diff(db_ids: Iterable[int], index_ids: Iterable[int]) -> tuple[list[int], list[int]]:
    """(in the database only, in the index only) for two ascending id streams."""
    only_db, only_index = [], []
    index_iter = iter(index_ids)
    current = next(index_iter, None)
    for db_id in db_ids:
        while current is not None and current < db_id:
            only_index.append(current)
            current = next(index_iter, None)
        if current == db_id:
            current = next(index_iter, None)
        else:
            only_db.append(db_id)
    while current is not None:
        only_index.append(current)
        current = next(index_iter, None)
    return only_db, only_index


def _stream(stmt) -> Iterator[int]:
    for (value,) in db.session.execute(stmt.execution_options(yield_per=10_000)):
        yield value


def _live(searcher, doc_ids: list[str]) -> list[str]:
    """Terms of deleted documents stay in the lexicon until a merge: keep the live ones."""
    return [d for d in doc_ids if searcher.document_number(doc_id=d) is not None]


def _read_watermark(path: str) -> Optional[datetime]:
    try:
        with open(os.path.join(path, WATERMARK_FILE), encoding="utf-8") as fh:
            return datetime.fromtimestamp(json.load(fh)["at"], timezone.utc)
    except (OSError, ValueError, KeyError):
        return None


def _write_watermark(path: str, at: datetime) -> None:
    target = os.path.join(path, WATERMARK_FILE)
    with open(target + ".tmp", "w", encoding="utf-8") as fh:
        json.dump({"at": at.timestamp()}, fh)
    os.replace(target + ".tmp", target)


def reconcile() -> dict:
    """Queue every difference between the database and the index; returns what was queued."""
    try:
        ix = idx.open_index()
    except idx.IndexUnavailable:
        return {"skipped": "index unavailable"}
    if idx.read_state().get("backfill"):
        return {"skipped": "backfill running"}
    started = utcnow()
    path = idx.index_dir()
    with ix.searcher() as searcher:
        reader = searcher.reader()
        missing_m, extra_m = _merge_diff(_stream(select(Message.id).order_by(Message.id)),
                                         _indexed_ids(reader, "m:"))
        live = select(Customer.id).where(Customer.merged_into_id.is_(None)).order_by(Customer.id)
        missing_c, extra_c = _merge_diff(_stream(live), _indexed_ids(reader, "c:"))
        extra_m = [int(d[2:]) for d in _live(searcher, [idx.message_doc_id(i) for i in extra_m])]
        extra_c = [int(d[2:]) for d in _live(searcher, [idx.customer_doc_id(i) for i in extra_c])]
    items = [("message", i) for i in missing_m + extra_m] + [("customer", i) for i in missing_c + extra_c]
    recent = _changed_since(_read_watermark(path))
    enqueue(items + recent)
    _write_watermark(path, started)
    return {"missing": len(missing_m) + len(missing_c), "extra": len(extra_m) + len(extra_c),
            "recent": len(recent)}


def _changed_since(since: Optional[datetime]) -> list[tuple[str, int]]:
    if since is None:
        return []
    since = since - RECONCILE_MARGIN
    tickets = db.session.scalars(select(Ticket.id).where(Ticket.updated_at >= since))
    customers = set(db.session.scalars(select(Customer.id).where(Customer.updated_at >= since)))
    customers.update(db.session.scalars(select(Order.customer_id).where(Order.created_at >= since)))
    customers.update(db.session.scalars(select(Identity.customer_id).where(Identity.created_at >= since)))
    return [("ticket", t) for t in tickets] + [("customer", c) for c in sorted(customers)]


def reconcile_due(every_seconds: float) -> bool:
    at = _read_watermark(idx.index_dir())
    return at is None or time.time() - at.timestamp() >= every_seconds


def lag() -> dict:
    """How far behind the index is: queue size, oldest pending age, backfill still to do, a
    running reindex's progress, and `state` in words: up to date | behind | reindexing | unavailable."""
    from app.search import backend

    if backend.is_postgres():  # written in each transaction: never behind (app/search/pg/writer.py)
        return {"available": True, "pending": 0, "oldest_age_seconds": 0.0, "backfill_remaining": 0,
                "behind": False, "reindex": None, "state": "up to date"}
    pending, oldest = db.session.execute(
        select(func.count(SearchQueueItem.id), func.min(SearchQueueItem.created_at))).one()
    age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    path = idx.index_dir()
    state = idx.read_state(path)
    available = idx.index_exists(path)
    remaining = 0
    backfill = state.get("backfill") if available else None
    if backfill:
        remaining = db.session.scalar(select(func.count(Message.id)).where(
            Message.id > backfill.get("message", 0))) or 0
        if backfill.get("customer") is not None:
            remaining += db.session.scalar(select(func.count(Customer.id)).where(
                Customer.id > backfill["customer"])) or 0
    reindex = read_progress(path)
    behind = (not available) or bool(pending) or bool(backfill)
    state = "reindexing" if reindex else "unavailable" if not available else "behind" if behind else "up to date"
    return {"available": available, "pending": int(pending), "oldest_age_seconds": round(age, 1),
            "backfill_remaining": remaining, "behind": behind, "reindex": reindex, "state": state}
