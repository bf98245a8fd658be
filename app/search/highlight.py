"""Highlighted snippets: everything escaped, only <mark> added.

Matches are found the way the index sees text (NFKC, kana folding, stems), then mapped back to
the original characters, so 'ﾃｽﾄ' highlighted for the query 'テスト' marks the half-width text
as written. The result is Markup built from escaped pieces: message text can never inject HTML.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup, escape

from app.search.analysis import TOKEN_RE, Unit, normalise_with_offsets, stem_word

ELLIPSIS = "…"


@dataclass
class Needles:
    """What to mark: CJK strings (normalised), whole words (stemmed or not), word prefixes."""

    cjk: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    stem: bool = True

    @classmethod
    def from_units(cls, units: list[Unit], stem: bool = True, prefix_last: bool = False,
                   extra_cjk: tuple[str, ...] = ()) -> "Needles":
        needles = cls(stem=stem)
        for i, unit in enumerate(units):
            if unit.kind == "cjk":
                needles.cjk.add(unit.text)
            elif prefix_last and i == len(units) - 1:
                needles.prefixes.add(unit.raw)
            else:
                needles.words.add(unit.text if stem else unit.raw)
        needles.cjk.update(extra_cjk)
        return needles


def find_spans(text: str, needles: Needles) -> list[tuple[int, int]]:
    """Merged, sorted (start, end) spans of `text` (original offsets) matching the needles."""
    norm, starts, ends = normalise_with_offsets(text or "")
    found: list[tuple[int, int]] = []
    for needle in needles.cjk:
        at = norm.find(needle)
        while at != -1 and needle:
            found.append((at, at + len(needle)))
            at = norm.find(needle, at + 1)
    if needles.words or needles.prefixes:
        for match in TOKEN_RE.finditer(norm):
            if match.lastgroup != "word":
                continue
            word = match.group().lower()
            key = stem_word(word) if needles.stem else word
            if key in needles.words or any(word.startswith(p) for p in needles.prefixes):
                found.append((match.start(), match.end()))
    if starts is not None:
        found = [(starts[a], ends[b - 1]) for a, b in found]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _render(text: str, spans: list[tuple[int, int]], begin: int, end: int) -> Markup:
    out = [Markup(ELLIPSIS) if begin > 0 else Markup("")]
    cursor = begin
    for start, stop in spans:
        if stop <= begin or start >= end:
            continue
        start, stop = max(start, begin), min(stop, end)
        out.append(escape(text[cursor:start]))
        out.append(Markup("<mark>") + escape(text[start:stop]) + Markup("</mark>"))
        cursor = stop
    out.append(escape(text[cursor:end]))
    if end < len(text):
        out.append(Markup(ELLIPSIS))
    return Markup("").join(out)


def highlight(text: str, needles: Needles) -> Markup:
    """The whole text with its matches marked (names, subjects)."""
    text = text or ""
    return _render(text, find_spans(text, needles), 0, len(text))


def snippet(text: str, needles: Needles, width: int = 160) -> Markup:
    """A window of about `width` characters around the densest group of matches."""
    text = " ".join((text or "").split())  # newlines and runs of spaces: one space
    spans = find_spans(text, needles)
    if not spans:
        return _render(text, [], 0, min(len(text), width))
    best, best_count = spans[0][0], 0
    for i, (start, _end) in enumerate(spans):
        count = sum(1 for s, _e in spans[i:] if s < start + width)
        if count > best_count:
            best, best_count = start, count
    begin = max(0, best - width // 4)
    end = min(len(text), begin + width)
    begin = max(0, min(begin, end - width))
    return _render(text, spans, begin, end)
