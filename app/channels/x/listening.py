"""Brand listening: recent posts naming the shop's keywords without @-mentioning the account.

They are not customer messages yet: each becomes a ListeningPost (its raw JSON kept) until an
agent turns it into a ticket (through the one ingest path) or dismisses it. Searches cost reads
from the same monthly cap as mentions, so listening runs less often (X_LISTEN_SECONDS) and pauses,
visibly, once the budget slow-down starts: answering mentions comes first.
"""
from __future__ import annotations

import logging
import unicodedata
from datetime import datetime
from typing import Any, Mapping, Optional

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.channels import registry
from app.channels.x.adapter import XChannel, XFetchError
from app.channels.x.budget import current_budget, record_usage
from app.channels.state import acquire_lease, get_state, release_lease
from app.channels.x.poller import (LEASE_SECONDS, PollReport, fetch_pages, is_due, later_id, max_pages,
                                   note_problem, schedule)
from app.extensions import db
from app.ingest import InboundMessage, store_raw
from app.models import ChannelState, ListeningPost, utcnow
from app.outbox.service import worker_id

log = logging.getLogger(__name__)
LISTENING = "x-listening"
#: X's limit on a recent-search query (Basic plan).
MAX_QUERY_LENGTH = 512


def _quote(keyword: str) -> str:
    return '"' + keyword.replace('"', "") + '"'


def build_query(keywords: list[str], user_id: str, handle: str = "") -> str:
    """`("kw1" OR "kw2") -is:retweet -from:<us> [-@handle]`, keywords dropped to fit 512 chars."""
    suffix = f" -is:retweet -from:{user_id}" + (f" -@{handle}" if handle else "")
    chosen: list[str] = []
    for keyword in keywords:
        candidate = chosen + [_quote(keyword)]
        if len("(" + " OR ".join(candidate) + ")" + suffix) > MAX_QUERY_LENGTH:
            log.warning("X_KEYWORDS too long for one search; %r and later keywords are left out", keyword)
            break
        chosen = candidate
    return "(" + " OR ".join(chosen) + ")" + suffix


def matched_keywords(text: str, keywords: list[str]) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [k for k in keywords if unicodedata.normalize("NFKC", k).casefold() in folded]


def mentions_us(msg: InboundMessage, user_id: str, handle: str) -> bool:
    """Posts that mention or answer the account arrive through the mentions timeline instead."""
    meta = msg.meta
    if str(meta.get("in_reply_to_user_id") or "") == str(user_id):
        return True
    handle = handle.casefold()
    return any(m.get("id") == str(user_id) or (handle and (m.get("username") or "").casefold() == handle)
               for m in meta.get("mentions") or [])


def _store(msgs: list[InboundMessage], keywords: list[str], now: datetime) -> int:
    """Insert the posts not stored yet (the unique post_id decides); returns how many were new."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    added = 0
    for msg in msgs:
        raw = store_raw(msg.raw or b"{}", msg.raw_content_type, "x")
        meta = msg.meta
        values = dict(post_id=msg.external_id, author_id=msg.sender.value, author_handle=meta.get("author_handle") or "",
                      author_name=msg.sender.name, text=msg.body_text, url=meta.get("url") or "",
                      keywords=matched_keywords(msg.body_text, keywords), posted_at=msg.created_at,
                      fetched_at=now, raw_id=raw.id, status="new",
                      meta={k: meta.get(k) for k in ("author_unavailable", "lang", "conversation_id",
                                                     "referenced_tweets") if meta.get(k)})
        inserted = db.session.execute(insert(ListeningPost).values(**values)
                                      .on_conflict_do_nothing(index_elements=["post_id"])
                                      .returning(ListeningPost.id)).first()
        added += inserted is not None
    return added


def poll_listening(config: Mapping[str, Any], *, force: bool = False, owner: Optional[str] = None) -> PollReport:
    """Search the brand keywords once (when due, or now with `force`)."""
    keywords = list(config.get("X_KEYWORDS") or [])
    if not XChannel.enabled(dict(config)) or not keywords:
        return PollReport(LISTENING, "disabled", "X or X_KEYWORDS is not configured")
    now, owner = utcnow(), owner or worker_id()
    state = get_state(LISTENING, str(config["X_USER_ID"]))
    if not force and not is_due(state, now):
        return PollReport(LISTENING, "skipped", "not due yet")
    if not acquire_lease(LISTENING, state.key, owner, seconds=LEASE_SECONDS):
        return PollReport(LISTENING, "skipped", "another worker is searching")
    try:
        return _poll(config, keywords, state.id, now)
    finally:
        release_lease(LISTENING, state.key, owner)


def _poll(config: Mapping[str, Any], keywords: list[str], state_id: int, now: datetime) -> PollReport:
    report = PollReport(LISTENING, "ok")
    every = float(config.get("X_LISTEN_SECONDS") or 900)
    budget = current_budget(config, now)
    state = db.session.get(ChannelState, state_id)
    slowdown = float(config.get("X_BUDGET_SLOWDOWN_AT") or 0.7)
    if budget.read_cap > 0 and budget.read_share >= slowdown:
        text = (f"Brand listening paused: X read budget {budget.read_share:.0%} used "
                f"({budget.reads}/{budget.read_cap}); mentions keep the rest.")
        note_problem(state, text, now)
        schedule(state, now, every)
        db.session.commit()
        return PollReport(LISTENING, "paused", text, warnings=[text])
    user_id, handle = str(config["X_USER_ID"]), config.get("X_HANDLE") or ""
    query = build_query(keywords, user_id, handle)
    since_id = (state.cursor or {}).get("since_id")
    adapter = registry.get("x", dict(config))
    size = max(10, min(int(config.get("X_SEARCH_MAX_RESULTS") or 50), 100))
    try:
        pages, unread = fetch_pages(lambda since, token, n: adapter.search_recent(query, since, token, n),
                                    since_id, max_pages(config), budget.reads_left if budget.read_cap > 0 else None,
                                    size, 10, report)
    except XFetchError as exc:
        record_usage(reads=report.fetched, calls=report.pages + 1, now=now)
        state = db.session.get(ChannelState, state_id)
        note_problem(state, f"Brand search failed (since_id {since_id or '-'} kept): {exc.detail}", now)
        schedule(state, now, exc.retry_after or every)
        db.session.commit()
        report.status, report.detail = "error", exc.detail
        return report
    record_usage(reads=report.fetched, calls=report.pages, now=now)
    db.session.commit()  # reads are spent even if storing fails below
    msgs = [m for p in pages for m in p.messages if not mentions_us(m, user_id, handle)]
    report.created = _store(msgs, keywords, now)
    report.duplicates = len(msgs) - report.created
    state = db.session.get(ChannelState, state_id)
    newest = pages[0].newest_id or next((m.external_id for m in pages[0].messages), None)
    cursor = dict(state.cursor or {})
    if later_id(cursor.get("since_id"), newest):
        cursor["since_id"] = later_id(cursor.get("since_id"), newest)
    state.cursor, state.last_success_at = cursor, now
    schedule(state, now, every)
    warning = (f"Brand search returned more than {report.pages} pages; older matches were not read."
               if unread and since_id else None)
    note_problem(state, warning, now)
    db.session.commit()  # the posts and the new since_id together
    report.since_id = cursor.get("since_id")
    report.warnings = [warning] if warning else []
    return report
