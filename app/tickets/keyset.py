"""Keyset pages of ticket lists: a page costs the same at 1,000 or 40,000 open tickets.

A list is ordered by a sort key (a timestamp column, then the ticket id as the tie-breaker) and
read as a few *branches*: one equality prefix per index range (one per status, say, with the
tickets' (status, last_activity_at, id) index), each walked from the cursor for at most `limit`
rows in the list's order, merged here. No branch sorts or counts what it does not return, so the
size of the backlog does not enter the cost of a page. A cursor is the sort key of a row (not its
id): a row that changed or disappeared since the page was drawn still marks a place in the order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional, Sequence

from sqlalchemy import and_, or_, true

from app.extensions import db
from app.models import Ticket

_TOKEN = re.compile(r"^(n|[0-9]{1,17})\.([0-9]{1,10})$")
#: Ticket ids are the database's INTEGER (PostgreSQL refuses a larger number in a comparison).
_MAX_ID = 2 ** 31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Cursor:
    """A place in a list: the sort value (None: a NULL, sorted last) and the ticket id."""

    at: Optional[datetime]
    id: int

    def token(self) -> str:
        """'<microseconds since 1970>.<id>' (or 'n.<id>' for a NULL): short and URL-safe."""
        if self.at is None:
            return f"n.{self.id}"
        delta = self.at - _EPOCH
        return f"{(delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds}.{self.id}"

    @classmethod
    def parse(cls, token: Optional[str]) -> Optional["Cursor"]:
        """The cursor of `token`, or None when it is missing or malformed (the caller shows the
        first page: a mangled link is not worth an error page)."""
        match = _TOKEN.match(token or "")
        if not match:
            return None
        micros = None if match.group(1) == "n" else int(match.group(1))
        try:
            at = None if micros is None else datetime.fromtimestamp(micros // 1_000_000, timezone.utc) \
                .replace(microsecond=micros % 1_000_000)
        except (OverflowError, OSError, ValueError):
            return None
        ticket_id = int(match.group(2))
        return cls(at, ticket_id) if ticket_id <= _MAX_ID else None


@dataclass(frozen=True)
class SortKey:
    """A list's order: `column` (then Ticket.id) ascending or descending, NULLs last."""

    column: object
    descending: bool
    nullable: bool = False

    def of(self, ticket: Ticket) -> Cursor:
        return Cursor(getattr(ticket, self.column.key), ticket.id)


#: The inbox: newest activity first.
ACTIVITY = SortKey(Ticket.last_activity_at, descending=True)
#: Cancellation requests: oldest request first, those without a request time at the end.
REQUESTED = SortKey(Ticket.intent_at, descending=False, nullable=True)


def _sort_value(key: SortKey, at: Optional[datetime], ticket_id: int):
    """A Python sort value giving the list's order under sorted(reverse=False)."""
    if key.descending:  # no NULLs here (last_activity_at is NOT NULL)
        return (-at.timestamp(), -ticket_id) if at is not None else (float("inf"), -ticket_id)
    return (at is None, at.timestamp() if at is not None else 0.0, ticket_id)


def _walks(key: SortKey, cursor: Optional[Cursor], backwards: bool):
    """(condition, ascending) for each index walk of one branch: the rows after `cursor` (before,
    if `backwards`) in the list's order, each walk one index range read in index order."""
    col, tid = key.column, Ticket.id
    ascending = key.descending == backwards  # the walk's direction in the index
    bigger = ascending  # walking towards bigger values?
    if cursor is None:
        ranges = [(col.is_not(None) if key.nullable else true())]
        if key.nullable:
            ranges.append(col.is_(None))
        walks = [(cond, ascending) for cond in ranges]
        # NULLs come last in the list's order: first when walking it backwards.
        return walks[::-1] if (key.nullable and backwards) else walks
    if cursor.at is None:  # inside the NULL tail (ascending keys only)
        after_nulls = tid > cursor.id if not backwards else tid < cursor.id
        walks = [(and_(col.is_(None), after_nulls), ascending)]
        if backwards:
            walks.append((col.is_not(None), ascending))
        return walks
    if bigger:
        cond = and_(col >= cursor.at, or_(col > cursor.at, tid > cursor.id))
    else:
        cond = and_(col <= cursor.at, or_(col < cursor.at, tid < cursor.id))
    walks = [(cond, ascending)]
    if key.nullable and not backwards:
        walks.append((col.is_(None), ascending))
    return walks


def keyset_rows(base, branches: Sequence, key: SortKey, cursor: Optional[Cursor], limit: int,
                backwards: bool = False) -> list[Cursor]:
    """Up to `limit` rows of `base` (a select of Ticket.id and the key's column under the view's
    conditions) after `cursor` in the key's order, or the `limit` rows before it if `backwards`;
    always returned in the list's order. `branches` are the equality conditions whose index
    ranges together make the list (e.g. one per status)."""
    found: list[Cursor] = []
    for branch in branches:
        for cond, ascending in _walks(key, cursor, backwards):
            order = (key.column.asc(), Ticket.id.asc()) if ascending else (key.column.desc(), Ticket.id.desc())
            query = base.where(branch, cond).order_by(*order).limit(limit)
            found.extend(Cursor(at, ticket_id) for ticket_id, at in db.session.execute(query))
    found.sort(key=lambda c: _sort_value(key, c.at, c.id))
    return found[-limit:] if backwards else found[:limit]
