"""Each ticket's SLA clocks, computed from its timestamps, messages and status history.

`compute()` is pure (given the facts, it returns due times, state and durations); `refresh()`
gathers the facts of one ticket, stores them in its TicketSLA row and commits. The clocks:
first response (from the ticket's start until the first answer), next response (from the first
unanswered customer message until the next answer), resolution (until solved) and, for
subscription-change tickets, the commerce cutoff. The earliest running one rules (`due_at`,
`due_rule`); a ticket is at risk once 80 % of it is used (`at_risk_at`) and breached at `due_at`.
While a ticket is pending, a policy with `pause_when_pending` stops its SLA clocks (never the
commerce cutoff: the box ships anyway).

An agent's reply answers the customer only once it reached them: a queued, failed or unverified
outbox row does not count; a delivered one counts from its delivery (`sent_at`), as does one an
agent marked handled. Outbound messages without an outbox row (calls, imported history) count
as written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select

from app.extensions import db
from app.models import OPEN_STATUSES, Event, Message, OutboxItem, SLAPolicy, Ticket, TicketSLA, utcnow
from app.sla.business_time import Calendar, advance, business_seconds_between, elapsed

AT_RISK_SHARE = 0.8
RULES = ("first_response", "next_response", "resolution", "commerce_cutoff")


@dataclass
class Facts:
    """What the clocks need to know about one ticket."""

    created_at: datetime
    status: str
    #: (created_at, direction) of customer ("in") and agent ("out") messages, oldest first.
    messages: list[tuple[datetime, str]]
    #: Closed intervals the ticket spent pending; the last may end at None (still pending).
    pending: list[tuple[datetime, Optional[datetime]]] = field(default_factory=list)
    solved_at: Optional[datetime] = None
    commerce_due_at: Optional[datetime] = None
    reopen_count: int = 0


@dataclass
class Result:
    first_response_due_at: Optional[datetime] = None
    next_response_due_at: Optional[datetime] = None
    resolution_due_at: Optional[datetime] = None
    commerce_due_at: Optional[datetime] = None
    due_at: Optional[datetime] = None
    due_rule: Optional[str] = None
    at_risk_at: Optional[datetime] = None
    state: str = "none"
    breached: bool = False
    has_target: bool = False
    metrics: dict[str, Optional[int]] = field(default_factory=dict)


class Clock:
    """Arithmetic of one policy: its measure (business or calendar) minus pending pauses."""

    def __init__(self, calendar: Optional[Calendar], pauses: list[tuple[datetime, datetime]]):
        self.calendar, self.pauses = calendar, pauses

    def paused(self, start: datetime, end: datetime) -> float:
        total = 0.0
        for a, b in self.pauses:
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += elapsed(lo, hi, self.calendar)
        return total

    def used(self, start: datetime, end: datetime) -> float:
        return max(elapsed(start, end, self.calendar) - self.paused(start, end), 0.0)

    def due(self, start: datetime, seconds: float) -> datetime:
        """When `seconds` of unpaused time since `start` are used (pauses push it later)."""
        moment = advance(start, seconds, self.calendar)
        for _ in range(8):
            later = advance(start, seconds + self.paused(start, moment), self.calendar)
            if later == moment:
                break
            moment = later
        return moment


def _pauses(facts: Facts, now: datetime) -> list[tuple[datetime, datetime]]:
    return [(a, b or now) for a, b in facts.pending]


def _waits(facts: Facts) -> tuple[Optional[datetime], list[tuple[datetime, Optional[datetime]]]]:
    """(first answer, [(customer waiting since, answered at or None)] after the first answer)."""
    first_out = next((t for t, d in facts.messages if d == "out"), None)
    waits: list[tuple[datetime, Optional[datetime]]] = []
    if first_out is None:
        return None, waits
    waiting_since = None
    for moment, direction in facts.messages:
        if moment <= first_out:
            continue
        if direction == "in" and waiting_since is None:
            waiting_since = moment
        elif direction == "out" and waiting_since is not None:
            waits.append((waiting_since, moment))
            waiting_since = None
    if waiting_since is not None:
        waits.append((waiting_since, None))
    return first_out, waits


def _metrics(facts: Facts, first_out, waits, calendar: Calendar) -> dict[str, Optional[int]]:
    def pair(a, b):
        if a is None or b is None:
            return None, None
        return int((b - a).total_seconds()), int(business_seconds_between(a, b, calendar))

    fr, fr_b = pair(facts.created_at, first_out)
    res, res_b = pair(facts.created_at, facts.solved_at)
    answered = [pair(a, b) for a, b in waits if b is not None]
    nr = int(sum(x for x, _ in answered) / len(answered)) if answered else None
    nr_b = int(sum(y for _, y in answered) / len(answered)) if answered else None
    return {"first_response_seconds": fr, "first_response_business_seconds": fr_b,
            "next_response_seconds": nr, "next_response_business_seconds": nr_b,
            "resolution_seconds": res, "resolution_business_seconds": res_b,
            "replies": sum(1 for _, d in facts.messages if d == "out"),
            "reopen_count": facts.reopen_count}


def compute(facts: Facts, policy: Optional[SLAPolicy], calendar: Calendar, now: datetime) -> Result:
    """The clocks of a ticket with `facts` under `policy` at `now`."""
    first_out, waits = _waits(facts)
    result = Result(commerce_due_at=facts.commerce_due_at,
                    metrics=_metrics(facts, first_out, waits, calendar))
    is_open = facts.status in OPEN_STATUSES
    paused_now = bool(policy and policy.pause_when_pending and facts.status == "pending")
    clock = Clock(calendar if policy is None or policy.business_hours else None,
                  _pauses(facts, now) if policy and policy.pause_when_pending else [])
    running: list[tuple[datetime, str, datetime, float, bool]] = []  # due, rule, start, target, sla
    breached = False

    def target(minutes: Optional[int]) -> Optional[float]:
        return minutes * 60.0 if minutes is not None else None

    fr_target = target(policy.first_response_minutes) if policy else None
    if fr_target is not None:
        result.has_target = True
        due = clock.due(facts.created_at, fr_target)
        result.first_response_due_at = due
        if first_out is not None:
            breached |= first_out > due
        elif is_open:
            running.append((due, "first_response", facts.created_at, fr_target, True))
    nr_target = target(policy.next_response_minutes) if policy else None
    if nr_target is not None:
        result.has_target = True
        for since, answered in waits:
            due = clock.due(since, nr_target)
            if answered is not None:
                breached |= answered > due
            elif is_open:
                result.next_response_due_at = due
                running.append((due, "next_response", since, nr_target, True))
    res_target = target(policy.resolution_minutes) if policy else None
    if res_target is not None:
        result.has_target = True
        due = clock.due(facts.created_at, res_target)
        result.resolution_due_at = due
        if facts.solved_at is not None and not is_open:
            breached |= facts.solved_at > due
        elif is_open:
            running.append((due, "resolution", facts.created_at, res_target, True))
    if facts.commerce_due_at is not None and is_open:
        running.append((facts.commerce_due_at, "commerce_cutoff", facts.created_at, 0.0, False))

    if paused_now:  # SLA clocks stand still; the commerce cutoff keeps running
        running = [r for r in running if not r[4]]
    if running:
        due, rule, start, seconds, is_sla = min(running, key=lambda r: r[0])
        result.due_at, result.due_rule = due, rule
        if is_sla:
            result.at_risk_at = clock.due(start, seconds * AT_RISK_SHARE)
        else:
            result.at_risk_at = start + (due - start) * AT_RISK_SHARE if due > start else due
        if now >= due:
            result.state, breached = "breached", True
        elif now >= result.at_risk_at:
            result.state = "at_risk"
        else:
            result.state = "ok"
    elif paused_now:
        result.state = "paused"
    elif result.has_target and not is_open:
        result.state = "breached" if breached else "met"
    elif result.has_target:
        result.state = "ok"
    result.breached = breached
    return result


# -- gathering the facts of tickets ----------------------------------------------------------

def _pending_from(ticket: Ticket, rows) -> list[tuple[datetime, Optional[datetime]]]:
    """Pending intervals from the ticket's status events (`rows`: (created_at, data), oldest first)."""
    out, since = [], None
    for moment, data in rows:
        new, old = (data or {}).get("new"), (data or {}).get("old")
        if new == "pending" and since is None:
            since = moment
        elif old == "pending" and since is not None:
            out.append((since, moment))
            since = None
    if ticket.status == "pending":
        out.append((since or ticket.updated_at or ticket.created_at, None))
    return out


