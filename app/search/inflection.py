"""Query-time loosening of conjugated Japanese verbs and adjectives, with janome.

'肌に合わない' should find '肌にあわなくて': the phrase differs in the verb's spelling (合わ / あわ)
and in its conjugation (ない / なくて). Indexing stays on bigrams (fast, exact substrings, see
analysis.py); only the *query* goes through janome, where analysing one short string costs about
a millisecond. A run containing a verb or adjective gets extra phrases: the words before it, the
verb or adjective as conjugated (in its written form and in kana), and the first character of a
meaning-bearing auxiliary right after it (ない -> な: なくて, なかった match and negation is kept).
A run where anything else follows the verb (届いていません) stays exact; a light verb (する, いる)
is not loosened (解約したい: the noun carries the meaning):

    肌に合わない  -> 肌に合わな, 肌にあわな
    痒くない      -> 痒くな, かゆくな

Those extra phrases are OR-ed with the exact phrase, which keeps a higher boost.
"""
from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache

from app.search.analysis import fold_kana

_lock = threading.Lock()
_tokenizer = None
#: Auxiliaries whose meaning matters (negation, desire, politeness); their first kana is kept.
_KEEP_AUX = {"ない", "ぬ", "たい", "ます"}
#: Light verbs carry little meaning (解約したい: the noun matters); loosening them finds too much.
_LIGHT_VERBS = {"する", "いる", "ある", "なる", "くる", "来る", "できる", "出来る"}


def _janome():
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            from janome.tokenizer import Tokenizer

            _tokenizer = Tokenizer()
        return _tokenizer


def _kana(reading: str) -> str:
    return fold_kana(reading) if reading and reading != "*" else ""


@lru_cache(maxsize=2048)
def loose_variants(run: str) -> tuple[str, ...]:
    """Looser, normalised (kana-folded) spellings of the CJK run `run` (NFKC, not folded)."""
    run = unicodedata.normalize("NFKC", run)
    tokens = list(_janome().tokenize(run))
    head = []
    for index, token in enumerate(tokens):
        pos = token.part_of_speech.split(",")[0]
        if pos not in ("動詞", "形容詞") or token.base_form in _LIGHT_VERBS:
            head.append(token.surface)
            continue
        stem, stem_kana = _stems(token, pos)
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if following is None:  # ends with the word itself: only its kana spelling
            tail = ""
        elif following.part_of_speech.startswith("助動詞") and following.base_form in _KEEP_AUX:
            tail = following.surface[:1]
        else:  # 届いていません: loosening would drop the negation at the end
            return ()
        prefix = "".join(head)
        variants = {fold_kana(prefix + stem + tail)}
        if stem_kana:
            variants.add(fold_kana(prefix + stem_kana + tail))
        exact = fold_kana(run)
        return tuple(sorted(v for v in variants if len(v) >= 2 and v != exact))
    return ()


def _stems(token, pos: str) -> tuple[str, str]:
    """(written form, kana form) of the conjugated word; kana only when it differs."""
    surface, reading = token.surface, _kana(token.reading)
    return surface, (reading if reading != fold_kana(surface) else "")
