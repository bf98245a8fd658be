"""Reply checks: wording health-food and cosmetics shops must not use (薬機法 / 景表法).

The dictionary lives in ReplyCheckTerm (supervisors edit it); an empty table means the starter list
below. Every reply on every channel is checked before it is queued; the agent may send after
confirming, and the confirmation is recorded as an Event by app.tickets.services.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ReplyCheckTerm

#: (term, language, note) — a starting point, not legal advice; supervisors adapt it.
STARTER_TERMS: list[tuple[str, str, str]] = [
    ("治る", "ja", "疾病の治癒効果の標榜（薬機法）"),
    ("治す", "ja", "疾病の治癒効果の標榜（薬機法）"),
    ("治ります", "ja", "疾病の治癒効果の標榜（薬機法）"),
    ("効く", "ja", "効能効果の標榜（薬機法）"),
    ("効きます", "ja", "効能効果の標榜（薬機法）"),
    ("効果がある", "ja", "疾病への効果の標榜（薬機法）"),
    ("予防できる", "ja", "疾病予防の標榜（薬機法）"),
    ("若返る", "ja", "医薬品的な効能の標榜（薬機法）"),
    ("絶対", "ja", "断定表現（景表法・薬機法）"),
    ("必ず痩せる", "ja", "効果の保証（景表法）"),
    ("痩せる", "ja", "痩身効果の標榜（薬機法）"),
    ("副作用なし", "ja", "安全性の保証（薬機法）"),
    ("副作用がない", "ja", "安全性の保証（薬機法）"),
    ("100%", "ja", "根拠のない断定（景表法）"),
    ("最高", "ja", "最大級表現（景表法）"),
    ("No.1", "ja", "根拠のない No.1 表示（景表法）"),
    ("日本一", "ja", "根拠のない最大級表現（景表法）"),
    ("シミが消える", "ja", "化粧品の効能範囲外（薬機法）"),
    ("アトピーが治る", "ja", "疾病の治癒効果の標榜（薬機法）"),
    ("免疫力が上がる", "ja", "医薬品的な効能の標榜（薬機法）"),
    ("免疫力を高める", "ja", "医薬品的な効能の標榜（薬機法）"),
    ("血圧が下がる", "ja", "医薬品的な効能の標榜（薬機法）"),
    ("がんに効く", "ja", "疾病の治癒効果の標榜（薬機法）"),
    ("cure", "en", "Disease cure claim"),
    ("heals", "en", "Disease cure claim"),
    ("guaranteed", "en", "Guaranteed results claim"),
    ("anti-aging miracle", "en", "Medicinal claim"),
    ("no side effects", "en", "Safety guarantee"),
    ("miracle", "en", "Exaggerated claim"),
    ("clinically proven", "en", "Unsubstantiated evidence claim"),
    ("boosts immunity", "en", "Medicinal claim"),
    ("lose weight fast", "en", "Guaranteed results claim"),
]


@dataclass(frozen=True)
class Term:
    term: str
    note: str = ""


@dataclass(frozen=True)
class Hit:
    term: str
    note: str
    start: int
    end: int


def normalise(text: str) -> str:
    """NFKC and lower case, keeping the length mapping simple (NFKC per character)."""
    return "".join(unicodedata.normalize("NFKC", ch).lower()[:1] or ch for ch in text)


def active_terms() -> list[Term]:
    """The dictionary in force: the supervisors' table, or the starter list while it is empty."""
    rows = db.session.execute(select(ReplyCheckTerm.term, ReplyCheckTerm.note, ReplyCheckTerm.active)).all()
    if not rows:
        return [Term(t, n) for t, _lang, n in STARTER_TERMS]
    return [Term(t, n) for t, n, active in rows if active]


def _pattern(term: str) -> re.Pattern:
    needle = re.escape(normalise(term))
    # Latin words only match at a word start, so "cure" does not flag "secure".
    if re.match(r"[a-z0-9]", normalise(term)):
        needle = r"(?<![a-z0-9])" + needle
    return re.compile(needle)


def find_terms(text: str, terms: list[Term] | None = None) -> list[Hit]:
    """Every dictionary hit in `text`, by position, longest term first where they overlap."""
    terms = active_terms() if terms is None else terms
    haystack = normalise(text or "")
    hits: list[Hit] = []
    for term in sorted(terms, key=lambda t: -len(t.term)):
        for match in _pattern(term.term).finditer(haystack):
            if any(h.start < match.end() and match.start() < h.end for h in hits):
                continue
            hits.append(Hit(term.term, term.note, match.start(), match.end()))
    return sorted(hits, key=lambda h: h.start)


def segments(text: str, hits: list[Hit]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_hit) for highlighting in a template (escaped by Jinja)."""
    out, pos = [], 0
    for hit in hits:
        if hit.start > pos:
            out.append((text[pos:hit.start], False))
        out.append((text[hit.start:hit.end], True))
        pos = hit.end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def seed_starter_terms() -> int:
    """Copy the starter list into the table (so supervisors can edit it); returns rows added."""
    existing = set(db.session.scalars(select(ReplyCheckTerm.term)))
    added = 0
    for term, language, note in STARTER_TERMS:
        if term not in existing:
            db.session.add(ReplyCheckTerm(term=term, language=language, note=note))
            added += 1
    db.session.commit()
    return added


def dictionary() -> list[ReplyCheckTerm]:
    """The supervisor-edited dictionary, by language and wording."""
    return list(db.session.scalars(select(ReplyCheckTerm).order_by(ReplyCheckTerm.language,
                                                                    ReplyCheckTerm.term)))


def add_term(term: str, language: str, note: str = "") -> bool:
    """Add wording to the dictionary; False when it is already there."""
    db.session.add(ReplyCheckTerm(term=term.strip(), language=language, note=note or ""))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def change_term(term_id: int, action: str) -> bool:
    """'toggle' switches a term off/on, 'delete' removes it; False when there is no such term."""
    row = db.session.get(ReplyCheckTerm, term_id)
    if row is None:
        return False
    if action == "toggle":
        row.active = not row.active
    else:
        db.session.delete(row)
    db.session.commit()
    return True
