"""Search documents as tsvector literals: Whoosh's fields, tokens and positions, in PostgreSQL.

The documents are documents.py's (the same text a Whoosh document holds) and the tokens come
from analysis.py's tokenizer, so both backends index exactly the same terms. Each text field is
a tsvector weight (messages: subject A, body B, sender C; customers: names A, idtext B) and keeps
its token positions, with a gap between fields so a phrase (`<->`) never spans two of them.
Keyword fields (email, phone, X handle, orders) are position-less lexemes with a prefix ("e:",
"p:", "x:", "o:"): the tokenizer only yields word characters, so no text term can look like one.

PostgreSQL's limits: positions stop at 16,383 (later tokens share the last one, so a phrase in
the far tail of a very long mail may miss), a lexeme keeps at most 256 positions, and a lexeme
is at most 2 kB (longer ones, never a real query, are left out).
"""
from __future__ import annotations

from typing import Any, Iterable

from app.search.analysis import name_analyzer, text_analyzer

MAX_POS = 16383
MAX_POSITIONS = 256
MAX_LEXEME_BYTES = 2000
#: Positions between two fields: larger than any phrase a query makes.
GAP = 100

_TEXT, _NAMES = text_analyzer(), name_analyzer()
#: (field, weight, analyzer) in position order: short fields first, the long body last.
MESSAGE_FIELDS = (("subject", "A", _TEXT), ("sender", "C", _NAMES), ("body", "B", _TEXT))
CUSTOMER_FIELDS = (("names", "A", _NAMES), ("idtext", "B", _NAMES))
#: Whoosh field -> tsquery weight, for the text fields.
WEIGHTS = {"subject": "A", "body": "B", "sender": "C", "names": "A", "idtext": "B"}
#: Whoosh KEYWORD field -> (lexeme prefix, lower-cased like Whoosh's KEYWORD(lowercase=True)?).
KEYWORDS = {"email": ("e:", True), "phone": ("p:", False), "xhandle": ("x:", True),
            "orders": ("o:", True)}
#: ts_rank weights {D, C, B, A} (each at most 1): Whoosh's field boosts, subject 1.5, names 2.0.
MESSAGE_RANK_WEIGHTS = "{0.33, 0.67, 0.67, 1.0}"
CUSTOMER_RANK_WEIGHTS = "{0.5, 0.5, 0.5, 1.0}"


def quote(lexeme: str) -> str:
    """A lexeme in tsvector/tsquery input syntax."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _text_positions(doc: dict[str, Any], fields) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    start = 1
    for fieldname, weight, analyzer in fields:
        last = start
        for token in analyzer(doc.get(fieldname) or "", positions=True, start_pos=start):
            last = token.pos
            slots = found.setdefault(token.text, [])
            if len(slots) < MAX_POSITIONS:
                slots.append(f"{min(token.pos, MAX_POS)}{weight}")
        start = last + GAP
    return found


def _literal(positions: dict[str, list[str]], keywords: Iterable[str] = ()) -> str:
    parts = [f"{quote(lexeme)}:{','.join(slots)}" for lexeme, slots in positions.items()
             if len(lexeme.encode()) <= MAX_LEXEME_BYTES]
    parts.extend(quote(k) for k in dict.fromkeys(keywords) if len(k.encode()) <= MAX_LEXEME_BYTES)
    return " ".join(parts)


def message_vector(doc: dict[str, Any]) -> str:
    """tsvector input text of a message document (documents.message_document)."""
    return _literal(_text_positions(doc, MESSAGE_FIELDS))


def customer_vector(doc: dict[str, Any]) -> str:
    """tsvector input text of a customer document (documents.customer_document)."""
    keywords = []
    for fieldname, (prefix, lower) in KEYWORDS.items():
        value = doc.get(fieldname) or ""
        keywords.extend(prefix + (word.lower() if lower else word) for word in value.split())
    return _literal(_text_positions(doc, CUSTOMER_FIELDS), keywords)
