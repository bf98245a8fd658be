"""The background worker: outbox delivery and channel polling, each job failing on its own.

Channels register their poll jobs with `register_job`; `run_forever` runs every due job in turn.
In the embedded default the worker runs as a thread of the web process (`flask serve`); in
production it is its own process (`flask worker`).
"""
from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from flask import Flask

from app.extensions import db

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    fn: Callable[[Flask], object]
    every: float
    next_run: float = field(default=0.0)


_jobs: dict[str, Job] = {}


def register_job(name: str, fn: Callable[[Flask], object], every: float) -> None:
    """Run `fn(app)` every `every` seconds in the worker (re-registering replaces)."""
    _jobs[name] = Job(name, fn, every)


#: Set by SIGTERM/SIGINT in a worker process; jobs check it between units of work.
stopping = threading.Event()


#: A backlog is drained batch after batch for up to this long per turn, then the other jobs run.
OUTBOX_TURN_SECONDS = 5.0
OUTBOX_BATCH = 20


def _deliver_outbox(app: Flask) -> object:
    from app.outbox import deliver_due

    totals: dict[str, int] = {}
    deadline = time.monotonic() + OUTBOX_TURN_SECONDS
    while True:
        counts = deliver_due(limit=OUTBOX_BATCH, should_stop=stopping.is_set)
        for status, n in counts.items():
            totals[status] = totals.get(status, 0) + n
        # Only a full batch that all went out suggests more is waiting and the channel is well;
        # failures keep the old pace (one batch per turn) rather than burning through retries.
        if counts.get("sent", 0) < OUTBOX_BATCH or stopping.is_set() or time.monotonic() > deadline:
            return totals


register_job("outbox", _deliver_outbox, every=2)


def run_once(app: Flask, only_due: bool = False) -> dict[str, object]:
    """Run every job (or only the due ones) once; one failing job never stops the others."""
    results: dict[str, object] = {}
    now = time.monotonic()
    for job in list(_jobs.values()):
        if only_due and job.next_run > now:
            continue
        job.next_run = now + job.every
        with app.app_context():
            try:
                results[job.name] = job.fn(app)
            except Exception as exc:
                db.session.rollback()
                log.exception("worker job %s failed", job.name)
                results[job.name] = exc
            finally:
                db.session.remove()
    return results


def run_forever(app: Flask, stop: threading.Event | None = None) -> None:
    """Run due jobs until `stop` (or, in a worker process, SIGTERM/SIGINT) is set."""
    stop = stop or stopping
    if threading.current_thread() is threading.main_thread():
        def _graceful(signum, _frame):
            log.info("worker received signal %s: finishing the work in hand", signum)
            stopping.set()

        signal.signal(signal.SIGTERM, _graceful)
        signal.signal(signal.SIGINT, _graceful)
    log.info("worker started with jobs: %s", ", ".join(_jobs))
    if app.config.get("INTENT_WARMUP"):
        from app.retention.intent_model import warm_up

        warm_up()  # trains in the background (~3 s) before the first polled message needs the model
    while not stop.is_set() and not stopping.is_set():
        run_once(app, only_due=True)
        stop.wait(0.5)
    log.info("worker stopped")


def start_background(app: Flask) -> threading.Event:
    """Run the worker in a daemon thread of this process; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run_forever, args=(app, stop), name="tsunagu-worker", daemon=True).start()
    return stop
