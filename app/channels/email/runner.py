"""Running the mailbox polls: one thread per mailbox, for the worker and for `flask poll email`.

The worker job (`start_due`, every few seconds) starts a poll thread for each configured mailbox
that is due and not already running, and returns at once: the outbox and other jobs never wait
for a slow IMAP server, and one mailbox's 20 MB attachment never delays another mailbox.
`watch()` is the long-running form behind `flask poll email`: poll, then wait with IMAP IDLE
(or sleep where the server lacks it), reconnecting with backoff when the connection drops.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from flask import Flask

from app.channels.email.imap import CONNECTION_ERRORS, ImapSession, MailboxConfig, backoff, mailboxes
from app.channels.email.mime import CHANNEL
from app.channels.email.poller import PollResult, poll_mailbox
from app.extensions import db

log = logging.getLogger(__name__)
#: IDLE is re-issued this often, so a stop request is honoured quickly (RFC 2177 asks < 29 min).
IDLE_SLICE_SECONDS = 5.0
_lock = threading.Lock()


@dataclass
class _Slot:
    """One mailbox of one app: its poll thread, when it is due again, its last result."""

    thread: Optional[threading.Thread] = None
    next_due: float = 0.0
    last: Optional[PollResult] = None


def _slots(app: Flask) -> dict[str, _Slot]:
    # Kept on the app (not in a module dict keyed by id(app)): each app, e.g. each test's, has its own.
    return app.extensions.setdefault("email_polls", {})


def _poll_in_context(app: Flask, box: MailboxConfig, budget: Optional[float],
                     progress: Optional[Callable[[str], None]] = None) -> PollResult:
    with app.app_context():
        try:
            return poll_mailbox(box, budget=budget, max_reconnects=app.config.get("EMAIL_RECONNECTS", 3),
                                progress=progress)
        finally:
            db.session.remove()


def _thread_body(app: Flask, box: MailboxConfig, slot: _Slot) -> None:
    try:
        slot.last = _poll_in_context(app, box, app.config["EMAIL_POLL_BUDGET_SECONDS"])
    except Exception:  # noqa: BLE001 - poll_mailbox records its errors; this is a last resort
        log.exception("email poll thread for %s crashed", box.key)


def start_due(app: Flask) -> dict[str, str]:
    """Start a poll thread for every due mailbox that is not being polled; do not wait."""
    status: dict[str, str] = {}
    now = time.monotonic()
    slots = _slots(app)
    for box in mailboxes(app.config):
        with _lock:
            slot = slots.setdefault(box.key, _Slot())
            if slot.thread is not None and slot.thread.is_alive():
                status[box.key] = "running"
                continue
            if slot.next_due > now:
                status[box.key] = "waiting"
                continue
            slot.next_due = now + app.config["EMAIL_POLL_SECONDS"]
            # Not a daemon: `flask worker --once` exits only after its polls have committed.
            slot.thread = threading.Thread(target=_thread_body, args=(app, box, slot),
                                           name=f"email-poll:{box.key}", daemon=False)
            slot.thread.start()
            status[box.key] = "started"
    return status


def wait_for_polls(app: Flask, timeout: float = 60.0) -> dict[str, PollResult]:
    """Join this app's poll threads (tests, `--once`); returns the latest result per mailbox."""
    deadline = time.monotonic() + timeout
    slots = _slots(app)
    for slot in list(slots.values()):
        if slot.thread is not None:
            slot.thread.join(max(0.0, deadline - time.monotonic()))
    return {key: slot.last for key, slot in slots.items() if slot.last is not None}


def poll_all_once(app: Flask, boxes: Optional[list[MailboxConfig]] = None,
                  progress: Optional[Callable[[str], None]] = None) -> list[PollResult]:
    """Poll every mailbox (or `boxes`) once, concurrently, until each has nothing new (no
    budget); `progress` receives each poll's "n of N" lines (a history import)."""
    boxes = mailboxes(app.config) if boxes is None else boxes
    results: dict[str, PollResult] = {}

    def run(box: MailboxConfig) -> None:
        results[box.key] = _poll_in_context(app, box, None, progress)

    threads = [threading.Thread(target=run, args=(box,), name=f"email-poll:{box.key}") for box in boxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[box.key] for box in boxes if box.key in results]


def _cursor(app: Flask, box: MailboxConfig) -> dict:
    from app.channels import state as channel_state

    with app.app_context():
        try:
            return dict(channel_state.get_state(CHANNEL, box.key).cursor or {})
        finally:
            db.session.remove()


def _wait_for_mail(box: MailboxConfig, cursor: dict, seconds: float, stop: threading.Event) -> None:
    """Return when the folder has mail after `cursor` (at once if some arrived while we were
    polling), IDLE telling us, or `seconds`; servers without IDLE are simply waited on."""
    session = ImapSession(box)
    try:
        info = session.open()
        last_uid = int(cursor.get("last_uid", 0))
        if info.uidvalidity != cursor.get("uidvalidity") or any(
                uid > last_uid for uid in session.client.search(["UID", f"{last_uid + 1}:*"])):
            return
        deadline = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < deadline:
            if not session.client.has_capability("IDLE"):
                stop.wait(min(seconds, 60))
                return
            if session.wait(min(IDLE_SLICE_SECONDS, max(1.0, deadline - time.monotonic()))):
                return
    finally:
        session.close()


def watch(app: Flask, box: MailboxConfig, stop: threading.Event) -> None:
    """Poll `box` whenever mail arrives until `stop` is set; failures back off and retry."""
    failures = 0
    while not stop.is_set():
        result = _poll_in_context(app, box, app.config["EMAIL_POLL_BUDGET_SECONDS"])
        log.info(result.summary())
        if result.error or result.skipped:
            failures += 1
            stop.wait(backoff(failures, base=2.0, cap=300))
            continue
        failures = 0
        try:
            _wait_for_mail(box, _cursor(app, box), app.config["EMAIL_IDLE_SECONDS"], stop)
        except CONNECTION_ERRORS as exc:
            log.warning("IDLE on %s failed: %s", box.key, exc)
            stop.wait(backoff(1, base=2.0))


def watch_all(app: Flask, stop: Optional[threading.Event] = None) -> None:
    """Watch every configured mailbox, each in its own thread, until `stop` (or Ctrl-C)."""
    stop = stop or threading.Event()
    threads = [threading.Thread(target=watch, args=(app, box, stop), name=f"email-watch:{box.key}",
                                daemon=True) for box in mailboxes(app.config)]
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads) and not stop.is_set():
            stop.wait(1.0)
    except KeyboardInterrupt:
        stop.set()
    for thread in threads:
        thread.join(timeout=35)
