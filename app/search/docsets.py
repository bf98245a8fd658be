"""Filters as cached per-segment bitmaps: status, channel, agent, dates, visibility.

Whoosh matches in Python: intersecting a common word with `status:open` and the agent's
visibility rule (an Or of team/assignee terms) walks a tree of matchers, a few microseconds per
posting per level, and a NumericRange (the date filter) re-reads every document of the range each
time a matcher is made. With 40,000 matches that was seconds per query. Here each filter becomes
a bitmap (one byte per document, 1 = allowed), computed once per index *segment* and kept: a
segment's postings never change once written (deletions only remove documents, and the text
matcher already skips deleted ones), so a bitmap stays valid until the segment is merged away,
across commits that add new segments. The bitmaps of one query's filters are ANDed at C speed
(big-integer AND of the bytes) and the per-segment results concatenated into one global bitmap,
which the search consults per candidate.

`restrict(query, allowed)` puts the bitmap inside the query: the whole query is intersected with
it (`BitmapMatcher`, whose skip_to is a C-speed bytes.find), and so is every FastPhrase's term
intersection, so phrase positions are only decoded for documents the filters allow.
"""
from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Optional, Sequence, Union

from whoosh.matching import IntersectionMatcher, Matcher, NullMatcher, WrappingMatcher
from whoosh.query import MultiTerm, NumericRange, Query, Term

#: One filter group: documents matching ANY of these (field, value) terms, or a day range.
Group = Union[tuple[tuple[str, str], ...], tuple[str, Optional[int], Optional[int]]]

#: Cached bitmaps cost one byte per document: bound the cache by total size.
CACHE_BYTES = 96 * 2**20
_cache: "OrderedDict[tuple, bytes]" = OrderedDict()
_cache_size = [0]
_lock = threading.Lock()


def terms_group(*terms: tuple[str, str]) -> Group:
    return tuple(sorted(terms))


def day_group(low: Optional[int], high: Optional[int]) -> Group:
    return ("day", low, high)


def _cached(key: tuple, build) -> bytes:
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    value = build()
    with _lock:
        if key not in _cache:
            _cache[key] = value
            _cache_size[0] += len(value)
            while _cache_size[0] > CACHE_BYTES and len(_cache) > 1:
                _old, dropped = _cache.popitem(last=False)
                _cache_size[0] -= len(dropped)
    return value


def _segment_key(leaf) -> tuple:
    reader = leaf.reader()
    segment = reader.segment()
    return (id(reader.storage()) if segment is None else segment.segment_id(), reader.doc_count_all())


def _mark(bitmap: bytearray, matcher) -> None:
    """Set the bytes of a posting list's documents, a block at a time when the codec allows.

    Deleted documents may be marked too (the deletion filter is unwrapped): harmless, as the
    text matcher a bitmap is intersected with never yields a deleted document.
    """
    while isinstance(matcher, WrappingMatcher):
        matcher = matcher.child
    if not hasattr(matcher, "_next_block"):  # not a whoosh3 block reader: the slow way
        for docnum in matcher.all_ids():
            bitmap[docnum] = 1
        return
    while matcher.is_active():
        matcher.id()  # loads the block's ids
        for docnum in matcher._ids[matcher._i:]:
            bitmap[docnum] = 1
        matcher._next_block()


def _build_group(leaf, group: Group) -> bytes:
    reader = leaf.reader()
    bitmap = bytearray(reader.doc_count_all())
    if group and group[0] == "day":
        _field, low, high = group
        # The range as its trie terms (an Or of Terms), each read posting list by posting list.
        terms = []
        compiled = NumericRange("day", low, high, constantscore=False)._compile_query(reader)
        for leaf_query in compiled.leaves():
            if isinstance(leaf_query, MultiTerm):  # a TermRange of trie terms
                terms.extend(("day", text) for text in leaf_query._btexts(reader))
            elif isinstance(leaf_query, Term):
                terms.append(("day", leaf_query.text))
    else:
        terms = list(group)
    for fieldname, value in terms:
        if (fieldname, value) in reader:
            _mark(bitmap, reader.postings(fieldname, value))
    return bytes(bitmap)


