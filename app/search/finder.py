"""One page of message document numbers: ranked when the match set is small, else newest first.

Filters and visibility are a bitmap (docsets.py) intersected with the text query, so a common word
with a filter no longer walks a tree of term matchers nor re-reads a date range per matcher. Whoosh scores
every match in Python (~20 µs each), so ranking 40,000 matches of a common word takes a second:
past `rank_limit` estimated text matches (and always for sort=newest) the newest documents are
scanned first, window by window, the scan stops once the page is full, and the total is an
estimate (`exact` False).
"""
from __future__ import annotations

from typing import Optional

from whoosh.query import Query

from app.search.docsets import Allowed, restrict


def find_messages(searcher, query: Query, allowed: Optional[Allowed], sort: str, page: int,
                  per_page: int, rank_limit: int) -> tuple[list[int], int, bool]:
    """(message ids of the page, total, exact?)."""
    estimate = query.estimate_size(searcher.reader())
    query = restrict(query, allowed)
    if sort == "relevance" and estimate <= rank_limit:
        # optimize=False: score every allowed match (at most rank_limit), so the count is exact.
        found = searcher.search(query, limit=page * per_page, optimize=False, terms=False)
        exact = found.has_exact_length()
        total = len(found) if exact else found.estimated_length()
        return [hit["obj_id"] for hit in found[(page - 1) * per_page:page * per_page]], total, exact
    want = page * per_page
    scan = want + max(2 * want, 100)
    share = allowed.fraction() if allowed is not None else 1.0
    # A matcher only moves forward, so a window is read from its oldest document up: size the
    # first one to hold about `scan` matches (estimate: text matches x share the filters allow).
    density = max(estimate * share / max(1, searcher.doc_count_all()), 1e-4)
    window = min(65536, max(256, int(scan / density * 1.25)))
    docnums = newest_docnums(searcher, query, scan, allowed, window)
    created = searcher.reader().column_reader("created")
    docnums.sort(key=lambda d: created[d], reverse=True)
    if len(docnums) < scan:  # the scan reached the oldest document: every match was seen
        total, exact = len(docnums), True
    else:
        total, exact = max(int(estimate * share), len(docnums)), False
    stored = searcher.stored_fields
    return [stored(d)["obj_id"] for d in docnums[(page - 1) * per_page:want]], total, exact


def newest_docnums(searcher, query: Query, want: int, allowed: Optional[Allowed] = None,
                   window: int = 4096) -> list[int]:
    """Up to `want` matching (and allowed) document numbers, from the most recently indexed."""
    bitmap = allowed.bitmap if allowed is not None else None
    found: list[int] = []
    for sub, offset in reversed(searcher.leaf_searchers()):
        high, size = sub.doc_count_all(), window
        while high > 0 and len(found) < want:
            low = max(0, high - size)
            if bitmap is None or bitmap.find(1, offset + low, offset + high) != -1:
                found.extend(offset + d for d in reversed(_window(sub, query, low, high)))
            high, size = low, size * 4
        if len(found) >= want:
            break
    return found[:want]


def _window(sub, query: Query, low: int, high: int) -> list[int]:
    """Matching segment document numbers in [low, high), ascending."""
    matcher = query.matcher(sub, sub.boolean_context())
    if matcher.is_active() and matcher.id() < low:
        matcher.skip_to(low)
    chunk: list[int] = []
    while matcher.is_active():
        docnum = matcher.id()
        if docnum >= high:
            break
        chunk.append(docnum)
        matcher.next()
    return chunk
