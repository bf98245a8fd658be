"""Read side of tickets: the inbox listing, authorised and N+1-free.

Everything here takes the agent and goes through app.auth.access.ticket_filter (or _visible, its
index-blind twin), so a ticket an agent may not see never appears in a list or a count.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import joinedload

from app.auth.access import ticket_filter
from app.channels import registry
from app.extensions import db
from app.models import OPEN_STATUSES, STATUSES, Agent, Customer, Event, Message, OutboxItem, Ticket
from app.outbox.service import ATTENTION
from app.tickets.keyset import ACTIVITY, REQUESTED, Cursor, keyset_rows

STATUS_FILTERS = ("", "all") + STATUSES


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows: '' status means the open ones (new, open, pending)."""

    status: str = ""
    channel: str = ""
    mine: bool = False
    #: The page number shown (and, without a cursor, the page read by position).
    page: int = 1
    #: Only tickets with a reply that did not (surely) reach the customer.
    failed: bool = False
    #: Only cancellation requests waiting for us, oldest request first.
    flagged: bool = False
    #: Keyset cursors: the page after (or before) this row of the list.
    after: Optional[Cursor] = None
    before: Optional[Cursor] = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "InboxFilters":
        """Parse query arguments; anything unknown falls back to the default, never errors (a
        malformed cursor gives the first page)."""
        status = args.get("status", "")
        channel = args.get("channel", "")
        try:
            page = min(max(1, int(args.get("page", 1))), MAX_PAGE)
        except (TypeError, ValueError):
            page = 1
        after, before = Cursor.parse(args.get("after")), Cursor.parse(args.get("before"))
        if after is not None:  # a page after a row is at least the second
            before, page = None, max(page, 2)
        elif page < 2:  # and nothing comes before the first
            before = None
        return cls(status=status if status in STATUS_FILTERS else "",
                   channel=channel if registry.is_known(channel) else "",
                   mine=args.get("mine") in ("1", "true", "on"), page=page,
                   failed=args.get("delivery") == "failed", flagged=args.get("flagged") == "1",
                   after=after, before=before)

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query arguments for a link to these filters with `changes`, defaults left out. The
        cursor stays only for a link to this very page (no changes) or when given."""
        values: dict[str, Any] = {"status": self.status, "channel": self.channel, "mine": self.mine,
                                  "page": self.page, "failed": self.failed, "flagged": self.flagged,
                                  "after": None, "before": None}
        if not changes:
            values.update(after=self.after, before=self.before)
        values.update(changes)
        out = {k: values[k] for k in ("status", "channel") if values[k]}
        if values["mine"]:
            out["mine"] = "1"
        if values["failed"]:
            out["delivery"] = "failed"
        if values["flagged"]:
            out["flagged"] = "1"
        if int(values["page"] or 1) > 1:
            out["page"] = int(values["page"])
        for name in ("after", "before"):
            if values[name] is not None:
                out[name] = values[name].token()
        return out


#: Deeper page numbers are clamped (a page is read by position only without a cursor).
MAX_PAGE = 100_000
#: A numbered link reads its page by position, walking the rows before it: not past this many
#: (100 pages); Previous / Next reach any depth by cursor at the cost of the first page.
POSITION_LIMIT = 5000


def _visible(agent: Agent):
    """app.auth.access.ticket_filter(agent) written so that no index matches it: PostgreSQL
    would otherwise gather every visible ticket of the view with a BitmapOr over the indexes and
    sort them, instead of walking the view's index in order and stopping at the page's end.
    (Team ids start at 1: 0 stands for "no team" / "nobody".)"""
    if agent.is_supervisor:
        return ticket_filter(agent)
    teams = [0] if agent.team_id is None else [0, agent.team_id]
    return or_(func.coalesce(Ticket.team_id, 0).in_(teams), func.coalesce(Ticket.assignee_id, 0) == agent.id)


def _scope(agent: Agent, filters: InboxFilters, with_status: bool = True):
    query = select(Ticket).where(_visible(agent))
    if with_status and filters.status == "":
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    elif with_status and filters.status != "all":
        query = query.where(Ticket.status == filters.status)
    if filters.channel:
        query = query.where(Ticket.channel == filters.channel)
    if filters.mine:
        query = query.where(Ticket.assignee_id == agent.id)
    if filters.failed:
        query = query.where(Ticket.id.in_(_undelivered_ticket_ids()))
    if filters.flagged:
        query = _waiting_cancellations(query)
    return query


def _waiting_cancellations(query):
    """Cancellation requests waiting for us: not already dealt with (a case saved, awaiting its
    save check, cancelled or dismissed) nor waiting for the customer (pending)."""
    from app.models import RetentionCase

    return (query.where(Ticket.intent == "cancellation", Ticket.status.in_(FLAGGED_STATUSES))
            .where(~select(RetentionCase.id).where(RetentionCase.ticket_id == Ticket.id,
                                                   RetentionCase.outcome != "open").exists()))


def _undelivered_ticket_ids():
    """Tickets with a reply the outbox gave up on or could not confirm (a subquery)."""
    return (select(Message.ticket_id).join(OutboxItem, OutboxItem.message_id == Message.id)
            .where(OutboxItem.status.in_(ATTENTION)))


def failed_count(agent: Agent, filters: InboxFilters) -> int:
    """Visible tickets, of any status, with an undelivered reply (under the channel/mine filters)."""
    scope = _scope(agent, replace(filters, failed=True, flagged=False), with_status=False)
    return db.session.scalar(scope.with_only_columns(func.count(Ticket.id))) or 0


def undelivered_among(ticket_ids) -> dict[int, str]:
    """{ticket id: 'failed' or 'unverified'} for those of `ticket_ids` with an undelivered reply
    (failed wins): the inbox rows shown in red."""
    ids = list(ticket_ids)
    if not ids:
        return {}
    out: dict[int, str] = {}
    for ticket_id, status in db.session.execute(
            select(Message.ticket_id, OutboxItem.status).join(OutboxItem, OutboxItem.message_id == Message.id)
            .where(Message.ticket_id.in_(ids), OutboxItem.status.in_(ATTENTION))):
        if out.get(ticket_id) != "failed":
            out[ticket_id] = status
    return out


def _statuses(filters: InboxFilters) -> tuple[str, ...]:
    chosen = OPEN_STATUSES if filters.status == "" else STATUSES if filters.status == "all" else (filters.status,)
    return tuple(s for s in chosen if s in FLAGGED_STATUSES) if filters.flagged else chosen


def _listing(agent: Agent, filters: InboxFilters):
    """(base select of id and sort value, branches, sort key) of the filters' list: one branch
    per status on the index that matches the view (mine, channel, cancellation requests)."""
    key = REQUESTED if filters.flagged else ACTIVITY
    base = _scope(agent, filters, with_status=False).with_only_columns(Ticket.id, key.column)
    if filters.failed:  # a few tickets, found through the outbox: one walk, the planner's choice
        return base.where(Ticket.status.in_(_statuses(filters))), [true()], key
    if filters.flagged:
        prefix = [Ticket.intent == "cancellation"]
    elif filters.mine:
        prefix = [Ticket.assignee_id == agent.id]
    elif filters.channel:
        prefix = [Ticket.channel == filters.channel]
    else:
        prefix = []
    return base, [and_(*prefix, Ticket.status == s) for s in _statuses(filters)], key


@dataclass
class InboxPage:
    """One page of the inbox: its tickets and the links around it."""

    items: list
    page: int
    per_page: int
    #: Tickets in the whole list (capped: at least this many), None if not counted.
    total: Optional[int]
    capped: bool
    has_prev: bool
    has_next: bool
    prev_args: dict = field(default_factory=dict)
    next_args: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """Pages to number: all of them when the total is exact, else up to the next one."""
        if self.total is not None and not self.capped:
            return max(1, -(-self.total // self.per_page))
        return max(self.page + (1 if self.has_next else 0), -(-(self.total or 0) // self.per_page))

    def iter_pages(self, left_edge=1, left_current=2, right_current=3, right_edge=1):
        """Page numbers for the numbered links with None for a gap (as Flask-SQLAlchemy's)."""
        pages, last = self.pages, 0
        right_edge = right_edge if self.total is not None and not self.capped else 0
        for n in range(1, pages + 1):
            if (n - 1) * self.per_page > POSITION_LIMIT and n != self.page:
                continue  # read by position it would cost what the rows before it do: Next goes there
            if (n <= left_edge or self.page - left_current <= n < self.page + right_current
                    or n > pages - right_edge):
                if last + 1 != n:
                    yield None
                yield n
                last = n


def inbox_page(agent: Agent, filters: InboxFilters, per_page: int, counts: Optional[dict] = None) -> InboxPage:
    """One page of visible tickets in the list's order (newest activity first; cancellation
    requests oldest first), customers and assignees preloaded.

    Read by keyset (after / before a cursor) or, for a numbered link, by position; either way one
    index range per status, so a page costs the same at any backlog. With `counts`
    (status_counts() of the same filters) the total is taken from there.
    """
    base, branches, key = _listing(agent, filters)
    total, capped = _total(agent, filters, counts)
    cursor = filters.after or filters.before
    if cursor is not None and cursor.at is None and not key.nullable:
        filters = replace(filters, after=None, before=None)  # a NULL place in a list without NULLs
    page = filters.page
    if filters.before is not None:
        rows = keyset_rows(base, branches, key, filters.before, per_page + 1, backwards=True)
        if len(rows) <= per_page:  # back at the start (or the list changed): the first page
            rows, page = keyset_rows(base, branches, key, None, per_page + 1), 1
            has_prev, has_next = False, len(rows) > per_page
            rows = rows[:per_page]
        else:
            rows, has_prev, has_next = rows[1:], True, True
    elif filters.after is not None:
        rows = keyset_rows(base, branches, key, filters.after, per_page + 1)
        has_prev, has_next = True, len(rows) > per_page
        rows = rows[:per_page]
    else:  # a numbered link: by position, cheap near the start (Previous / Next use cursors)
        skip = (page - 1) * per_page
        beyond = (total is not None and not capped and skip >= total) or skip > POSITION_LIMIT
        rows = [] if beyond else keyset_rows(base, branches, key, None, skip + per_page + 1)[skip:]
        has_prev, has_next = page > 1, len(rows) > per_page
        rows = rows[:per_page]
    result = InboxPage(items=_load(r.id for r in rows), page=page, per_page=per_page, total=total,
                       capped=capped, has_prev=has_prev and bool(rows), has_next=has_next)
    if rows:
        result.prev_args = {"page": page - 1, "before": rows[0]} if page > 2 else {"page": 1}
        result.next_args = {"page": page + 1, "after": rows[-1]}
    elif page > 1:
        result.has_prev, result.prev_args = True, {"page": 1}
    return result


def _load(ids) -> list[Ticket]:
    """The tickets of `ids` in that order, with what a row shows, in a fixed number of queries."""
    ids = list(ids)
    if not ids:
        return []
    found = {t.id: t for t in db.session.scalars(
        select(Ticket).where(Ticket.id.in_(ids))
        .options(joinedload(Ticket.customer).selectinload(Customer.identities), joinedload(Ticket.assignee))).unique()}
    return [found[i] for i in ids if i in found]


def _total(agent: Agent, filters: InboxFilters, counts: Optional[dict]) -> tuple[Optional[int], bool]:
    """(tickets in the list, whether that is a capped count) from `counts` where it has them."""
    if counts is not None and not filters.failed and not filters.flagged and filters.status in counts:
        return counts[filters.status], filters.status in counts.get("capped", ())
    # The cancellation requests' count probes each one's retention case: kept short ("200+").
    cap = FLAGGED_COUNT_CAP if filters.flagged else COUNT_CAP
    limited = (_scope(agent, filters).with_only_columns(Ticket.id).limit(cap).subquery())
    total = db.session.scalar(select(func.count()).select_from(limited)) or 0
    return total, total >= cap


#: Ticket statuses whose cancellation request still waits for us (pending waits for the customer).
FLAGGED_STATUSES = ("new", "open")
FLAGGED_COUNT_CAP = 200


def flagged_tickets(agent: Agent, filters: InboxFilters, limit: int = 10) -> list[Ticket]:
    """Cancellation requests waiting for us, oldest request first: they rise above the inbox
    list, because a subscriber about to leave is answered before anything else.

    Not those already dealt with (a case saved, awaiting its save check, cancelled or dismissed)
    nor those waiting for the customer (pending); one row per customer (their oldest request).
    Shown on the first page of a list, not in the cancellation requests' own list."""
    if filters.page > 1 or filters.flagged or filters.status not in ("", "new", "open"):
        return []
    base, branches, key = _listing(agent, replace(filters, flagged=True, after=None, before=None))
    rows = keyset_rows(base, branches, key, None, limit * 3)
    ids = [r.id for r in rows]
    owners = dict(db.session.execute(select(Ticket.id, Ticket.customer_id).where(Ticket.id.in_(ids))).all()) \
        if ids else {}
    picked, seen = [], set()
    for row in rows:  # only the tickets shown are loaded with their customers
        if owners.get(row.id) not in seen:
            seen.add(owners.get(row.id))
            picked.append(row.id)
    return _load(picked[:limit])


#: Closed and solved tickets pile up forever; their tab counts stop at this ("1000+").
COUNT_CAP = 1000
#: Each unsolved status is counted up to this: exact for any desk that can still read its
#: inbox, and a backlog of 40,000 costs what one of 2,000 does ("2000+").
OPEN_COUNT_CAP = 2000


def status_counts(agent: Agent, filters: InboxFilters) -> dict[str, int]:
    """Visible tickets per status under the channel/mine filters (for the filter tabs).

    Each status is counted on its index range, up to OPEN_COUNT_CAP (unsolved ones) or COUNT_CAP
    (solved, closed), so the inbox stays fast with any backlog and hundreds of thousands of old
    tickets; the key "capped" lists the counts that stopped at their cap.
    """
    scope = _scope(agent, replace(filters, flagged=False), with_status=False)
    caps = {status: OPEN_COUNT_CAP if status in OPEN_STATUSES else COUNT_CAP for status in STATUSES}
    one_each = [select(func.count()).select_from(
        scope.where(Ticket.status == status).with_only_columns(Ticket.id).limit(cap).subquery()).scalar_subquery()
        for status, cap in caps.items()]
    counts: dict = dict(zip(caps, db.session.execute(select(*one_each)).one()))  # one round trip
    capped = {status for status, cap in caps.items() if counts[status] >= cap}
    counts[""] = sum(counts.get(s, 0) for s in OPEN_STATUSES)
    if capped & set(OPEN_STATUSES):
        capped.add("")
    counts["all"] = sum(counts.get(s, 0) for s in STATUSES)
    if capped:
        capped.add("all")
    counts["capped"] = capped
    return counts


def timeline_channels(tickets) -> list[str]:
    """Channels of the (visible) `tickets` and of their messages: the ticket page's timeline
    filter, where a phone call logged on an email ticket makes "Phone" a choice."""
    ids = [t.id for t in tickets]
    found = set(db.session.scalars(select(Message.channel).where(Message.ticket_id.in_(ids)).distinct())) \
        if ids else set()
    return sorted(c for c in found | {t.channel for t in tickets} if c)


def active_agents() -> list[Agent]:
    return list(db.session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name)))


def latest_ids(ticket: Ticket) -> dict[str, int]:
    """The newest message and event ids of the ticket (0 if none): what the page has shown, for
    live updates and the reply collision check."""
    message, event = db.session.execute(select(
        select(func.max(Message.id)).where(Message.ticket_id == ticket.id).scalar_subquery(),
        select(func.max(Event.id)).where(Event.ticket_id == ticket.id).scalar_subquery(),
    )).one()
    return {"message": message or 0, "event": event or 0}
