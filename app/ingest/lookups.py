"""What the ingest path asks the database, answered for a whole batch in a few queries.

`Lookups(prefetch=msgs)` reads, in one query per kind, the messages already stored under the
batch's external ids, its raw sources, its senders' identities (with their customers), the
tickets its reply keys point to and its customers' recent open tickets; then it remembers what
the batch itself adds, so the batch needs no flush before its end. `Lookups()` (the one-message
path) answers every question with a plain query instead. Either way the unique constraints stay
the arbiter: a row another process inserted meanwhile surfaces as an IntegrityError at flush.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Iterable, Optional

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.ingest.threading import flood_ticket, markers, subject_window
from app.ingest.types import InboundMessage
from app.models import OPEN_STATUSES, Customer, Identity, Message, RawSource, Ticket

CHUNK = 500  # bound IN lists (SQLite's parameter limit, plan sizes)
SUBJECT_CANDIDATES = 20


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


class Lookups:
    """Per-batch answers (prefetched) or per-message queries (prefetch=None)."""

    def __init__(self, prefetch: Optional[list[tuple[InboundMessage, str]]] = None,
                 now: Optional[datetime] = None):
        """`prefetch`: the batch's valid messages with their content hashes (sha of raw computed
        by the caller is not needed: raw digests are computed here)."""
        self.batch = prefetch is not None
        self.messages: dict[tuple[str, str], Message] = {}
        self.raws: dict[str, RawSource] = {}
        self.identities: dict[tuple[str, str], Identity] = {}
        #: thread key -> (created_at, tie-break, ticket) of the latest message citing it
        self.threads: dict[str, tuple[datetime, int, Ticket]] = {}
        #: customer -> tickets that may be joined by subject (filtered again at use)
        self.open_tickets: dict[Customer, dict[int, Ticket]] = defaultdict(dict)
        self._open_loaded: set[int] = set()
        #: customer id -> created_at of their stored tickets near the batch's times (flood limit)
        self.started: dict[int, list[datetime]] = defaultdict(list)
        self._started_loaded: set[int] = set()
        #: customer -> tickets the batch created
        self.new_tickets: dict[Customer, list[Ticket]] = defaultdict(list)
        #: (channel, external_id) keys the prefetch looked up (others are asked of the database)
        self._prefetched: set[tuple[str, str]] = set()
        #: id(ticket) -> order numbers / coupon codes its stored messages name (read once)
        self._markers: dict[int, dict[str, set[str]]] = {}
        #: id(ticket) -> those its messages of this batch name
        self._pending_markers: dict[int, dict[str, set[str]]] = defaultdict(dict)
        #: tags the batch uses, by name (special.tag_own)
        self.tags: dict[str, object] = {}
        self._own: Optional[set[str]] = None
        #: thread keys whose stored messages were read into `threads`
        self._keys_loaded: set[str] = set()
        self._seq = 0
        if prefetch:
            self._prefetch([m for m, _ in prefetch], now)

    # --- prefetch ------------------------------------------------------------------------
    def _prefetch(self, msgs: list[InboundMessage], now: Optional[datetime]) -> None:
        import hashlib

        session = db.session
        by_channel: dict[str, set[str]] = defaultdict(set)
        for m in msgs:
            by_channel[m.channel].add(m.external_id)
            self._prefetched.add((m.channel, m.external_id))
        for channel, ids in by_channel.items():
            for chunk in _chunks(sorted(ids)):
                for message in session.scalars(select(Message).where(Message.channel == channel,
                                                                     Message.external_id.in_(chunk))):
                    self.messages[(message.channel, message.external_id)] = message
        digests = sorted({hashlib.sha256(m.raw).hexdigest() for m in msgs if m.raw is not None})
        for chunk in _chunks(digests):
            for raw in session.scalars(select(RawSource).where(RawSource.sha256.in_(chunk))):
                self.raws[raw.sha256] = raw
        by_kind: dict[str, set[str]] = defaultdict(set)
        for m in msgs:
            by_kind[m.sender.kind].add(m.sender.normalised())
        for kind, values in by_kind.items():
            for chunk in _chunks(sorted(values)):
                for identity in session.scalars(select(Identity).options(joinedload(Identity.customer))
                                                .where(Identity.kind == kind, Identity.value.in_(chunk))):
                    self.identities[(identity.kind, identity.value)] = identity
        self._load_threads({k for m in msgs for k in m.reply_to_keys})
        if now is not None and any(m.match_subject for m in msgs):
            since = min(subject_window(m.created_at, now)[0] for m in msgs if m.match_subject)
            customer_ids = set()
            for identity in self.identities.values():
                customer_ids.add(identity.customer_id)
                if identity.customer.merged_into_id:
                    customer_ids.add(identity.customer.merged_into_id)
            for chunk in _chunks(sorted(customer_ids)):
                for ticket in session.scalars(select(Ticket).where(
                        Ticket.customer_id.in_(chunk), Ticket.status.in_(OPEN_STATUSES),
                        Ticket.last_activity_at >= since)):
                    self._open_by_id(ticket.customer_id)[id(ticket)] = ticket
            self._open_loaded |= customer_ids
        flood = current_app.config.get("TICKET_FLOOD_LIMIT") or 0
        if flood > 0 and any(m.direction == "in" for m in msgs):
            window = timedelta(seconds=int(current_app.config.get("TICKET_FLOOD_WINDOW_SECONDS") or 600))
            lo, hi = min(m.created_at for m in msgs) - window, max(m.created_at for m in msgs) + window
            customer_ids = set()
            for identity in self.identities.values():
                customer_ids.add(identity.customer_id)
                if identity.customer.merged_into_id:
                    customer_ids.add(identity.customer.merged_into_id)
            for chunk in _chunks(sorted(customer_ids)):
                for row in session.execute(select(Ticket.customer_id, Ticket.created_at).where(
                        Ticket.customer_id.in_(chunk), Ticket.created_at > lo, Ticket.created_at < hi)):
                    self.started[row.customer_id].append(row.created_at)
            self._started_loaded |= customer_ids

    def _load_threads(self, keys: set[str]) -> None:
        """The tickets of the stored messages whose thread key is one of `keys`."""
        session = db.session
        keys = sorted(keys - self._keys_loaded)
        self._keys_loaded.update(keys)
        rows = []
        for chunk in _chunks(keys):
            rows += session.execute(select(Message.thread_key, Message.created_at, Message.id, Message.ticket_id)
                                    .where(Message.thread_key.in_(chunk))).all()
        tickets = {}
        for chunk in _chunks(sorted({r.ticket_id for r in rows})):
            tickets.update((t.id, t) for t in session.scalars(select(Ticket).where(Ticket.id.in_(chunk))))
        for r in rows:
            self._cite(r.thread_key, r.created_at, r.id, tickets.get(r.ticket_id))

    def _open_by_id(self, customer_id: int) -> dict[int, Ticket]:
        customer = db.session.get(Customer, customer_id)  # in the identity map after the joinedload
        return self.open_tickets[customer]

    def _cite(self, key: Optional[str], created_at: datetime, order: int, ticket: Optional[Ticket]) -> None:
        if not key or ticket is None:
            return
        known = self.threads.get(key)
        if known is None or (created_at, order) >= known[:2]:
            self.threads[key] = (created_at, order, ticket)

    # --- questions -----------------------------------------------------------------------
    def existing(self, msg: InboundMessage) -> Optional[Message]:
        if self.batch and ((msg.channel, msg.external_id) in self._prefetched
                           or (msg.channel, msg.external_id) in self.messages):
            return self.messages.get((msg.channel, msg.external_id))
        return db.session.scalar(select(Message).where(Message.channel == msg.channel,
                                                       Message.external_id == msg.external_id))

    def raw(self, digest: str) -> Optional[RawSource]:
        if self.batch:
            return self.raws.get(digest)
        return db.session.scalar(select(RawSource).where(RawSource.sha256 == digest))

    def identity(self, kind: str, value: str) -> Optional[Identity]:
        if self.batch:
            return self.identities.get((kind, value))
        return db.session.scalar(select(Identity).where(Identity.kind == kind, Identity.value == value))

    def thread_ticket(self, keys: tuple[str, ...]) -> Optional[Ticket]:
        """The ticket of the latest message whose thread key is one of `keys`."""
        if not self.batch:
            ticket_id = db.session.scalar(select(Message.ticket_id).where(Message.thread_key.in_(list(keys)))
                                          .order_by(Message.created_at.desc()).limit(1))
            return db.session.get(Ticket, ticket_id) if ticket_id is not None else None
        if not set(keys) <= self._keys_loaded:  # a key the prefetch did not know
            self._load_threads(set(keys))
        found = [self.threads[k] for k in keys if k in self.threads]
        return max(found, key=lambda f: f[:2])[2] if found else None

    def subject_candidates(self, customer: Customer, since: datetime, until: datetime) -> list[Ticket]:
        """The customer's open tickets active since `since` and started by `until` (the window
        around a message's date, threading.subject_window), most recent first (at most 20)."""
        if not self.batch or (customer.id is not None and customer.id not in self._open_loaded):
            if customer.id is None:
                return []
            query = (select(Ticket).where(Ticket.customer_id == customer.id, Ticket.status.in_(OPEN_STATUSES),
                                          Ticket.last_activity_at >= since, Ticket.created_at <= until)
                     .order_by(Ticket.last_activity_at.desc()).limit(SUBJECT_CANDIDATES))
            if not self.batch:
                return list(db.session.scalars(query))
            for ticket in db.session.scalars(query):
                self.open_tickets[customer][id(ticket)] = ticket
            self._open_loaded.add(customer.id)
        tickets = [t for t in self.open_tickets.get(customer, {}).values()
                   if t.status in OPEN_STATUSES and t.last_activity_at >= since and t.created_at <= until]
        tickets.sort(key=lambda t: t.last_activity_at, reverse=True)
        return tickets[:SUBJECT_CANDIDATES]

    def own_addresses(self) -> set[str]:
        """identity.own_addresses(), read once per batch."""
        if self._own is None:
            from app.ingest.identity import own_addresses

            self._own = own_addresses()
        return self._own

    def ticket_markers(self, ticket: Ticket) -> dict[str, set[str]]:
        """Order numbers and coupon codes the ticket's inbound messages name (subject included)."""
        known = self._markers.get(id(ticket)) if self.batch else None
        if known is None:
            known = {}
            if ticket.id is not None:
                texts = db.session.scalars(
                    select(Message.body_text).where(Message.ticket_id == ticket.id, Message.direction == "in")
                    .order_by(Message.created_at.desc()).limit(50))
                for text in [ticket.subject or "", *texts]:
                    for kind, codes in markers(text).items():
                        known.setdefault(kind, set()).update(codes)
            if self.batch:
                self._markers[id(ticket)] = known
        merged = {kind: set(codes) for kind, codes in known.items()}
        for kind, codes in self._pending_markers.get(id(ticket), {}).items():
            merged.setdefault(kind, set()).update(codes)
        return merged

    def flood_ticket(self, customer: Customer, at: datetime, limit: int, window: timedelta) -> Optional[Ticket]:
        """threading.flood_ticket, counting the batch's own new tickets without a query."""
        if limit <= 0:
            return None
        if self.batch and (customer.id is None or customer.id in self._started_loaded):
            started = sum(1 for t in self.started.get(customer.id, []) if at - window < t < at + window)
            started += sum(1 for t in self.new_tickets.get(customer, []) if at - window < t.created_at < at + window)
            if started < limit:
                return None
        if self.batch:
            db.session.flush()  # rare (a flooding sender): let the query see the batch's tickets
        return flood_ticket(customer.id, at, limit, window) if customer.id is not None else None

    # --- what the batch adds -------------------------------------------------------------
    def stored(self, msg: InboundMessage, message: Message, ticket: Ticket, customer: Customer) -> None:
        if not self.batch:
            return
        self.messages[(msg.channel, msg.external_id)] = message
        self._seq += 1
        self._cite(msg.thread_key, msg.created_at, 1 << 62 | self._seq, ticket)  # newer than stored ones
        self.open_tickets[customer][id(ticket)] = ticket
        if msg.direction == "in":
            pending = self._pending_markers[id(ticket)]
            for kind, codes in markers(msg.body_text).items():
                pending.setdefault(kind, set()).update(codes)

    def new_ticket(self, customer: Customer, ticket: Ticket) -> None:
        if self.batch:
            self.new_tickets[customer].append(ticket)

    def add_raw(self, raw: RawSource) -> None:
        if self.batch:
            self.raws[raw.sha256] = raw

    def add_identity(self, identity: Identity) -> None:
        if self.batch:
            self.identities[(identity.kind, identity.value)] = identity
