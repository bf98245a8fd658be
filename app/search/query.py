"""Searching customers and messages, with authorisation.

A query is split on spaces (quoted text stays together); every piece must match. A CJK run is a
phrase of its bigrams (one kanji: its unigram), consecutive words are a phrase, conjugated verbs
get looser alternatives (inflection.py). Messages of tickets the agent may not see are excluded
inside the index search (a bitmap of team/assignee terms, the same rule as app.auth.access, see
docsets.py) and every hit is checked again against the database, the source of truth, before
anything is shown: an index that lags behind a reassignment cannot leak a message.
"""
from __future__ import annotations

import re
import unicodedata
from itertools import islice
from dataclasses import dataclass, field
from datetime import date
from typing import Optional

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from whoosh.matching import ListMatcher, NullMatcher
from whoosh.query import And, Or, Prefix, Query, Term

from app.auth.access import ticket_filter
from app.extensions import db
from app.ingest.identity import InvalidIdentity, normalise_phone
from app.models import Agent, Customer, Message, Ticket
from app.search import backend, docsets
from app.search import index as idx
from app.search.analysis import Unit, cjk_terms, query_units
from app.search.documents import phone_terms
from app.search.finder import FullTopCollector, find_messages
from app.search.highlight import Needles, highlight, snippet
from app.search.phrase import FastPhrase

MESSAGE_FIELDS = ("subject", "body", "sender")
CUSTOMER_FIELDS = ("names", "idtext")
_QUOTED = re.compile(r'"([^"]+)"|(\S+)')
_PHONE_LIKE = re.compile(r"^\+?[\d\s\-().]+$")
SORTS = ("relevance", "newest")
PREFIX_TERMS = 200
#: Above this many estimated matches, ranking them all costs too much: newest first instead.
RANK_LIMIT = 5000


class CappedPrefix(Prefix):
    """A prefix that expands to at most PREFIX_TERMS terms: "cu" must not OR 10,000 emails.

    Matched as one list of the terms' documents with a constant score: an Or of 200 term matchers
    is a deep tree that every step of the search walks (100 ms for "@taro").
    """

    def _btexts(self, ixreader):
        return islice(ixreader.expand_prefix(self.fieldname, self.text), PREFIX_TERMS)

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        words = [w for w in self._btexts(reader) if w]
        if len(words) <= 1:
            return super().matcher(searcher, context)
        docs: set[int] = set()
        for word in words:
            docs.update(reader.postings(self.fieldname, word).all_ids())
        if not docs:
            return NullMatcher()
        return ListMatcher(sorted(docs), all_weights=self.boost)


def split_query(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text or "").replace("“", '"').replace("”", '"')
    return [quoted or bare for quoted, bare in _QUOTED.findall(text) if (quoted or bare).strip()]


def _segments(units: list[Unit]) -> list[list[Unit]]:
    """Each CJK run alone; consecutive words together (they form a phrase)."""
    segments: list[list[Unit]] = []
    for unit in units:
        if unit.kind == "word" and segments and segments[-1][0].kind == "word":
            segments[-1].append(unit)
        else:
            segments.append([unit])
    return segments


def _loose(run: Unit) -> tuple[str, ...]:
    if len(run.text) < 2 or not current_app.config.get("SEARCH_INFLECTION", True):
        return ()
    from app.search.inflection import loose_variants

    return loose_variants(run.raw)


def _cjk_query(fieldname: str, text: str, boost: float = 1.0) -> Query:
    terms = cjk_terms(text)
    if len(terms) == 1:
        return Term(fieldname, terms[0], boost=boost)
    return FastPhrase(fieldname, terms, boost=boost)


def _segment_query(fieldname: str, segment: list[Unit], stemmed: bool, prefix_last: bool,
                   loose: bool) -> Query:
    if segment[0].kind == "cjk":
        run = segment[0]
        variants = _loose(run) if loose else ()
        if not variants:
            return _cjk_query(fieldname, run.text)
        return Or([_cjk_query(fieldname, run.text, boost=2.0)]
                  + [_cjk_query(fieldname, v) for v in variants])
    words = [u.text if stemmed else u.raw for u in segment]
    if len(words) == 1:
        # One typed letter would expand to every term starting with it: wait for two.
        if prefix_last and len(segment[0].raw) >= 2:
            return CappedPrefix(fieldname, segment[0].raw)
        return Term(fieldname, words[0])
    return FastPhrase(fieldname, words)


