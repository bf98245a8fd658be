"""Cancellation requests on tickets: flagging (by the rules or by hand), clearing, outcomes.

The intent subscriber runs after the ingest transaction committed (`message.ingested`), reads
the inbound message, and in one transaction of its own flags the ticket (intent, reason, the time
the request was first received), raises its priority so it rises in the inbox, opens the
RetentionCase and records an Event; then publishes `ticket.updated`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import bus
from app.extensions import db
from app.models import Agent, Event, Message, RetentionCase, Ticket, utcnow
from app.models.retention import OUTCOMES, REASONS
from app.retention.intent import Detection, detect, detect_many

#: Channels whose inbound messages are customer words (email, X, call summaries, API, web form).
#: Ticket.intent for a message the model was not sure about ("maybe", shown to the agent) and for a
#: request to skip one delivery; neither opens a case nor raises the priority.
POSSIBLE, SKIP = "possible_cancellation", "skip"
PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
MANUAL_OUTCOMES = ("open", "saved", "cancelled", "late_accepted")


class CaseError(ValueError):
    """Refused; `message` says why to a person (translated when read, inside a request)."""

    def __init__(self, message):
        super().__init__(message)
        self._message = message

    @property
    def message(self) -> str:
        return str(self._message)

    def __str__(self) -> str:
        return self.message


def case_for(ticket_id: int) -> Optional[RetentionCase]:
    return db.session.scalar(select(RetentionCase).where(RetentionCase.ticket_id == ticket_id))


_LOOK_UP = object()


def _flag(ticket: Ticket, reason: str, requested_at: datetime, message_id: Optional[int], lang: str,
          source: str, actor: Optional[Agent], matched: tuple[str, ...] = (), case=_LOOK_UP,
          detected: Optional[dict] = None) -> RetentionCase:
    """Flag the ticket and open (or reopen) its case; keeps the earliest request time.

    `case`: the ticket's case (or None) when the caller already loaded it."""
    old_priority = ticket.priority
    first = ticket.intent_at if ticket.intent == "cancellation" and ticket.intent_at else None
    ticket.intent = "cancellation"
    if not ticket.intent_reason or ticket.intent_reason == "other" or source == "agent":
        ticket.intent_reason = reason
    ticket.intent_at = min(first, requested_at) if first else requested_at
    if PRIORITY_RANK.get(ticket.priority, 1) < PRIORITY_RANK["high"]:
        ticket.priority = "high"
    if case is _LOOK_UP:
        case = case_for(ticket.id)
    if case is None:
        case = RetentionCase(ticket_id=ticket.id, customer_id=ticket.customer_id, reason=ticket.intent_reason,
                             first_requested_at=ticket.intent_at, first_message_id=message_id, lang=lang,
                             source=source)
        db.session.add(case)
    else:
        if case.outcome == "dismissed":
            case.outcome, case.outcome_at, case.outcome_by_id = "open", None, None
        elif case.outcome in ("saved", "pending") and case.outcome_at and requested_at > case.outcome_at:
            # The customer insists after being offered an alternative: the request is open again, and
            # a cancellation still counts from the first request.
            record_outcome(case, "open", actor, note="asked again after the save")
        if requested_at < case.first_requested_at:
            case.first_requested_at, case.first_message_id = requested_at, message_id
        case.reason = ticket.intent_reason
    db.session.add(Event(customer_id=ticket.customer_id, ticket_id=ticket.id, kind="retention.flagged",
                         actor_id=actor.id if actor else None,
                         data={"reason": ticket.intent_reason, "message_id": message_id, "source": source,
                               "requested_at": ticket.intent_at.isoformat(), "matched": list(matched),
                               "priority": {"old": old_priority, "new": ticket.priority}, **(detected or {})}))
    return case


def _detected(found: Detection) -> dict:
    return {"label": found.label, "probability": found.probability, "band": found.band}


def _mark(ticket: Ticket, found: Detection, requested_at: datetime, message_id: int) -> bool:
    """A "maybe" or a skip request: label the ticket for the agent, unless it already carries an intent."""
    if ticket.intent:
        return False
    ticket.intent = POSSIBLE if found.is_maybe else SKIP
    ticket.intent_reason, ticket.intent_at = found.reason, requested_at
    db.session.add(Event(customer_id=ticket.customer_id, ticket_id=ticket.id,
                         kind="retention.maybe" if found.is_maybe else "retention.skip_requested",
                         data={"reason": found.reason, "message_id": message_id, "matched": list(found.matched),
                               **_detected(found)}))
    return True