#: Outbox states in which a reply has reached the customer (or an agent says it was handled).
DELIVERED = ("sent", "handled")


def _answer_time(at: datetime, direction: str, delivery: Optional[str], sent_at: Optional[datetime]):
    """When a message counts for the clocks, or None (an undelivered reply)."""
    if direction != "out" or delivery is None:
        return at
    if delivery not in DELIVERED:
        return None
    return max(at, sent_at) if sent_at is not None else at


def _facts_from(ticket: Ticket, message_rows, event_rows, commerce_known=None) -> Facts:
    timed = [(_answer_time(at, d, delivery, sent_at), d, meta, auto)
             for at, d, meta, auto, delivery, sent_at in message_rows]
    messages = sorted((at, d) for at, d, meta, auto in timed
                      if at is not None and not (meta or {}).get("kind") == "survey"
                      and not (d == "in" and auto))
    # An answer recorded without any outbound message (history import); an undelivered reply's
    # ticket keeps waiting even if an older version recorded its first response at queueing.
    if ticket.first_response_at and not any(row[1] == "out" for row in message_rows):
        messages.append((ticket.first_response_at, "out"))
        messages.sort()
    from app.sla.commerce import commerce_deadline

    commerce = commerce_deadline(ticket, ticket.created_at, commerce_known) if ticket.status in OPEN_STATUSES \
        else None
    return Facts(created_at=ticket.created_at, status=ticket.status, messages=messages,
                 pending=_pending_from(ticket, event_rows), solved_at=ticket.solved_at,
                 commerce_due_at=commerce[0] if commerce else None, reopen_count=ticket.reopen_count)