def text_clause(word: str, fields: tuple[str, ...], stemmed: dict[str, bool], prefix_last: bool = False,
                loose: bool = False) -> Optional[Query]:
    """One query word over several fields (any field may match)."""
    segments = _segments(query_units(word))
    if not segments:
        return None
    per_field = []
    for fieldname in fields:
        parts = [_segment_query(fieldname, seg, stemmed[fieldname],
                                prefix_last and i == len(segments) - 1, loose)
                 for i, seg in enumerate(segments)]
        per_field.append(parts[0] if len(parts) == 1 else And(parts))
    return Or(per_field)


def message_query(text: str) -> Optional[Query]:
    stemmed = {"subject": True, "body": True, "sender": False}
    clauses = [c for c in (text_clause(w, MESSAGE_FIELDS, stemmed, loose=True)
                           for w in split_query(text)) if c is not None]
    return And(clauses) if clauses else None


def _phone_digits(text: str) -> set[str]:
    """Index-term forms of a phone-like query: its digits, plus E.164/national when it parses."""
    if not _PHONE_LIKE.match(text):
        return set()
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 4:
        return set()
    found = {digits}
    try:
        found.update(t for t in phone_terms(normalise_phone(text))[:2] if t.isdigit())
    except InvalidIdentity:
        pass
    return found


def customer_query(text: str, prefix: bool = True) -> Optional[Query]:
    """Names (kanji, kana, any width), emails, phone numbers in any format, X handles, orders."""
    stemmed = {f: False for f in CUSTOMER_FIELDS}
    norm = unicodedata.normalize("NFKC", text or "").strip()
    phone = _phone_digits(norm)
    if phone and " " in norm:  # "+81 90-1234-5678", "090 1234 5678": one number, not words
        return Or([Term("phone", d) for d in phone] + [CappedPrefix("phone", d) for d in phone])
    clauses = []
    words = split_query(norm)
    for i, word in enumerate(words):
        last = prefix and i == len(words) - 1
        lower = word.lower()
        alts = [q for q in [text_clause(word, CUSTOMER_FIELDS, stemmed, prefix_last=last)] if q]
        for digits in _phone_digits(word):
            alts += [Term("phone", digits)] + ([CappedPrefix("phone", digits)] if last else [])
        if "@" in lower[1:]:
            alts.append(Term("email", lower))
        handle = lower.lstrip("@")
        if handle:
            typing = len(handle) >= 2
            alts.append(CappedPrefix("xhandle", handle) if typing and (last or lower.startswith("@"))
                        else Term("xhandle", handle))
            alts.append(CappedPrefix("orders", lower) if typing and last else Term("orders", lower))
        if alts:
            clauses.append(Or(alts))
    return And(clauses) if clauses else None


def visibility_group(agent: Agent) -> Optional[docsets.Group]:
    """app.auth.access.ticket_filter, as index terms (None: sees everything)."""
    if agent.is_supervisor:
        return None
    allowed = [("team", "none"), ("assignee", str(agent.id))]
    if agent.team_id is not None:
        allowed.append(("team", str(agent.team_id)))
    return docsets.terms_group(*allowed)


@dataclass
class MessageFilters:
    channel: Optional[str] = None
    status: Optional[str] = None
    agent_id: Optional[int] = None
    date_from: Optional[date] = None  #: inclusive, in the shop's time zone
    date_to: Optional[date] = None  #: inclusive
    sort: str = "relevance"

    def groups(self) -> list[docsets.Group]:
        """The filters as bitmap groups (docsets.py), ANDed together."""
        out: list[docsets.Group] = []
        if self.channel:
            out.append(docsets.terms_group(("channel", self.channel)))
        if self.status:
            out.append(docsets.terms_group(("status", self.status)))
        if self.agent_id:
            out.append(docsets.terms_group(("assignee", str(self.agent_id))))
        if self.date_from or self.date_to:
            out.append(docsets.day_group(self.date_from.toordinal() if self.date_from else None,
                                         self.date_to.toordinal() if self.date_to else None))
        return out