def _publish(ticket: Ticket, change: str, actor: Optional[Agent] = None) -> None:
    """After commit: live updates and search see the new intent / priority / outcome."""
    changes = ["intent", "priority"] if change == "intent" else [change]
    bus.publish("ticket.updated", ticket_id=ticket.id, customer_id=ticket.customer_id,
                actor_id=actor.id if actor else None, changes=changes)


def detect_for_message(message_id: int) -> Optional[int]:
    """Check one stored inbound message; flag its ticket when it asks to cancel. Returns the case id."""
    message = db.session.get(Message, message_id)
    if message is None or message.direction != "in" or message.auto_submitted:
        return None
    found = detect(message.body_text or "", message.subject or "")
    if not (found.is_cancellation or found.is_maybe or found.is_skip):
        return None
    ticket = db.session.get(Ticket, message.ticket_id)
    case = case_for(ticket.id)
    if case is not None and case.outcome == "dismissed" and case.first_message_id == message.id:
        return None  # an agent already said this very message is not a cancellation
    if not found.is_cancellation:
        if _mark(ticket, found, message.created_at, message.id):
            db.session.commit()
            _publish(ticket, "intent")
        return None
    case = _flag(ticket, found.reason or "other", message.created_at, message.id, found.lang, "detected",
                 None, found.matched, detected=_detected(found))
    db.session.commit()
    _publish(ticket, "intent")
    return case.id


def detect_for_messages(message_ids: list[int]) -> list[int]:
    """detect_for_message for a batch: one query for the messages, one for the flagged tickets
    and one for their cases, one commit. Returns the flagged tickets' ids."""
    rows = []
    for start in range(0, len(message_ids), 500):
        rows += db.session.execute(
            select(Message.id, Message.ticket_id, Message.body_text, Message.subject, Message.created_at,
                   Message.direction, Message.auto_submitted)
            .where(Message.id.in_(message_ids[start:start + 500]))).all()
    rows = [row for row in sorted(rows, key=lambda r: r.id) if row.direction == "in" and not row.auto_submitted]
    found_all = detect_many([(row.body_text or "", row.subject or "") for row in rows])
    hits = [(row, found) for row, found in zip(rows, found_all)
            if found.is_cancellation or found.is_maybe or found.is_skip]
    if not hits:
        return []
    ticket_ids = sorted({row.ticket_id for row, _ in hits})
    tickets = {t.id: t for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)))}
    cases = {c.ticket_id: c for c in db.session.scalars(
        select(RetentionCase).where(RetentionCase.ticket_id.in_(ticket_ids)))}
    flagged: dict[int, Ticket] = {}
    for row, found in hits:
        ticket, case = tickets[row.ticket_id], cases.get(row.ticket_id)
        if case is not None and case.outcome == "dismissed" and case.first_message_id == row.id:
            continue  # an agent already said this very message is not a cancellation
        if not found.is_cancellation:
            if _mark(ticket, found, row.created_at, row.id):
                flagged[ticket.id] = ticket
            continue
        cases[ticket.id] = _flag(ticket, found.reason or "other", row.created_at, row.id, found.lang, "detected",
                                 None, found.matched, case=case, detected=_detected(found))
        flagged[ticket.id] = ticket
    if not flagged:
        return []
    # Read before the commit expires the tickets (after it, one query per ticket).
    payloads = [dict(ticket_id=t.id, customer_id=t.customer_id, actor_id=None, changes=["intent", "priority"])
                for t in flagged.values()]
    db.session.commit()
    tickets.clear(), cases.clear(), flagged.clear()  # subscribers' commits need not expire them
    bus.publish_many("ticket.updated", payloads)
    return [p["ticket_id"] for p in payloads]


@bus.subscribe("message.ingested")
def on_message_ingested(message_id: int, direction: str = "in", auto_submitted: bool = False, **_) -> None:
    if direction != "in" or auto_submitted:
        return
    try:
        detect_for_message(message_id)
    except Exception:
        db.session.rollback()
        raise


def on_messages_ingested(payloads: list[dict]) -> None:
    """A polled batch: outbound and auto-submitted messages are skipped without a query."""
    ids = [p["message_id"] for p in payloads if p.get("direction", "in") == "in" and not p.get("auto_submitted")]
    if not ids:
        return
    try:
        detect_for_messages(ids)
    except Exception:
        db.session.rollback()  # all or nothing: the bus then retries message by message
        raise


bus.subscribe_batch("message.ingested", on_messages_ingested, single=on_message_ingested)


