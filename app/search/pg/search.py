"""Searching the PostgreSQL tables: query.py's Whoosh query, translated to one tsquery.

query.py keeps building the query (splitting, CJK phrases, inflection variants, phone forms,
capped prefixes) as a Whoosh query tree; `to_tsquery_text` maps that tree node for node, so
both backends match the same documents: a field becomes a weight (vectors.py), a phrase `<->`,
a prefix `:*`. Filters and the visibility rule (app.auth.access.ticket_filter, joined through
`messages` and `tickets`) are in the same statement.

Ranking mirrors finder.py: when the planner's estimate of the matches (tsvector statistics,
like Whoosh's document frequencies) is at most RANK_LIMIT they are all ranked (ts_rank with
Whoosh's field boosts) and counted exactly; past it, or with sort=newest, the newest come first
by walking the created_at index until the page is full; the total is the estimate (`exact`
False), or a count when the estimate is below COUNT_CAP. Counting a common
word's matches costs a tsvector check per row (5,000 of "肌": 170 ms on the loaded 2-core
machine); walking the index stops after a page.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, cast, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import TSQUERY
from whoosh.query import And, Or, Phrase, Prefix, Query, Term

from app.auth.access import ticket_filter
from app.extensions import db
from app.models import Agent, Message, Ticket
from app.search.pg import schema
from app.search.pg.vectors import (CUSTOMER_RANK_WEIGHTS, KEYWORDS, MESSAGE_RANK_WEIGHTS, WEIGHTS,
                                   quote)


#: A full newest-first page estimated below this many matches counts them (up to this many): the
#: planner's estimate of a small set may be low, and counting it is cheap.
COUNT_CAP = 1000


class Untranslatable(ValueError):
    """A Whoosh query node this module does not know (a new kind in query.py)."""


def _lexeme(fieldname: str, word: str, prefix: bool = False) -> str:
    star = "*" if prefix else ""
    if fieldname in KEYWORDS:
        return f"{quote(KEYWORDS[fieldname][0] + word)}{':' + star if star else ''}"
    return f"{quote(word)}:{star}{WEIGHTS[fieldname]}"


def to_tsquery_text(query: Query) -> str:
    """tsquery input text matching what `query` matches in the Whoosh index."""
    if isinstance(query, And):
        return " & ".join(f"( {to_tsquery_text(q)} )" for q in query.subqueries)
    if isinstance(query, Or):
        return " | ".join(f"( {to_tsquery_text(q)} )" for q in query.subqueries)
    if isinstance(query, Phrase):
        return " <-> ".join(_lexeme(query.fieldname, w) for w in query.words)
    if isinstance(query, Prefix):
        return _lexeme(query.fieldname, query.text, prefix=True)
    if isinstance(query, Term):
        return _lexeme(query.fieldname, query.text)
    raise Untranslatable(type(query).__name__)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(current_app.config["TIMEZONE"]))


def _message_select(agent: Agent, tsquery, filters):
    t = schema.messages.c
    conds = [t.terms.op("@@")(tsquery), ticket_filter(agent)]
    if filters.channel:
        conds.append(t.channel == filters.channel)
    if filters.status:
        conds.append(Ticket.status == filters.status)
    if filters.agent_id:
        conds.append(Ticket.assignee_id == filters.agent_id)
    if filters.date_from:
        conds.append(t.created_at >= _day_start(filters.date_from))
    if filters.date_to:
        conds.append(t.created_at < _day_start(filters.date_to + timedelta(days=1)))
    return (select(t.message_id).select_from(schema.messages)
            .join(Message, Message.id == t.message_id).join(Ticket, Ticket.id == Message.ticket_id)
            .where(and_(*conds)))


def message_ids(agent: Agent, query: Query, filters, page: int, per_page: int,
                rank_limit: int) -> tuple[list[int], int, bool]:
    """(message ids of the page, total, exact?) for a query.py message query."""
    tsquery = cast(literal(to_tsquery_text(query)), TSQUERY)
    base = _message_select(agent, tsquery, filters)
    t = schema.messages.c
    estimate = estimated_rows(base)
    offset = (page - 1) * per_page
    if filters.sort == "relevance" and estimate <= rank_limit:
        # Every match is read to rank it, so the exact count comes with it.
        rank = func.ts_rank(literal_column(f"'{MESSAGE_RANK_WEIGHTS}'::float4[]"), t.terms, tsquery)
        stmt = (base.add_columns(func.count().over()).order_by(rank.desc(), t.created_at.desc(), t.message_id.desc())
                .offset(offset).limit(per_page))
        rows = db.session.execute(stmt).all()
        total = rows[0][1] if rows else db.session.scalar(select(func.count()).select_from(base.subquery()))
        return [row[0] for row in rows], total, True
    # Newest first: walks the created_at index and stops when the page is full.
    stmt = base.order_by(t.created_at.desc(), t.message_id.desc()).offset(offset).limit(per_page + 1)
    ids = list(db.session.scalars(stmt))
    if len(ids) <= per_page:  # the walk reached the oldest match: every match was seen
        return ids, offset + len(ids), True
    if estimate >= COUNT_CAP:  # a common word: trust the statistics, read no more rows
        return ids[:per_page], max(estimate, offset + per_page + 1), False
    counted = db.session.scalar(select(func.count()).select_from(base.limit(COUNT_CAP + 1).subquery()))
    return ids[:per_page], max(counted, offset + per_page + 1), counted <= COUNT_CAP


def estimated_rows(stmt) -> int:
    """The planner's row estimate for `stmt` (from the tsvector statistics; no row is read)."""
    compiled = stmt.compile(dialect=db.engine.dialect)
    plan = db.session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    return int(plan[0]["Plan"]["Plan Rows"])


def customer_ids(query: Query, limit: int) -> list[int]:
    """The best `limit` customers for a query.py customer query (tombstones have no row)."""
    t = schema.customers.c
    tsquery = cast(literal(to_tsquery_text(query)), TSQUERY)
    rank = func.ts_rank(literal_column(f"'{CUSTOMER_RANK_WEIGHTS}'::float4[]"), t.terms, tsquery)
    stmt = (select(t.customer_id).where(t.terms.op("@@")(tsquery))
            .order_by(rank.desc(), t.customer_id).limit(limit))
    return list(db.session.scalars(stmt))


def all_message_ids(agent: Agent, query: Query, filters) -> set[int]:
    """Every matching message id (the benchmark compares these sets with Whoosh's)."""
    tsquery = cast(literal(to_tsquery_text(query)), TSQUERY)
    return set(db.session.scalars(_message_select(agent, tsquery, filters)))


def all_customer_ids(query: Query) -> set[int]:
    t = schema.customers.c
    tsquery = cast(literal(to_tsquery_text(query)), TSQUERY)
    return set(db.session.scalars(select(t.customer_id).where(t.terms.op("@@")(tsquery))))
