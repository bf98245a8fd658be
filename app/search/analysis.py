"""Text analysis shared by indexing, querying and highlighting (Japanese + English).

Whoosh pickles the schema, analyzers included, into the index: the classes here must stay
importable as `app.search.analysis.<Name>`; renaming or moving one makes existing indexes
unreadable (the worker then rebuilds them, see indexer.py).

Pipeline, the same at index and at query time:
1. NFKC: full-width Latin and digits become ASCII, half-width katakana full-width (ﾃｽﾄ -> テスト).
2. Katakana -> hiragana folding (テスト -> てすと), one character for one, so offsets survive.
3. Runs of CJK characters become overlapping bigrams, plus a unigram for every ideograph (and
   for a run of one character). A multi-character query becomes a *phrase* of its bigrams over
   positions, so 届いて only matches the three characters in a row; a single-kanji query (肌)
   uses the unigram. Kana unigrams are not indexed: a lone kana is not a useful query and would
   double the postings.
4. Other runs of letters and digits are lower-cased; message text is also Porter2-stemmed
   (`stem=True`), names and identifiers are not (so as-you-type prefixes keep matching).

Why bigrams and not janome (morphological analysis)? Measured with `python bench/search_bench.py
--compare-analyzers --docs 3000` (generated Japanese support mails, 62 queries whose truth is
"contains this text", CPU time on the 2-core dev machine):

    analyzer          docs/CPU s   mean recall   word parts   single kanji   width/kana
    bigram+unigram        1,332        100%          100%          100%          100%
    janome                  270         74%           46%           50%           50%

(precision 100% for bigrams in every group; janome 88-100%). Bigrams index 5x faster and find
every substring: parts of compounds (定期 in 定期便), single kanji (肌), names janome does not
know, and hiragana spellings of katakana words, which janome splits differently in the query
and in the text. Janome's one advantage, matching other conjugations, is won back by running it
on the *query* only (inflection.py), where it costs about a millisecond per search.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterator, NamedTuple

from whoosh.analysis import Token, Tokenizer
from whoosh.lang.porter2 import stem as porter2_stem

_HIRA = "\u3041-\u3096\u309d-\u309f"
_KATA = "\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff"
_HAN = "\u3005-\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HANGUL = "\uac00-\ud7af"
CJK_CLASS = f"[{_HIRA}{_KATA}{_HAN}{_HANGUL}]"
#: CJK runs first; other tokens are word characters that are not CJK (so "test肌" splits).
TOKEN_RE = re.compile(rf"(?P<cjk>{CJK_CLASS}+)|(?P<word>[^\W{_HIRA}{_KATA}{_HAN}{_HANGUL}]+)")
_HAN_RE = re.compile(f"[{_HAN}]")
_KANA_FOLD = {cp: cp - 0x60 for cp in range(0x30A1, 0x30F7)}
_KANA_FOLD.update({0x30FD: 0x309D, 0x30FE: 0x309E})
#: Characters that combine with the one before them (NFKC must see them together).
_COMBINING_EXTRA = {"\uff9e", "\uff9f", "\u3099", "\u309a"}


def fold_kana(text: str) -> str:
    """Katakana to hiragana, character for character (ヴ -> ゔ; ヷ..ヺ have no pair and stay)."""
    return text.translate(_KANA_FOLD)


def normalise(text: str) -> str:
    """NFKC + kana folding (no lower-casing: tokens are lower-cased one by one)."""
    return fold_kana(unicodedata.normalize("NFKC", text or ""))


def normalise_with_offsets(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """(normalised text, starts, ends): for each normalised character, the original span.

    NFKC changes lengths (ｶﾞ -> ガ, ㈱ -> (株)); offsets are kept by normalising one base character
    with its combining marks at a time. Already-normal text (the common case) takes the fast path
    and returns None for both maps, meaning "the identity".
    """
    text = text or ""
    if unicodedata.is_normalized("NFKC", text):
        return fold_kana(text), None, None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and (unicodedata.combining(text[j]) or text[j] in _COMBINING_EXTRA):
            j += 1
        piece = unicodedata.normalize("NFKC", text[i:j])
        out.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        i = j
    return fold_kana("".join(out)), starts, ends


@lru_cache(maxsize=100_000)
def stem_word(word: str) -> str:
    """Snowball (Porter2) stem of an ASCII word; digits and other scripts are left alone.

    Whoosh's older `porter.stem` turns "running" into "runn"; Porter2 gives "run".
    """
    if not word.isascii() or not word.isalpha():
        return word
    return porter2_stem(word)


#: is_han's answers by character (a few thousand distinct ones in practice): a dict lookup is
#: ~50x cheaper than the regular expression, and the tokenizer asks for every CJK character.
_HAN_CACHE: dict[str, bool] = {}


def is_han(char: str) -> bool:
    try:
        return _HAN_CACHE[char]
    except KeyError:
        _HAN_CACHE[char] = answer = bool(_HAN_RE.match(char))
        return answer


class Unit(NamedTuple):
    """A piece of a query: a normalised CJK run, or one (stemmed) word."""

    kind: str  #: "cjk" | "word"
    text: str
    raw: str  #: see query_units


def query_units(text: str, stem: bool = True) -> list[Unit]:
    """The normalised pieces of `text` in order, as the tokenizer sees them.

    A CJK unit's `raw` is its NFKC form before kana folding (janome needs real katakana); a word's
    `raw` is the lower-cased word before stemming.
    """
    nfkc = unicodedata.normalize("NFKC", text or "")
    units = []
    for match in TOKEN_RE.finditer(fold_kana(nfkc)):
        piece = match.group()
        if match.lastgroup == "cjk":
            units.append(Unit("cjk", piece, nfkc[match.start():match.end()]))
        else:
            lower = piece.lower()
            units.append(Unit("word", stem_word(lower) if stem else lower, lower))
    return units


def cjk_terms(run: str) -> list[str]:
    """The indexed terms a CJK run is searched by: its unigram when alone, else its bigrams."""
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


class JaEnTokenizer(Tokenizer):
    """Bigrams + ideograph unigrams for CJK runs, (stemmed) lower-case words for the rest.

    Tokens of a CJK run sit at one position per character (the bigram starting at a character
    shares the position of that character's unigram), so a query's bigrams are a phrase.
    """

    def __init__(self, stem: bool = True):
        self.stem = stem

    def __eq__(self, other) -> bool:
        return self.__class__ is other.__class__ and self.stem == other.stem

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "", **kwargs
                 ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if chars:
            norm, starts, ends = normalise_with_offsets(value)
        else:
            norm, starts, ends = normalise(value), None, None
        if not tokenize:
            token.text = token.original = norm
            token.pos, token.startchar, token.endchar = start_pos, start_char, start_char + len(value)
            yield token
            return
        do_stem, han_cache = self.stem, _HAN_CACHE
        pos = start_pos
        for match in TOKEN_RE.finditer(norm):
            piece, begin = match.group(), match.start()
            if match.lastgroup == "word":
                lower = piece.lower()
                token.text = stem_word(lower) if do_stem else lower
                if keeporiginal:
                    token.original = piece
                token.boost, token.stopped = 1.0, False
                if positions:
                    token.pos = pos
                if chars:
                    _set_chars(token, begin, begin + len(piece), starts, ends, start_char)
                yield token
                pos += 1
                continue
            size = len(piece)
            for i in range(size):
                char = piece[i]
                if size == 1 or (han_cache[char] if char in han_cache else is_han(char)):
                    token.text, token.boost, token.stopped = char, 1.0, False
                    if keeporiginal:
                        token.original = char
                    if positions:
                        token.pos = pos + i
                    if chars:
                        _set_chars(token, begin + i, begin + i + 1, starts, ends, start_char)
                    yield token
                if i + 1 < size:
                    token.text, token.boost, token.stopped = piece[i:i + 2], 1.0, False
                    if keeporiginal:
                        token.original = token.text
                    if positions:
                        token.pos = pos + i
                    if chars:
                        _set_chars(token, begin + i, begin + i + 2, starts, ends, start_char)
                    yield token
            pos += size


def _set_chars(token: Token, begin: int, end: int, starts, ends, start_char: int) -> None:
    if starts is None:
        token.startchar, token.endchar = start_char + begin, start_char + end
    else:
        token.startchar, token.endchar = start_char + starts[begin], start_char + ends[end - 1]


def text_analyzer() -> JaEnTokenizer:
    """For message subjects and bodies: English words are stemmed."""
    return JaEnTokenizer(stem=True)


def name_analyzer() -> JaEnTokenizer:
    """For names and identifiers: no stemming, so typed prefixes match."""
    return JaEnTokenizer(stem=False)