def flag_manually(agent: Agent, ticket: Ticket, reason: str, requested_at: Optional[datetime] = None) -> RetentionCase:
    """An agent marks the ticket as a cancellation request the rules missed.

    The request time is the ticket's first customer message unless the agent gives one (e.g. the
    time of a phone call that was not logged as a message)."""
    if reason not in REASONS:
        raise CaseError(_l("Choose a reason from the list."))
    first_in = db.session.scalars(select(Message).where(Message.ticket_id == ticket.id, Message.direction == "in")
                                  .order_by(Message.created_at, Message.id).limit(1)).first()
    when = requested_at or (first_in.created_at if first_in else utcnow())
    if when > utcnow():
        raise CaseError(_l("The request time cannot be in the future."))
    lang = detect(first_in.body_text).lang if first_in else "ja"
    case = _flag(ticket, reason, when, first_in.id if first_in else None, lang, "agent", agent)
    case.reason = reason
    db.session.commit()
    _publish(ticket, "intent", agent)
    return case


def clear_intent(agent: Agent, ticket: Ticket) -> None:
    """'Not a cancellation': one click undoes the flag (or the "maybe") and the priority raise."""
    if ticket.intent not in ("cancellation", POSSIBLE, SKIP):
        raise CaseError(_l("This ticket is not flagged as a cancellation request."))
    raised = db.session.scalars(select(Event).where(Event.ticket_id == ticket.id, Event.kind == "retention.flagged")
                                .order_by(Event.id)).first()
    old_priority = ((raised.data or {}).get("priority") or {}).get("old") if raised else None
    before = {"intent": ticket.intent, "reason": ticket.intent_reason,
              "intent_at": ticket.intent_at.isoformat() if ticket.intent_at else None, "priority": ticket.priority}
    ticket.intent = ticket.intent_reason = ticket.intent_at = None
    if old_priority and ticket.priority == "high":
        ticket.priority = old_priority
    case = case_for(ticket.id)
    if case is not None and case.outcome == "open":
        case.outcome, case.outcome_at, case.outcome_by_id = "dismissed", utcnow(), agent.id
    db.session.add(Event(customer_id=ticket.customer_id, ticket_id=ticket.id, kind="retention.cleared",
                         actor_id=agent.id, data={"before": before, "priority": ticket.priority}))
    db.session.commit()
    _publish(ticket, "intent", agent)


def set_reason(agent: Agent, ticket: Ticket, reason: str) -> None:
    case = case_for(ticket.id)
    if case is None or ticket.intent != "cancellation":
        raise CaseError(_l("This ticket is not flagged as a cancellation request."))
    if reason not in REASONS:
        raise CaseError(_l("Choose a reason from the list."))
    if reason == case.reason:
        return
    db.session.add(Event(customer_id=ticket.customer_id, ticket_id=ticket.id, kind="retention.reason",
                         actor_id=agent.id, data={"field": "reason", "old": case.reason, "new": reason}))
    case.reason = ticket.intent_reason = reason
    db.session.commit()
    _publish(ticket, "intent", agent)


def set_outcome(agent: Agent, ticket: Ticket, outcome: str, note: str = "") -> RetentionCase:
    """Record the outcome by hand (e.g. saved by conversation alone, 期間外受取了承, reopen)."""
    case = case_for(ticket.id)
    if case is None:
        raise CaseError(_l("This ticket is not flagged as a cancellation request."))
    if outcome not in MANUAL_OUTCOMES or outcome not in OUTCOMES:
        raise CaseError(_l("Unknown outcome."))
    record_outcome(case, outcome, agent, saved_by="conversation" if outcome == "saved" else None, note=note)
    db.session.commit()
    _publish(ticket, "retention_outcome", agent)
    return case


def record_outcome(case: RetentionCase, outcome: str, actor: Optional[Agent], saved_by: Optional[str] = None,
                   value: int = 0, note: str = "") -> None:
    """Set the case's outcome and write the Event (the caller commits)."""
    old = case.outcome
    case.outcome = outcome
    case.saved_by = saved_by if outcome in ("saved", "pending") else None
    case.value_retained = value if outcome in ("saved", "pending") else 0
    case.outcome_due_on = case.outcome_rule = None  # set by app.retention.outcomes for pending / saved
    case.outcome_at = None if outcome == "open" else utcnow()
    case.outcome_by_id = actor.id if actor else None
    db.session.add(Event(customer_id=case.customer_id, ticket_id=case.ticket_id, kind="retention.outcome",
                         actor_id=actor.id if actor else None, note=note,
                         data={"field": "outcome", "old": old, "new": outcome, "saved_by": case.saved_by,
                               "value_retained": case.value_retained}))
