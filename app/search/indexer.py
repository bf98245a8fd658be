"""Keeping the index up to date: the queue, the single writer, backfill, reconciliation.

- Bus subscribers (after commit) add rows to `search_queue`; they never touch the index, so web
  processes never take the index lock.
- The worker job `search` is the one writer: it drains the queue into the index and deletes the
  rows only after the index commit, so a process killed mid-drain leaves them for the next one.
  A second writer (another worker, a running `flask search reindex`) makes it skip its turn.
- A missing, damaged or outdated index is recreated empty and backfilled from the database in
  chunks, a little every turn, so outbox delivery in the same worker is never blocked for long.
- Reconciliation (every SEARCH_RECONCILE_SECONDS) queues what the database has and the index
  lacks, and what changed recently: it covers an event lost between a commit and its
  subscriber (the process died in that instant).
- A full rebuild (rebuild.py) holds the writer lock throughout and supersedes the queue rows
  queued before it; the worker skips its turns meanwhile.
- `lag()` is the indicator: queue size, age of the oldest row, backfill still to do.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Iterable, Optional

from flask import Flask
from sqlalchemy import delete, insert, select
from whoosh.index import LockError

from app import bus
from app.extensions import db
from app.models import Message, SearchQueueItem, utcnow
from app.search import backend, documents
from app.search import index as idx
from app.worker import register_job

log = logging.getLogger(__name__)
DRAIN_BATCH = 500
BACKFILL_BATCH = 2000
RECONCILE_CHUNK = 5000
#: Overlap of the "recently changed" sweep with the previous one (clock skew, slow commits).
RECONCILE_MARGIN = timedelta(minutes=5)
#: Ticket changes that do not alter any indexed ticket field.
_QUIET_CHANGES = {"reply", "note"}


# --- enqueueing (any process) ----------------------------------------------------------------

def enqueue(items: Iterable[tuple[str, int]]) -> None:
    """Record pending index work in its own short transaction (never the caller's session)."""
    if backend.is_postgres():  # no queue: written in the caller's transaction (app/search/pg/writer.py)
        from app.search.pg.writer import after_commit

        return after_commit(list(items))
    rows = [{"kind": kind, "obj_id": int(obj_id), "created_at": utcnow()}
            for kind, obj_id in dict.fromkeys(items) if obj_id is not None]
    if rows:
        with db.engine.begin() as conn:
            conn.execute(insert(SearchQueueItem.__table__), rows)


@bus.subscribe("message.ingested")
def _message_ingested(message_id: int, ticket_id: int, ticket_created: bool = False, **_) -> None:
    # A message into an existing ticket may have changed its status (pending -> open, reopened).
    enqueue([("message", message_id)] + ([] if ticket_created else [("ticket", ticket_id)]))


def _messages_ingested(payloads: list[dict]) -> None:
    """A batch (bus.publish_many): one queue transaction for all of it."""
    enqueue([item for p in payloads for item in
             [("message", p["message_id"])] + ([] if p.get("ticket_created") else [("ticket", p["ticket_id"])])])


bus.subscribe_batch("message.ingested", _messages_ingested, single=_message_ingested)
# Imported mailbox history (app.ingest.history) is searchable like live mail.
bus.subscribe("message.imported", _message_ingested)
bus.subscribe_batch("message.imported", _messages_ingested, single=_message_ingested)


def _tickets_updated(payloads: list[dict]) -> None:
    enqueue([("ticket", p["ticket_id"]) for p in payloads
             if p.get("changes") is None or set(p["changes"]) - _QUIET_CHANGES])


@bus.subscribe("message.created")
def _message_created(message_id: int, **_) -> None:
    enqueue([("message", message_id)])


@bus.subscribe("ticket.updated")
def _ticket_updated(ticket_id: int, changes: Optional[list[str]] = None, **_) -> None:
    if changes is None or set(changes) - _QUIET_CHANGES:
        enqueue([("ticket", ticket_id)])


bus.subscribe_batch("ticket.updated", _tickets_updated, single=_ticket_updated)


@bus.subscribe("customer.updated")
def _customer_updated(customer_id: int, **_) -> None:
    enqueue([("customer", customer_id)])


@bus.subscribe("customer.merged")
def _customer_merged(source_id: int, target_id: int, **_) -> None:
    enqueue([("customer", source_id), ("customer", target_id)])  # source is dropped, target grows


# --- the writer ------------------------------------------------------------------------------

class _Once:
    """A writer wrapper that writes each document once per commit.

    Whoosh's update_document only replaces documents of *committed* segments: two updates of the
    same id in one writer (a queued change and the backfill) would leave two copies.
    """

    def __init__(self, writer):
        self.writer, self.seen = writer, set()

    def update_document(self, **doc) -> bool:
        if doc["doc_id"] in self.seen:
            return False
        self.seen.add(doc["doc_id"])
        self.writer.update_document(**doc)
        return True

    def delete_by_term(self, fieldname: str, text: str) -> None:
        self.seen.add(text)
        self.writer.delete_by_term(fieldname, text)


def _apply(writer: _Once, items: list[tuple[str, int]]) -> int:
    """Index or delete the objects behind queue items; returns the number of documents written."""
    message_ids = {obj for kind, obj in items if kind == "message"}
    ticket_ids = {obj for kind, obj in items if kind == "ticket"}
    customer_ids = {obj for kind, obj in items if kind == "customer"}
    if ticket_ids:
        message_ids.update(db.session.scalars(select(Message.id).where(Message.ticket_id.in_(ticket_ids))))
    written = 0
    for chunk in _chunks(sorted(message_ids), 500):
        rows = documents.load_messages(chunk)
        written += sum(writer.update_document(**documents.message_document(row)) for row in rows)
        for gone in set(chunk) - {row.id for row in rows}:
            writer.delete_by_term("doc_id", idx.message_doc_id(gone))
    for chunk in _chunks(sorted(customer_ids), 500):
        docs = documents.load_customers(chunk)
        written += sum(writer.update_document(**doc) for doc in docs)
        for gone in set(chunk) - {doc["obj_id"] for doc in docs}:  # merged or deleted
            writer.delete_by_term("doc_id", idx.customer_doc_id(gone))
    return written


def _chunks(values: list[int], size: int):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _backfill(writer: _Once, state: dict, budget_docs: int) -> int:
    """Index the next chunk of a backfill (a new index); returns documents written."""
    backfill = state.get("backfill")
    if not backfill:
        return 0
    written = 0
    if backfill.get("customer") is not None:
        docs, last, _scanned = documents.customer_docs_after(backfill["customer"], budget_docs)
        written += sum(writer.update_document(**doc) for doc in docs)
        backfill["customer"] = None if last == backfill["customer"] else last
        if backfill["customer"] is not None:
            return written
    rows = documents.message_rows_after(backfill["message"], budget_docs)
    written += sum(writer.update_document(**documents.message_document(row)) for row in rows)
    if rows:
        backfill["message"] = rows[-1].id
    else:
        state["backfill"] = None
        state["backfilled_at"] = time.time()
    return written


# compound=False: searchers open segment files directly; a compound segment is copied into
# memory by every searcher that opens it.


def drain(max_items: int = DRAIN_BATCH, backfill_docs: int = BACKFILL_BATCH) -> dict:
    """One turn of the writer: queue first (fresh changes), then a chunk of backfill."""
    if backend.is_postgres():  # nothing to drain: the tables are written in each transaction
        return {"indexed": 0, "backend": "postgres"}
    ix, created = idx.open_or_create()
    state = idx.read_state()
    queue = list(db.session.execute(
        select(SearchQueueItem.id, SearchQueueItem.kind, SearchQueueItem.obj_id)
        .order_by(SearchQueueItem.id).limit(max_items)))
    if not queue and not state.get("backfill"):
        return {"indexed": 0, "created": created}
    try:
        writer = ix.writer(timeout=0.5, limitmb=128, compound=False)
    except LockError:
        return {"busy": True}
    try:
        once = _Once(writer)
        written = _apply(once, [(kind, obj_id) for _id, kind, obj_id in queue])
        written += _backfill(once, state, backfill_docs)
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    idx.write_state(state)
    if queue:  # only now: a crash before this line replays the rows, which is harmless
        db.session.execute(delete(SearchQueueItem).where(SearchQueueItem.id.in_([q[0] for q in queue])))
        db.session.commit()
    return {"indexed": written, "queue": len(queue), "created": created,
            "backfilling": bool(state.get("backfill"))}


def worker_job(app: Flask) -> dict:
    """The worker's `search` job: drain (and backfill), then reconcile when it is due."""
    result = drain()
    if result.get("busy") or result.get("backfilling") or result.get("backend") == "postgres":
        return result
    from app.search.reconcile import reconcile, reconcile_due

    if reconcile_due(app.config.get("SEARCH_RECONCILE_SECONDS", 900)):
        result["reconcile"] = reconcile()
    return result


register_job("search", worker_job, every=2)

from app.search.rebuild import rebuild, total_documents  # noqa: E402,F401  (their old home)