def _gather(ticket_ids: list[int]) -> dict[int, tuple[list, list]]:
    """{ticket id: (message rows, status event rows)} for many tickets: two queries in all."""
    found: dict[int, tuple[list, list]] = {tid: ([], []) for tid in ticket_ids}
    for tid, *row in db.session.execute(
            select(Message.ticket_id, Message.created_at, Message.direction, Message.meta,
                   Message.auto_submitted, OutboxItem.status, OutboxItem.sent_at)
            .outerjoin(OutboxItem, OutboxItem.message_id == Message.id)
            .where(Message.ticket_id.in_(ticket_ids), Message.direction.in_(("in", "out")))
            .order_by(Message.ticket_id, Message.created_at, Message.id)):
        found[tid][0].append(tuple(row))
    for tid, *row in db.session.execute(
            select(Event.ticket_id, Event.created_at, Event.data)
            .where(Event.ticket_id.in_(ticket_ids), Event.kind == "ticket.status")
            .order_by(Event.ticket_id, Event.created_at, Event.id)):
        found[tid][1].append(tuple(row))
    return found


def facts_for(ticket: Ticket) -> Facts:
    return _facts_from(ticket, *_gather([ticket.id])[ticket.id])


def refresh(ticket_id: int, now: Optional[datetime] = None,
            policies: Optional[list[SLAPolicy]] = None, commit: bool = True) -> tuple[Optional[TicketSLA], bool]:
    """Recompute and store one ticket's clocks (commits); (row, state-or-due changed)."""
    return refresh_many([ticket_id], now=now, policies=policies, commit=commit).get(ticket_id, (None, False))


