"""One page of message document numbers: ranked when the match set is small, else newest first.

Filters and visibility are a bitmap (docsets.py) intersected with the text query, so a common word
with a filter no longer walks a tree of term matchers nor re-reads a date range per matcher. Whoosh scores
every match in Python (~20 µs each), so ranking 40,000 matches of a common word takes a second:
past `rank_limit` estimated text matches (and always for sort=newest) the newest documents are
scanned first, window by window, the scan stops once the page is full, and the total is an
estimate (`exact` False).

Windows are measured in *allowed* documents (set bytes of the filter bitmap), not in document
numbers: a date range or a team covers a few dense stretches of the index, and a window sized
from the overall share of allowed documents read every match of a month at once (11,000 phrase
checks, 200 ms, for 20 results). Stretches with nothing allowed are stepped over, not counted.

Customer searches rank their top few with `FullTopCollector`, which lets whoosh skip blocks
that cannot enter them.
"""
from __future__ import annotations

from typing import Optional

from whoosh.collectors import TopCollector
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
    # first one to hold about `scan` matches (text matches per document x allowed documents).
    density = max(estimate / max(1, searcher.doc_count_all()), 1e-4)
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
    """Up to `want` matching (and allowed) document numbers, from the most recently indexed.

    `window`: allowed documents in the first window; each next window is 4 times larger.
    """
    bitmap = allowed.bitmap if allowed is not None else None
    found: list[int] = []
    for sub, offset in reversed(searcher.leaf_searchers()):
        high, size = sub.doc_count_all(), window
        while high > 0 and len(found) < want:
            if bitmap is None:
                low = max(0, high - size)
            else:
                last = bitmap.rfind(1, offset, offset + high)
                if last == -1:  # nothing allowed below: the segment is done
                    break
                high = last - offset + 1
                low = _low_for(bitmap, offset, high, size)
            found.extend(offset + d for d in reversed(_window(sub, query, low, high)))
            high, size = low, size * 4
        if len(found) >= want:
            break
    return found[:want]


def _low_for(bitmap: bytes, offset: int, high: int, count: int) -> int:
    """The segment document number from which [low, high) holds about `count` allowed ones."""
    end, step = offset + high, max(4096, count)
    while end > offset:
        start = max(offset, end - step)
        have = bitmap.count(1, start, end)
        if have >= count:  # the boundary is in [start, end): bisect it (C-speed counts)
            lo, hi = start, end
            while hi - lo > 64:
                mid = (lo + hi) // 2
                if bitmap.count(1, mid, end) >= count:
                    lo = mid
                else:
                    hi = mid
            return lo - offset
        count -= have
        end = start
    return 0


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


class FullTopCollector(TopCollector):
    """whoosh's TopCollector, whose lowest kept score counts from the moment the list is full.

    Upstream raises `minscore` only when a better document replaces one, so when the first
    `limit` matches already hold the best score (a common name: thousands of ties) it stays 0,
    no block is ever skipped, and all matches are scored. A full list rejects any score not
    above its lowest (ties keep the earlier document), so that score is a valid bound at once.
    """

    def _collect(self, global_docnum, score):
        key = super()._collect(global_docnum, score)
        if len(self.items) >= self.limit:
            self.minscore = self.items[0][0]
        return key
