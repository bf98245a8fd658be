"""Polling one mailbox: lease, fetch, store raw, parse, ingest with the cursor, record status.

Per batch: the raw bytes are stored and committed BEFORE parsing (so what arrived survives any
parser failure), then parsed (parse_message never raises), then `ingest_batch()` stores the
messages and advances the ChannelState cursor {uidvalidity, last_uid} in ONE transaction. A
crash anywhere replays the batch; the (channel, external_id) constraint absorbs the replay. A
UIDVALIDITY change resets the cursor to 0 and the whole folder is read again, idempotently.

One mailbox = one ChannelState row (`key`), one lease, one thread (runner.py): a slow or broken
mailbox never holds up another. The outcome (last_success_at / last_error) is on the row for
admins to see.

History import: a mailbox with a cutoff (`history_before`) marks the mail from before it as
history (email/history.py decides per message), which ingest stores into closed tickets without
anything live; the same batches, cursor and replay rules apply, so an interrupted import simply
goes on, and mail after the cutoff in the same poll is handled as usual.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable, Optional

from flask import current_app
from imapclient.exceptions import LoginError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from app.channels import state as channel_state
from app.channels.email.history import Progress, is_history
from app.channels.email.imap import CONNECTION_ERRORS, Fetched, ImapSession, MailboxConfig, backoff
from app.channels.email.mime import (CHANNEL, RAW_CONTENT_TYPE, ParseOptions, parse_message, raw_sha256,
                                     unreadable)
from app.extensions import db
from app.ingest import IngestError, IngestResult, ingest, ingest_batch, store_raw
from app.ingest.service import content_hash, validate
from app.models import ChannelState, Identity, Message, RawSource, utcnow
from app.worker import register_job
from app.worker import stopping as worker_stopping

log = logging.getLogger(__name__)
#: Default mailbox lease; config EMAIL_LEASE_SECONDS overrides it (a dead poller's mailbox waits this long).
LEASE_SECONDS = 300


def lease_seconds() -> int:
    return int(current_app.config.get("EMAIL_LEASE_SECONDS") or LEASE_SECONDS)


@dataclass
class PollResult:
    mailbox: str
    fetched: int = 0
    created: int = 0
    duplicates: int = 0
    unreadable: int = 0
    #: Of the created messages, how many were imported as history (closed, nothing live).
    history: int = 0
    batches: int = 0
    #: Seconds from fetch start to commit, per batch (the benchmark reports median/p95).
    batch_seconds: list[float] = field(default_factory=list)
    #: Of which inside ingest_batch() (storing + threading + message.ingested subscribers).
    ingest_seconds: float = 0.0
    rescanned: bool = False
    #: Another worker holds the mailbox's lease.
    skipped: bool = False
    error: Optional[str] = None

    def summary(self) -> str:
        if self.skipped:
            return f"{self.mailbox}: busy (another worker is polling it)"
        rescan = " (UIDVALIDITY changed: rescanned)" if self.rescanned else ""
        text = (f"{self.mailbox}: {self.fetched} fetched, {self.created} new, "
                f"{self.duplicates} already stored, {self.unreadable} unreadable{rescan}")
        if self.history:
            text += f", {self.history} imported as history (closed)"
        return text + (f"; ERROR {self.error}" if self.error else "")


def owner_id() -> str:
    from app.outbox.service import worker_id

    return f"{worker_id()}:{threading.current_thread().name}"[:100]


def _dedupe(msgs: list) -> list:
    """Give a message whose Message-ID is already taken by OTHER content its own external id, and
    drop exact re-deliveries (same raw bytes), so ingest never rejects what we fetched."""
    ids = {m.external_id for m in msgs}
    known = {row.external_id: (row.content_hash, row.sha256) for row in db.session.execute(
        select(Message.external_id, Message.content_hash, RawSource.sha256)
        .outerjoin(RawSource, RawSource.id == Message.raw_id)
        .where(Message.channel == CHANNEL, Message.external_id.in_(ids)))}
    out, seen = [], {}
    for msg in msgs:
        digest, raw_digest = content_hash(msg), raw_sha256(msg.raw)[7:]
        previous = known.get(msg.external_id) or seen.get(msg.external_id)
        # previous[0] == "": our own outbound message (not ingested); ingest reports a duplicate.
        if previous is not None and previous[0] and previous[0] != digest:
            if previous[1] == raw_digest:
                continue  # the same bytes, read differently by an older parser: already stored
            msg = dataclasses.replace(msg, external_id=f"{msg.external_id[:400]}#{raw_digest[:16]}")
        seen.setdefault(msg.external_id, (digest, raw_digest))
        out.append(msg)
    return out


def _prepare(batch: list[Fetched], box: MailboxConfig) -> list:
    config = current_app.config
    msgs = []
    for item in batch:
        options = ParseOptions(max_attachment_bytes=config["MAX_ATTACHMENT_BYTES"],
                               max_body_chars=config["MAX_BODY_CHARS"], mailbox=box.key,
                               received_at=item.internaldate)
        msg = parse_message(item.raw, options)
        for trust_headers in (True, False):
            try:
                validate(msg)
                break
            except IngestError as exc:
                msg = unreadable(item.raw, f"rejected by ingest: {exc}", options, trust_headers=trust_headers)
        if is_history(msg.created_at, item.internaldate, box.history_before):
            msg = dataclasses.replace(msg, history=True, meta={**msg.meta, "history": True})
        msgs.append(msg)
    return _dedupe(msgs)


def _store_raws(batch: list[Fetched]) -> None:
    """store_raw() for a whole batch with one lookup, committed before anything is parsed."""
    digests = {raw_sha256(item.raw)[7:]: item.raw for item in batch}
    known = set(db.session.scalars(select(RawSource.sha256).where(RawSource.sha256.in_(list(digests)))))
    db.session.add_all(RawSource(sha256=digest, content_type=RAW_CONTENT_TYPE, size=len(raw), content=raw,
                                 channel=CHANNEL) for digest, raw in digests.items() if digest not in known)
    try:
        db.session.commit()
    except IntegrityError:  # another worker stored one of them first: the slow, safe way
        db.session.rollback()
        for raw in digests.values():
            store_raw(raw, RAW_CONTENT_TYPE, CHANNEL)
        db.session.commit()


def _mark_bounces(msgs: list) -> None:
    hard = {a for m in msgs if m.meta.get("bounce") for a in m.meta["bounce"].get("hard", [])}
    if hard:
        db.session.execute(update(Identity).where(Identity.kind == "email", Identity.value.in_(sorted(hard)))
                           .values(bouncing=True))


def _store_each(msgs: list, advance_cursor: Callable[[], None]) -> list:
    """Each message of a refused batch alone; one still refused is kept as an unreadable entry
    carrying the error (and its raw), then the cursor moves on."""
    outcomes: list = []
    for msg in msgs:
        try:
            outcomes.append(ingest(msg))
        except IngestError as exc:
            outcomes.append(exc)
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:  # noqa: BLE001
            db.session.rollback()
            log.exception("email %s could not be stored", msg.external_id)
            error = f"could not be stored: {type(exc).__name__}: {exc}"
            outcomes.append(ingest(unreadable(msg.raw, error, trust_headers=False)))
    advance_cursor()
    db.session.commit()
    return outcomes


def _ingest(batch: list[Fetched], last_uid: int, uidvalidity: int, state: ChannelState,
            box: MailboxConfig, result: PollResult) -> None:
    _store_raws(batch)  # raw first, committed: it survives whatever the parser does next
    msgs = _prepare(batch, box)

    def advance_cursor() -> None:
        state.cursor = {"uidvalidity": uidvalidity, "last_uid": last_uid}
        state.lease_until = utcnow() + timedelta(seconds=lease_seconds())
        _mark_bounces(msgs)

    started = time.perf_counter()
    try:
        outcomes = ingest_batch(msgs, advance_cursor=advance_cursor)
    except (OperationalError, InterfaceError):
        raise  # the database is unwell: the poll fails, the cursor stays, the next poll replays
    except Exception:  # noqa: BLE001 - one message the database refuses must not halt the mailbox
        db.session.rollback()
        log.exception("mailbox %s: batch up to UID %s refused; storing it one by one", box.key, last_uid)
        outcomes = _store_each(msgs, advance_cursor)
    result.ingest_seconds += time.perf_counter() - started
    for msg, outcome in zip(msgs, outcomes):
        if isinstance(outcome, IngestError):  # not expected after _prepare; still never dropped
            log.error("email %s rejected by ingest (%s); storing it as unreadable", msg.external_id, outcome)
            outcome = ingest(unreadable(msg.raw, f"rejected by ingest: {outcome}", trust_headers=False))
        if isinstance(outcome, IngestResult):
            result.created += outcome.status == "created"
            result.history += outcome.status == "created" and msg.history
            result.duplicates += outcome.status == "duplicate"
        result.unreadable += bool(msg.parse_error)
    result.duplicates += len(batch) - len(msgs)
    result.fetched += len(batch)
    # End the read transaction the event handlers left open: no connection is held (idle in
    # transaction) while IMAP fetches the next batch, and a database restart meanwhile is met
    # by a fresh, pre-pinged connection instead of a dead one.
    db.session.rollback()


def _drain(box: MailboxConfig, state: ChannelState, result: PollResult, deadline: Optional[float],
           after_batch: Optional[Callable[[PollResult], None]],
           progress: Optional[Callable[[str], None]] = None) -> None:
    config = current_app.config
    session = ImapSession(box)
    info = session.open()
    try:
        cursor = dict(state.cursor or {})
        last_uid = int(cursor.get("last_uid", 0))
        if cursor.get("uidvalidity") != info.uidvalidity:
            result.rescanned = "uidvalidity" in cursor
            last_uid = 0
            state.cursor = {"uidvalidity": info.uidvalidity, "last_uid": 0}
            db.session.commit()
        meter = None
        if progress is not None:  # one SEARCH for the count: cheap next to fetching what it counts
            left = sum(1 for uid in session.client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
            meter = Progress(box.key, result.fetched + left, progress)
        started = time.perf_counter()
        for batch_last_uid, batch in session.batches(last_uid, config["EMAIL_BATCH_SIZE"],
                                                     config["EMAIL_BATCH_BYTES"]):
            _ingest(batch, batch_last_uid, info.uidvalidity, state, box, result)
            now = time.perf_counter()
            result.batches += 1
            result.batch_seconds.append(now - started)
            if meter is not None:
                meter.update(result.fetched, result.history)
            if after_batch is not None:
                after_batch(result)
            started = time.perf_counter()
            if (deadline is not None and started > deadline) or worker_stopping.is_set():
                break  # SIGTERM: the cursor is committed up to here; the next poll goes on
        if meter is not None:
            meter.update(result.fetched, result.history, final=True)
    finally:
        session.close()


def poll_mailbox(box: MailboxConfig, *, budget: Optional[float] = None, max_reconnects: int = 3,
                 after_batch: Optional[Callable[[PollResult], None]] = None,
                 progress: Optional[Callable[[str], None]] = None) -> PollResult:
    """Fetch and ingest what is new in `box` (inside an app context); never raises.

    Connection failures reconnect with backoff (up to `max_reconnects` times) and resume from the
    committed cursor. `budget` (seconds) ends the poll after the batch that crosses it.
    `progress(text)` receives an "n of N" line with the rate now and then (a history import).
    """
    result = PollResult(box.key)
    owner = owner_id()
    if not channel_state.acquire_lease(CHANNEL, box.key, owner, seconds=lease_seconds()):
        result.skipped = True
        return result
    deadline = time.perf_counter() + budget if budget else None
    try:
        state = channel_state.get_state(CHANNEL, box.key)
        for attempt in range(max_reconnects + 1):
            try:
                _drain(box, state, result, deadline, after_batch, progress)
                break
            except CONNECTION_ERRORS as exc:
                db.session.rollback()
                if attempt == max_reconnects or isinstance(exc, LoginError):
                    raise  # a refused login fails again (and servers add an auth penalty): report it
                log.warning("mailbox %s: %s; reconnecting", box.key, exc)
                time.sleep(backoff(attempt + 1, base=0.5, cap=30))
        channel_state.record_success(CHANNEL, box.key)
    except Exception as exc:  # noqa: BLE001 - recorded on the row for admins; the next poll retries
        log.exception("polling mailbox %s failed", box.key)
        result.error = f"{type(exc).__name__}: {exc}"[:2000]
        channel_state.record_error(CHANNEL, box.key, result.error)
    finally:
        db.session.rollback()
        channel_state.release_lease(CHANNEL, box.key, owner)
    return result


def _job(app) -> object:
    from app.channels.email.runner import start_due

    return start_due(app)


register_job("email", _job, every=5)
from app.channels.email import cli  # noqa: E402,F401  (attaches `flask poll email`)