@dataclass
class MessageHit:
    message: Message
    ticket: Ticket
    subject: Markup
    snippet: Markup


@dataclass
class MessagePage:
    hits: list[MessageHit] = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = 20
    unavailable: bool = False
    exact: bool = True  #: False: `total` is the index's upper estimate

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _needles(text: str, stem: bool, prefix_last: bool = False) -> Needles:
    units = [u for w in split_query(text) for u in query_units(w, stem=stem)]
    extra = tuple(v for u in units if u.kind == "cjk" for v in _loose(u))
    return Needles.from_units(units, stem=stem, prefix_last=prefix_last, extra_cjk=extra)


def _whoosh_message_ids(agent: Agent, query: Query, filters: MessageFilters, page: int,
                        per_page: int) -> tuple[list[int], int, bool]:
    # No kind:message term: subject, body and sender exist only in message documents.
    groups = filters.groups()
    visible = visibility_group(agent)
    if visible is not None:
        groups.append(visible)
    with idx.searcher() as searcher:
        return find_messages(searcher, query, docsets.allowed(searcher, groups), filters.sort, page,
                             per_page, RANK_LIMIT)


def search_messages(agent: Agent, text: str, filters: Optional[MessageFilters] = None,
                    page: int = 1, per_page: int = 20) -> MessagePage:
    """One page of the messages matching `text` that `agent` may see."""
    filters = filters or MessageFilters()
    result = MessagePage(page=page, per_page=per_page)
    query = message_query(text)
    if query is None:
        return result
    if backend.is_postgres():  # the same query tree, as a tsquery (app/search/pg/search.py)
        from app.search.pg.search import message_ids

        ids, result.total, result.exact = message_ids(agent, query, filters, page, per_page, RANK_LIMIT)
    else:
        try:
            ids, result.total, result.exact = _whoosh_message_ids(agent, query, filters, page, per_page)
        except idx.IndexUnavailable:
            result.unavailable = True
            return result
    stmt = (select(Message, Ticket).join(Ticket, Ticket.id == Message.ticket_id)
            .where(Message.id.in_(ids), ticket_filter(agent)))
    rows = {m.id: (m, t) for m, t in db.session.execute(stmt)} if ids else {}
    needles = _needles(text, stem=True)
    for message_id in ids:
        if message_id in rows:  # not re-checked = not shown (deleted, or no longer visible)
            message, ticket = rows[message_id]
            result.hits.append(MessageHit(message, ticket, highlight(message.subject or ticket.subject,
                                                                      needles),
                                          snippet(message.body_text, needles)))
    return result


@dataclass
class CustomerHit:
    customer: Customer
    name: Markup
    detail: Markup


def search_customers(agent: Agent, text: str, limit: int = 10, prefix: bool = True) -> tuple[list[CustomerHit], bool]:
    """(customers matching `text`, index unavailable?); the directory is shared, tombstones hidden."""
    query = customer_query(text, prefix=prefix)
    if query is None:
        return [], False
    if backend.is_postgres():
        from app.search.pg.search import customer_ids

        ids = customer_ids(query, limit)
    else:
        try:
            with idx.searcher() as searcher:
                # No kind:customer term: the customer fields exist only in customer documents.
                collector = FullTopCollector(limit=limit)
                searcher.search_with_collector(query, collector)
                ids = [hit["obj_id"] for hit in collector.results()]
        except idx.IndexUnavailable:
            return [], True
    stmt = (select(Customer).where(Customer.id.in_(ids), Customer.merged_into_id.is_(None))
            .options(selectinload(Customer.identities)))
    customers = {c.id: c for c in db.session.scalars(stmt)} if ids else {}
    needles = _needles(text, stem=False, prefix_last=prefix)
    hits = []
    for customer_id in ids:
        customer = customers.get(customer_id)
        if customer is not None:
            kana = f" ({customer.name_kana})" if customer.name_kana else ""
            details = " · ".join(i.display or i.value for i in customer.identities[:3])
            hits.append(CustomerHit(customer, highlight(customer.display_name + kana, needles),
                                    highlight(details, needles)))
    return hits, False