def _segment_bitmap(leaf, groups: Sequence[Group]) -> bytes:
    seg = _segment_key(leaf)
    parts = [_cached((seg, group), lambda g=group: _build_group(leaf, g)) for group in groups]
    if len(parts) == 1:
        return parts[0]
    size = len(parts[0])
    combined = int.from_bytes(parts[0], "little")
    for part in parts[1:]:
        combined &= int.from_bytes(part, "little")
    # Bytes are 0 or 1, so the integer AND of the byte strings is the byte-wise AND.
    return combined.to_bytes(size, "little")


class Allowed:
    """The global bitmap of a searcher for some filter groups; `docnum in allowed` is O(1)."""

    def __init__(self, searcher, groups: Sequence[Group]):
        self.groups = tuple(sorted(groups, key=repr))
        self._by_segment = {_segment_key(leaf): _segment_bitmap(leaf, self.groups)
                            for leaf, _offset in searcher.leaf_searchers()}
        self.bitmap = b"".join(self._by_segment[_segment_key(leaf)]
                               for leaf, _offset in searcher.leaf_searchers())
        self._count: Optional[int] = None

    def __contains__(self, docnum: int) -> bool:
        return self.bitmap[docnum] == 1

    def __len__(self) -> int:
        if self._count is None:
            self._count = self.bitmap.count(1)
        return self._count

    def segment(self, leaf) -> bytes:
        """The bitmap of one leaf searcher's segment (segment-relative document numbers)."""
        key = _segment_key(leaf)
        if key not in self._by_segment:  # a searcher other than the one this was made for
            self._by_segment[key] = _segment_bitmap(leaf, self.groups)
        return self._by_segment[key]

    def fraction(self) -> float:
        """Share of all documents allowed (for estimating a filtered total)."""
        return len(self) / max(1, len(self.bitmap))


def allowed(searcher, groups: Sequence[Group]) -> Optional[Allowed]:
    """None when there is nothing to filter on."""
    return Allowed(searcher, groups) if groups else None


class BitmapMatcher(Matcher):
    """The allowed documents of one segment as a matcher (no score: a pure filter)."""

    def __init__(self, bitmap: bytes, at: int = 0):
        self._bitmap = bitmap
        self._id = bitmap.find(1, at)

    def is_active(self) -> bool:
        return self._id != -1

    def id(self) -> int:
        return self._id

    def next(self) -> None:
        self._id = self._bitmap.find(1, self._id + 1)

    def skip_to(self, id: int) -> None:
        if id > self._id:
            self._id = self._bitmap.find(1, id)

    def copy(self) -> "BitmapMatcher":
        return BitmapMatcher(self._bitmap, max(self._id, 0)) if self._id != -1 else NullMatcher()

    def replace(self, minquality=0):
        return self if self.is_active() else NullMatcher()

    def supports_block_quality(self) -> bool:
        return False

    def max_quality(self) -> float:
        return 0.0

    def weight(self) -> float:
        return 0.0

    def score(self) -> float:
        return 0.0


def filtered_matcher(child, allowed: Optional[Allowed], leaf):
    """`child` restricted to the documents `allowed` in `leaf`'s segment."""
    if allowed is None or not child.is_active():
        return child
    return IntersectionMatcher(child, BitmapMatcher(allowed.segment(leaf)))


class Filtered(Query):
    """`child`, restricted to an Allowed bitmap; estimates are the child's (an upper bound)."""

    def __init__(self, child: Query, allowed: Allowed):
        self.child, self.allowed, self.boost = child, allowed, 1.0

    def __repr__(self) -> str:
        return f"Filtered({self.child!r}, {self.allowed.groups!r})"

    def __eq__(self, other) -> bool:
        return (isinstance(other, Filtered) and self.child == other.child
                and self.allowed is other.allowed)

    def __hash__(self) -> int:
        return hash(self.child) ^ id(self.allowed)

    def children(self):
        return [self.child]

    def estimate_size(self, ixreader) -> int:
        return self.child.estimate_size(ixreader)

    def estimate_min_size(self, ixreader) -> int:
        return 0

    def matcher(self, searcher, context=None):
        return filtered_matcher(self.child.matcher(searcher, context), self.allowed, searcher)


def restrict(query: Query, allowed: Optional[Allowed]) -> Query:
    """`query` restricted to `allowed` (unchanged when None), phrases filtered before positions."""
    if allowed is None:
        return query
    from app.search.phrase import FastPhrase

    def give_bitmap(node):
        if isinstance(node, FastPhrase):
            node = copy.copy(node)
            node.allowed = allowed
        return node

    return Filtered(query.accept(give_bitmap), allowed)
