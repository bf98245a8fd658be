"""A faster exact phrase for bigram runs: intersect the terms, then check positions with sets.

Whoosh's Phrase goes through SpanNear2, which builds span objects for every candidate document
(about 0.5 ms each on our corpus); a multi-character Japanese query is always a phrase, so that
cost decided query latency. `FastPhrase` keeps Phrase's semantics for slop 1 (the words at
consecutive positions) and its estimates, but matches with an ordinary intersection of term
matchers (which skips through posting lists) and a set intersection of the terms' positions
per candidate. Scores are the intersection's (BM25 of the terms), so block-quality skipping of
the top-k collector stays valid: a phrase never scores more than its terms.
"""
from __future__ import annotations

from whoosh import matching
from whoosh.matching.wrappers import WrappingMatcher
from whoosh.query import And, Phrase, Term

from app.search.docsets import filtered_matcher


class FastPhrase(Phrase):
    """Phrase(fieldname, words) with slop 1, matched by term intersection + position sets.

    `allowed` (set by docsets.restrict) joins the term intersection, so positions are only
    decoded for documents that pass the search's filters.
    """

    allowed = None

    def matcher(self, searcher, context=None):
        fieldname = self.fieldname
        if fieldname not in searcher.schema:
            return matching.NullMatcher()
        field = searcher.schema[fieldname]
        reader = searcher.reader()
        words = []
        for word in self.words:
            try:
                word = field.to_bytes(word)
            except ValueError:
                return matching.NullMatcher()
            if (fieldname, word) not in reader:
                return matching.NullMatcher()
            words.append(word)
        offsets: dict[bytes, list[int]] = {}
        for i, word in enumerate(words):
            offsets.setdefault(word, []).append(i)
        child = And([Term(fieldname, w) for w in offsets]).matcher(searcher, context)
        child = filtered_matcher(child, self.allowed, searcher)
        if not child.is_active():
            return matching.NullMatcher()
        return PositionsMatcher(child, offsets, boost=self.boost)


class PositionsMatcher(WrappingMatcher):
    """Only the child's documents where every word sits at start + its offset."""

    def __init__(self, child, offsets: dict[bytes, list[int]], boost: float = 1.0):
        super().__init__(child, boost)
        self._offsets = offsets
        self._leaves = {_text(leaf): leaf for leaf in child.term_matchers()}
        self._find()

    def _replacement(self, newchild):
        return PositionsMatcher(newchild, self._offsets, boost=self.boost)

    def replace(self, minquality=0):
        """Self or nothing: the term intersection is never swapped for a simpler matcher.

        whoosh's IntersectionMatcher.replace returns one side alone when the other one's
        replacement is inactive, which drops terms whose positions this matcher must check
        (KeyError, e.g. a customer search for ダイスケ on the 1M index).
        """
        if not self.is_active() or (minquality and self.max_quality() < minquality):
            return matching.NullMatcher()
        return self

    def copy(self):
        return PositionsMatcher(self.child.copy(), self._offsets, boost=self.boost)

    def _matches(self) -> bool:
        starts = None
        for word, offs in self._offsets.items():
            positions = self._leaves[word].value_as("positions")
            for off in offs:
                candidates = {p - off for p in positions}
                starts = candidates if starts is None else starts & candidates
                if not starts:
                    return False
        return True

    # next() and skip_to() return whether the child entered a new posting block, as whoosh
    # matchers do: the top-k collector only checks block quality (and skips blocks that cannot
    # beat its lowest kept score) when told so. Returning None here disabled that skipping for
    # every phrase query, so a name search scored all of its 8,000 matches to keep 10.

    def _find(self) -> bool:
        child, crossed = self.child, False
        while child.is_active() and not self._matches():
            crossed = child.next() or crossed
        return crossed

    def next(self):
        crossed = self.child.next()
        return self._find() or bool(crossed)

    def skip_to(self, id):
        crossed = self.child.skip_to(id)
        return self._find() or bool(crossed)

    def skip_to_quality(self, minquality):
        """Skip the stretches where the terms' current blocks together cannot beat `minquality`.

        Whoosh's IntersectionMatcher only skips when the bound is strictly below the minimum,
        so a page of names that all tie (every ハナコ scores the same) skipped nothing. The top-k
        collector never admits a score equal to its lowest kept one, so "<=" is just as exact:
        every document up to the first end of a current block lies in each term's current block,
        and its score (the same sums as the bound, of values each at most their block's) cannot
        exceed the bound.
        """
        ends = [getattr(leaf, "block_max_id", None) for leaf in self._leaves.values()]
        if None in ends:  # not whoosh3 postings: the child's own (stricter) skipping
            skipped = self.child.skip_to_quality(minquality / self.boost)
            self._find()
            return skipped
        child, leaves, skipped = self.child, list(self._leaves.values()), 0
        while child.is_active() and self.block_quality() <= minquality:
            child.skip_to(min(leaf.block_max_id() for leaf in leaves) + 1)
            skipped += 1
        self._find()
        return skipped

    def all_ids(self):
        while self.is_active():
            yield self.id()
            self.next()

    def spans(self):
        raise NotImplementedError("FastPhrase matches do not produce spans")


def _text(leaf) -> bytes:
    text = leaf.term()[1]
    return text if isinstance(text, bytes) else text.encode("utf-8")
