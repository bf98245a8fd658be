"""A full rebuild of the index (`flask search reindex`): streaming, with progress, finishing the queue.

- The rebuild holds the single writer lock from start to end, so the worker's drain() skips its
  turns meanwhile instead of fighting it (and reconciliation waits too).
- Queue rows queued before the rebuild started are covered by it (their data was committed
  before the row was queued, so the rebuild's reads see it): they are deleted after the index
  commit. Rows queued during the rebuild may describe changes the rebuild read too early, so
  they are drained into the new index right after the commit. Nothing written meanwhile is lost;
  a crash before the commit leaves the queue as it was.
- Progress (documents done / total, rate) goes to the caller's callback and to a small file beside
  the index, which `lag()` reads, so the status pages show a reindex in progress.
"""
from __future__ import annotations

import json
import os
import time
from typing import Callable, Optional

from sqlalchemy import delete, func, select
from whoosh.writing import CLEAR

from app.extensions import db
from app.models import Customer, Message, SearchQueueItem, utcnow
from app.search import documents
from app.search import index as idx

PROGRESS_FILE = "tsunagu-reindex.json"
#: A progress file not updated for this long belongs to a rebuild that died (the final commit of
#: a large index merges for minutes without updating it; a dead process's file is ignored at once).
PROGRESS_STALE_SECONDS = 3600
PROGRESS_EVERY_SECONDS = 2.0
#: The writer's posting pool, by Whoosh's estimate (measured at 20k documents: 128 -> 325 MB peak
#: RSS, 256 -> 482 MB, the same CPU time; larger indexes spill more sorted runs, merged at commit).
LIMIT_MB = 128
#: How long the rebuild keeps draining what arrived meanwhile (the worker does the rest).
CATCH_UP_SECONDS = 120


def total_documents(conn=None) -> int:
    """How many documents a rebuild writes (customers are counted with their tombstones)."""
    conn = conn or db.session
    return (conn.scalar(select(func.count(Customer.id))) or 0) + (conn.scalar(select(func.count(Message.id))) or 0)


class _Progress:
    """Counts documents, calls the caller's callback, and keeps the progress file fresh."""

    def __init__(self, path: str, total: int, callback: Optional[Callable[[int], None]]):
        self.path, self.total, self.callback = os.path.join(path, PROGRESS_FILE), total, callback
        self.done, self.started, self.written_at, self.phase = 0, time.time(), 0.0, "reading"
        self._write()

    def add(self, n: int) -> None:
        first, self.done = not self.done, self.done + n
        if first or time.time() - self.written_at >= PROGRESS_EVERY_SECONDS:
            self._write()
        if self.callback:
            self.callback(n)

    def _write(self) -> None:
        self.written_at = time.time()
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"pid": os.getpid(), "started_at": self.started, "updated_at": self.written_at,
                       "done": self.done, "total": self.total, "phase": self.phase}, fh)
        os.replace(tmp, self.path)

    def committing(self) -> None:
        self.phase = "committing"
        self._write()

    def close(self) -> None:
        try:
            os.remove(self.path)
        except OSError:
            pass


def read_progress(path: Optional[str] = None) -> Optional[dict]:
    """The running rebuild's progress (done, total, rate per second, ETA), or None."""
    try:
        with open(os.path.join(path or idx.index_dir(), PROGRESS_FILE), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    now = time.time()
    if now - data.get("updated_at", 0) > PROGRESS_STALE_SECONDS or not _alive(data.get("pid")):
        return None
    elapsed = max(1e-3, data["updated_at"] - data["started_at"])
    rate = data["done"] / elapsed
    eta = (data["total"] - data["done"]) / rate if rate else None
    return {"done": data["done"], "total": data["total"], "phase": data.get("phase", "reading"),
            "docs_per_s": round(rate),
            "eta_seconds": None if eta is None else round(max(0.0, eta)),
            "elapsed_seconds": round(now - data["started_at"])}


def _alive(pid) -> bool:
    """Whether the rebuild's process still runs (the index is on this machine's disk)."""
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def rebuild(progress: Optional[Callable[[int], None]] = None, batch: int = 2000) -> int:
    """Rebuild the whole index from the database, atomically; returns documents indexed.

    `progress(n)` is called after every `n` documents. Searches keep using the old documents until
    the final commit replaces them all (mergetype CLEAR).
    """
    ix, _created = idx.open_or_create()
    writer = idx.bulk_writer(ix, limitmb=LIMIT_MB, timeout=60)
    # Reads use short transactions of their own, never the session's: a read transaction held
    # for the whole rebuild would keep SQLite's WAL from being checkpointed meanwhile.
    with db.engine.connect() as conn:
        # Only once the lock is held: a drain that committed before it is covered by the snapshot.
        started = utcnow()
        covered = conn.scalar(select(func.max(SearchQueueItem.id))) or 0
        tracker = _Progress(idx.index_dir(), total_documents(conn), progress)
    try:
        written = _write_customers(writer, tracker, batch) + _write_messages(writer, tracker, batch)
        tracker.committing()
        writer.commit(mergetype=CLEAR)
    except BaseException:
        writer.cancel()
        tracker.close()
        raise
    state = idx.read_state()
    state.update({"schema": idx.SCHEMA_VERSION, "backfill": None, "rebuilt_at": time.time()})
    idx.write_state(state)
    with db.engine.begin() as conn:
        # Both conditions: SQLite reuses the ids of deleted rows (a drain may empty the table).
        conn.execute(delete(SearchQueueItem).where(SearchQueueItem.id <= covered,
                                                   SearchQueueItem.created_at <= started))
    tracker.close()
    _catch_up()
    return written


def _write_customers(writer, tracker: _Progress, batch: int) -> int:
    """Live customers' documents; progress counts merged ones too (total_documents does)."""
    last, written = 0, 0
    while True:
        with db.engine.connect() as conn:
            docs, last_seen, scanned = documents.customer_docs_after(last, batch, conn)
        if not scanned:
            return written
        for doc in docs:
            writer.add_document(**doc)
        written += len(docs)
        tracker.add(scanned)
        last = last_seen


def _write_messages(writer, tracker: _Progress, batch: int) -> int:
    last, written = 0, 0
    add, build = writer.add_document, documents.message_document
    while True:
        with db.engine.connect() as conn:
            rows = documents.message_rows_after(last, batch, conn)
        if not rows:
            return written
        for row in rows:
            add(**build(row))
        last = rows[-1].id
        written += len(rows)
        tracker.add(len(rows))


def _catch_up() -> None:
    """Drain what was queued during the rebuild (bounded: new arrivals are the worker's)."""
    from app.search.indexer import DRAIN_BATCH, drain

    pending = db.session.scalar(select(func.count(SearchQueueItem.id))) or 0
    turns, deadline = pending // DRAIN_BATCH + 1, time.time() + CATCH_UP_SECONDS
    while turns > 0 and time.time() < deadline:
        result = drain()
        if result.get("busy"):  # the worker took the lock first: it is doing the same work
            time.sleep(0.5)
            continue
        turns -= 1
        if not result.get("queue"):
            return
