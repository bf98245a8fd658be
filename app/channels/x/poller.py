"""Mention polling: X mentions through the one ingest path, since_id advanced only with the batch.

A poll reads every page newer than the stored since_id (up to X_MAX_PAGES_PER_POLL and what the
monthly budget allows), then ingests the posts oldest first in page-sized batches; the last batch
commits the new since_id in its own transaction (`ingest_batch(..., advance_cursor=...)`). A
failure on any page or batch leaves since_id where it was: the next poll reads the same posts
again and the (channel, external_id) constraint absorbs what was already stored.

Polls are paced by the budget (budget.py), guarded by a lease on the ChannelState row so one
worker polls at a time, and everything a supervisor must know (errors, slow-down, pages we could
not follow) lands on ChannelState.last_error; possibly missed mentions also leave an Event.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping, Optional

from app.channels import registry
from app.channels.state import acquire_lease, get_state, release_lease
from app.channels.x.adapter import Page, XChannel, XFetchError
from app.channels.x.budget import current_budget, poll_interval, record_usage
from app.extensions import db
from app.ingest import IngestError, ingest_batch
from app.models import ChannelState, Event, utcnow
from app.outbox.service import worker_id
from app.worker import register_job

log = logging.getLogger(__name__)
MENTIONS = "x"
LEASE_SECONDS = 300


@dataclass
class PollReport:
    channel: str
    #: ok | skipped | paused | error | disabled
    status: str
    detail: str = ""
    pages: int = 0
    #: Posts X returned (what the read cap counts).
    fetched: int = 0
    created: int = 0
    duplicates: int = 0
    invalid: int = 0
    since_id: Optional[str] = None
    warnings: list[str] = field(default_factory=list)
    #: Seconds per page fetched and per batch ingested (for the benchmark).
    fetch_seconds: list[float] = field(default_factory=list)
    ingest_seconds: list[float] = field(default_factory=list)


# --- Poll scheduling, shared with listening.py (cursor rows and leases: app/channels/state.py) ---

def is_due(state: ChannelState, now: datetime) -> bool:
    when = (state.cursor or {}).get("next_poll_at")
    return not when or datetime.fromisoformat(when) <= now


def schedule(state: ChannelState, now: datetime, seconds: float) -> None:
    state.cursor = {**(state.cursor or {}), "next_poll_at": (now + timedelta(seconds=seconds)).isoformat()}


def note_problem(state: ChannelState, text: Optional[str], now: datetime) -> None:
    """Show `text` to supervisors (None clears it)."""
    state.last_error = text
    if text:
        state.last_error_at = now
        log.warning("%s/%s: %s", state.channel, state.key, text)


def later_id(a: Optional[str], b: Optional[str]) -> Optional[str]:
    """The newer of two post ids (ids grow with time; compared as numbers, not strings)."""
    if not a or not b:
        return a or b
    return a if int(a) >= int(b) else b


def max_pages(config: Mapping[str, Any]) -> int:
    return int(config.get("X_MAX_PAGES_PER_POLL") or 10)


def fetch_pages(fetch, since_id: Optional[str], limit: int, allowance: Optional[int], page_size: int,
                smallest: int, report: PollReport) -> tuple[list[Page], Optional[str]]:
    """Follow next_token up to `limit` pages and about `allowance` posts (the budget left).

    Returns (pages, the token left unfollowed). The first page is always read, at least
    `smallest` posts (X's minimum max_results), so a nearly spent budget may overshoot by a few.
    """
    pages: list[Page] = []
    token: Optional[str] = None
    while True:
        size = page_size if allowance is None else max(smallest, min(page_size, allowance))
        started = time.perf_counter()
        page = fetch(since_id, token, size)
        report.fetch_seconds.append(time.perf_counter() - started)
        pages.append(page)
        report.pages, report.fetched = len(pages), report.fetched + page.result_count
        if allowance is not None:
            allowance -= page.result_count
        token = page.next_token
        if not token or len(pages) >= limit or (allowance is not None and allowance < smallest):
            return pages, token


# --- mentions -----------------------------------------------------------------------------------

def _gap_warnings(pages: list[Page], since_id: Optional[str], unread_token: Optional[str],
                  config: Mapping[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """Warnings when mentions between since_id and the oldest post we read may be missing."""
    if not since_id:
        return [], []  # a first poll imports what is reachable; there is no earlier cursor to miss from
    fetched = sum(p.result_count for p in pages)
    ids = [m.external_id for p in pages for m in p.messages] + [p.oldest_id for p in pages if p.oldest_id]
    oldest = min(ids, key=int) if ids else None
    reach = int(config.get("X_MENTIONS_REACH") or 800)
    if unread_token:
        reason = "pages"
        text = (f"Mentions may have been missed: {fetched} were read ({len(pages)} pages, the most this poll "
                f"could follow within X_MAX_PAGES_PER_POLL and the budget); posts after {since_id} and before "
                f"{oldest} were not read.")
    elif fetched >= reach:
        reason = "reach"
        text = (f"Mentions may have been missed: {fetched} mentions arrived since the last poll and X only "
                f"reaches back about {reach}. Poll more often.")
    else:
        return [], []
    return [text], [{"reason": reason, "since_id": since_id, "oldest_read_id": oldest, "fetched": fetched}]


def _ingest(state_id: int, pages: list[Page], newest: Optional[str], now: datetime, interval: float,
            warnings: list[str], gaps: list[dict[str, Any]], batch_size: int, report: PollReport) -> None:
    messages = sorted((m for p in pages for m in p.messages), key=lambda m: (m.created_at, int(m.external_id)))
    batches = [messages[i:i + batch_size] for i in range(0, len(messages), batch_size)] or [[]]

    def advance_cursor() -> None:
        state = db.session.get(ChannelState, state_id)
        cursor = dict(state.cursor or {})
        since = later_id(cursor.get("since_id"), newest)
        if since:
            cursor["since_id"] = since
        cursor["next_poll_at"] = (now + timedelta(seconds=interval)).isoformat()
        state.cursor, state.last_success_at = cursor, now
        note_problem(state, " ".join(warnings) or None, now)
        for gap in gaps:
            db.session.add(Event(kind="x.mentions_gap", data=gap))
        report.since_id = cursor.get("since_id")

    for i, batch in enumerate(batches):
        started = time.perf_counter()
        results = ingest_batch(batch, advance_cursor=advance_cursor if i == len(batches) - 1 else None)
        report.ingest_seconds.append(time.perf_counter() - started)
        for msg, result in zip(batch, results):
            if isinstance(result, IngestError):
                report.invalid += 1
                log.error("X post %s could not be stored: %s", msg.external_id, result)
            elif result.status == "created":
                report.created += 1
            else:
                report.duplicates += 1


def poll_mentions(config: Mapping[str, Any], *, force: bool = False, owner: Optional[str] = None) -> PollReport:
    """Poll the account's mentions once (when due, or now with `force`)."""
    if not XChannel.enabled(dict(config)):
        return PollReport(MENTIONS, "disabled", "X_USER_ID and X_BEARER_TOKEN are not configured")
    now, owner = utcnow(), owner or worker_id()
    state = get_state(MENTIONS, str(config["X_USER_ID"]))
    if not force and not is_due(state, now):
        return PollReport(MENTIONS, "skipped", "not due yet")
    if not acquire_lease(MENTIONS, state.key, owner, seconds=LEASE_SECONDS):
        return PollReport(MENTIONS, "skipped", "another worker is polling")
    try:
        return _poll_mentions(config, state.id, now)
    finally:
        release_lease(MENTIONS, state.key, owner)


def _poll_mentions(config: Mapping[str, Any], state_id: int, now: datetime) -> PollReport:
    report = PollReport(MENTIONS, "ok")
    budget = current_budget(config, now)
    interval, budget_warning = poll_interval(config, budget)
    state = db.session.get(ChannelState, state_id)
    slowest = float(config.get("X_POLL_MAX_SECONDS") or 3600)
    if interval is None:
        note_problem(state, budget_warning, now)
        schedule(state, now, slowest)
        db.session.commit()
        return PollReport(MENTIONS, "paused", budget_warning or "", warnings=[budget_warning or ""])
    since_id = (state.cursor or {}).get("since_id")
    report.since_id = since_id
    adapter = registry.get("x", dict(config))
    page_size = int(config.get("X_PAGE_SIZE") or 100)
    try:
        pages, unread = fetch_pages(adapter.fetch_mentions, since_id, max_pages(config),
                                    budget.reads_left if budget.read_cap > 0 else None, page_size, 5, report)
    except XFetchError as exc:
        record_usage(reads=report.fetched, calls=report.pages + 1, polls=1, now=now)
        state = db.session.get(ChannelState, state_id)
        note_problem(state, f"Mention poll failed (since_id {since_id or '-'} kept): {exc.detail}", now)
        schedule(state, now, exc.retry_after or interval)
        db.session.commit()
        report.status, report.detail = "error", exc.detail
        return report
    record_usage(reads=report.fetched, calls=report.pages, polls=1, now=now)
    db.session.commit()
    # Pace the next poll by what this one consumed; what was read is stored even at the cap.
    interval, budget_warning = poll_interval(config, current_budget(config, now))
    interval = interval if interval is not None else slowest
    warnings, gaps = _gap_warnings(pages, since_id, unread, config)
    if budget_warning:
        warnings.append(budget_warning)
    newest = pages[0].newest_id or next((m.external_id for m in pages[0].messages), None)
    try:
        _ingest(state_id, pages, newest, now, interval, warnings, gaps, page_size, report)
    except Exception as exc:  # storage failed: since_id stays, the next poll replays the batch
        db.session.rollback()
        log.exception("storing X mentions failed")
        state = db.session.get(ChannelState, state_id)
        note_problem(state, f"Storing mentions failed (since_id {since_id or '-'} kept): {exc}", now)
        schedule(state, now, interval)
        db.session.commit()
        report.status, report.detail = "error", str(exc)
        return report
    report.warnings = warnings
    if report.invalid:
        report.warnings.append(f"{report.invalid} posts could not be stored (see the log)")
    return report


def poll_job(app) -> dict[str, str]:
    """The worker job: mentions when due, then brand listening when due and configured."""
    from app.channels.x.listening import poll_listening

    config = app.config
    if not XChannel.enabled(config):
        return {"x": "disabled"}
    result = {"mentions": poll_mentions(config).status}
    if config.get("X_KEYWORDS"):
        result["listening"] = poll_listening(config).status
    return result


register_job("x", poll_job, every=15)

from app.channels.x import commands  # noqa: E402,F401  (attaches `flask poll x`)
