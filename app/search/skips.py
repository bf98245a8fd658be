"""Skip lists for Whoosh posting lists: jump to the block holding a document in O(log n).

A whoosh3 posting list is a chain of blocks of 128 postings, each headed by its length and a
pickled info tuple (with the block's highest document number). `skip_to` far ahead walks that
chain header by header: about 6 µs a block, so reaching the newest documents of a bigram found
in 400,000 messages (3,000 blocks) costs ~20 ms per term, and a Japanese phrase with its loose
variants has a dozen terms. Newest-first search (finder.py) starts every window with such a skip.

Here the headers a skip walks are remembered per posting list (block offsets and highest
document numbers, in arrays), and later skips bisect them. A list is walked at most once per
opened segment, lazily and only as far as a skip needed: a first search costs what it did. The
table hangs off the segment's postings file object, which is immutable once written and lives
as long as the searcher that opened it (index.searcher() keeps one per thread).
"""
from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import OrderedDict

from whoosh.codec import whoosh3
from whoosh.matching import ReadTooFar

#: Remembered blocks per postings file (16 bytes each, so at most 8 MB): oldest lists dropped first.
MAX_BLOCKS = 500_000
#: A skip within this many blocks walks as before (no table for short hops or short lists).
MIN_WALK = 4
_INT = whoosh3._INT_SIZE


class _Table:
    """Known blocks of one posting list, from its first: highest docnum and file offset of each."""

    __slots__ = ("maxids", "offsets", "next_offset")

    def __init__(self, base: int):
        self.maxids = array("q")
        self.offsets = array("q")
        self.next_offset = base  #: the first block not yet read; -1 once the last one was

    def extend_to(self, postfile, target: int) -> None:
        """Read block headers until one holds a docnum >= target, or the list ends."""
        maxids, offsets, position = self.maxids, self.offsets, self.next_offset
        while position != -1 and (not maxids or maxids[-1] < target):
            postfile.seek(position)
            length = postfile.read_int()
            info = postfile.read_pickle()
            maxids.append(info[1])
            offsets.append(position)
            position = -1 if length < 0 else position + _INT + abs(length)
        self.next_offset = position


def _tables(postfile) -> "OrderedDict[int, _Table]":
    tables = getattr(postfile, "_tsunagu_skips", None)
    if tables is None:
        tables = postfile._tsunagu_skips = OrderedDict()
        postfile._tsunagu_skip_blocks = 0
    return tables


def _jump(matcher, targetid: int) -> None:
    """Move `matcher` to the first block whose highest docnum is >= targetid (or past the end)."""
    postfile = matcher._postfile
    tables = _tables(postfile)
    table = tables.get(matcher._startoffset)
    if table is None:
        table = tables[matcher._startoffset] = _Table(matcher._baseoffset)
    else:
        tables.move_to_end(matcher._startoffset)
    before = len(table.maxids)
    table.extend_to(postfile, targetid)
    postfile._tsunagu_skip_blocks += len(table.maxids) - before
    while postfile._tsunagu_skip_blocks > MAX_BLOCKS and len(tables) > 1:
        _key, dropped = tables.popitem(last=False)
        postfile._tsunagu_skip_blocks -= len(dropped.maxids)
    k = bisect_left(table.maxids, targetid)
    if k == len(table.maxids):  # beyond the last posting: the matcher is done
        matcher._goto(table.offsets[-1])
        matcher._atend = True
    else:
        matcher._goto(table.offsets[k])


def skip_to(self, targetid):
    """W3LeafMatcher.skip_to with the block found by the skip table, then bisected inside."""
    if not self.is_active():
        raise ReadTooFar
    if targetid <= self.id():
        return
    if targetid > self._maxid:
        # Short hops walk (cheaper than a table); a longer one goes through the table.
        for _ in range(MIN_WALK):
            self._next_block()
            if not self.is_active() or targetid <= self._maxid:
                break
        else:
            _jump(self, targetid)
        if not self.is_active():
            return
    ids = self._ids
    if ids is None:
        self._read_ids()
        ids = self._ids
    # The block's ids are sorted and targetid <= its highest one: bisect instead of stepping.
    i = bisect_left(ids, targetid, self._i)
    if i < len(ids):
        self._i = i
    else:  # (not expected: the header's highest id is the block's last) step on as upstream did
        self._i = len(ids) - 1
        self.next()


whoosh3.W3LeafMatcher.skip_to = skip_to