#: Tickets per round of `refresh_many` (bounds the IN lists and the rows held at once).
CHUNK = 200


def refresh_many(ticket_ids, now: Optional[datetime] = None, policies: Optional[list[SLAPolicy]] = None,
                 commit: bool = True) -> dict[int, tuple[TicketSLA, bool]]:
    """Recompute and store many tickets' clocks: {ticket id: (row, state-or-due changed)}.

    Same result as `refresh` per ticket, in a handful of queries per CHUNK tickets (tickets with
    their tags, messages, status events, clock rows; missing rows in one INSERT), policies and
    calendars read once. Unknown ids are left out. Commits once at the end unless `commit=False`.
    """
    from sqlalchemy.orm import selectinload

    from app.sla import commerce
    from app.sla.policies import active_policies, calendar_for, match_policy

    ids = list(dict.fromkeys(ticket_ids))
    now = now or utcnow()
    policies = active_policies() if policies is None else policies
    calendars: dict[Optional[int], object] = {}
    out: dict[int, tuple[TicketSLA, bool]] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        tickets = list(db.session.scalars(select(Ticket).where(Ticket.id.in_(chunk))
                                          .options(selectinload(Ticket.tags))))
        if not tickets:
            continue
        facts = _gather([t.id for t in tickets])
        rows = {r.ticket_id: r for r in db.session.scalars(
            select(TicketSLA).where(TicketSLA.ticket_id.in_([t.id for t in tickets])))}
        missing = [t for t in tickets if t.id not in rows]
        if missing:
            rows.update(_insert_rows(missing))
        known = commerce.prefetch([t for t in tickets if t.status in OPEN_STATUSES])
        for ticket in tickets:
            policy = match_policy(ticket, policies)
            key = policy.id if policy is not None and policy.calendar_id else None
            if key not in calendars:
                calendars[key] = calendar_for(policy)
            result = compute(_facts_from(ticket, *facts[ticket.id], known.get(ticket.id, (None, []))),
                             policy, calendars[key], now)
            row = rows[ticket.id]
            before = None if ticket in missing else (row.state, row.due_at, row.due_rule)
            _store(row, ticket, policy, result)
            out[ticket.id] = (row, before != (row.state, row.due_at, row.due_rule))
    if commit:
        db.session.commit()
    return out


def _store(row: TicketSLA, ticket: Ticket, policy: Optional[SLAPolicy], result: Result) -> None:
    row.policy_id = policy.id if policy else None
    row.created_at, row.channel, row.priority = ticket.created_at, ticket.channel, ticket.priority
    row.assignee_id, row.status = ticket.assignee_id, ticket.status
    for name in ("first_response_due_at", "next_response_due_at", "resolution_due_at", "commerce_due_at",
                 "due_at", "due_rule", "at_risk_at", "state", "breached", "has_target"):
        setattr(row, name, getattr(result, name))
    for name, value in result.metrics.items():
        setattr(row, name, value)


def _insert_rows(tickets: list[Ticket]) -> dict[int, TicketSLA]:
    """The tickets' clock rows, created with INSERT ... ON CONFLICT DO NOTHING: two messages of a
    new ticket handled at once (two web processes, a worker and the API) must not both fail on
    the primary key; the loser simply updates the row the winner made."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # executemany of one cached statement (a multi-row VALUES is compiled anew for every size)
    db.session.connection().execute(insert(TicketSLA).on_conflict_do_nothing(index_elements=["ticket_id"]),
                                    [{"ticket_id": t.id, "created_at": t.created_at} for t in tickets])
    return {r.ticket_id: r for r in db.session.scalars(
        select(TicketSLA).where(TicketSLA.ticket_id.in_([t.id for t in tickets])))}


def remaining(row: TicketSLA, now: Optional[datetime] = None) -> Optional[timedelta]:
    """Calendar time left until the ruling deadline (negative when breached)."""
    if row is None or row.due_at is None:
        return None
    return row.due_at - (now or utcnow())
