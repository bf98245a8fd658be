"""Writing the PostgreSQL search tables: in the caller's transaction, and the full rebuild.

A session hook collects, at every flush, the messages and customers whose indexed text changed
(a new message, an edited subject, a customer's name, identities or orders); just before the
commit their rows are rebuilt with the same session, so they commit or roll back with the change
itself: no queue, no lag. Changes made with bulk UPDATE statements do not pass through the
hook; the customer merge does that, so the after-commit `customer.*` events (indexer.enqueue
dispatches them here) rebuild those customers in a short transaction of their own.
Only text is indexed: ticket status, team and assignee are read through a join at search time.
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional

from sqlalchemy import delete, event, inspect, select, text
from sqlalchemy.orm import Session, selectinload

from app.extensions import db
from app.models import Customer, Identity, Message, Order, Ticket
from app.search import backend, documents
from app.search.pg import schema
from app.search.pg.vectors import customer_vector, message_vector

_PENDING = "pg_search_pending"
_MESSAGE_ATTRS = ("subject", "body_text", "sender", "channel", "created_at", "ticket_id")
_CUSTOMER_ATTRS = ("name", "name_kana", "external_id", "merged_into_id")
_IDENTITY_ATTRS = ("customer_id", "kind", "value", "display", "name")
_ORDER_ATTRS = ("customer_id", "external_id")
CHUNK = 500

_UPSERT_MESSAGE = text(
    f"INSERT INTO {schema.MESSAGES} (message_id, channel, created_at, terms) "
    "VALUES (:id, :channel, :created_at, CAST(:terms AS tsvector)) "
    "ON CONFLICT (message_id) DO UPDATE SET channel = EXCLUDED.channel, "
    "created_at = EXCLUDED.created_at, terms = EXCLUDED.terms")
_UPSERT_CUSTOMER = text(
    f"INSERT INTO {schema.CUSTOMERS} (customer_id, terms) VALUES (:id, CAST(:terms AS tsvector)) "
    "ON CONFLICT (customer_id) DO UPDATE SET terms = EXCLUDED.terms")


# --- what changed (session hooks) --------------------------------------------------------------

def _changed(obj, attrs: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[a].history.has_changes() for a in attrs)


def _customer_ids(obj) -> set[int]:
    """The customer an identity or order belongs to, and the one it left."""
    history = inspect(obj).attrs.customer_id.history
    return {i for i in (*history.added, *history.unchanged, *history.deleted) if i is not None}


def _collect(session: Session, pending: set[tuple[str, int]]) -> None:
    for obj in session.new:
        if isinstance(obj, Message):
            pending.add(("message", obj.id))
        elif isinstance(obj, Customer):
            pending.add(("customer", obj.id))
        elif isinstance(obj, (Identity, Order)):
            pending.update(("customer", i) for i in _customer_ids(obj))
    for obj in session.dirty:
        if isinstance(obj, Message) and _changed(obj, _MESSAGE_ATTRS):
            pending.add(("message", obj.id))
        elif isinstance(obj, Ticket) and _changed(obj, ("subject",)):
            pending.add(("ticket", obj.id))  # its messages' subject field holds it
        elif isinstance(obj, Customer) and _changed(obj, _CUSTOMER_ATTRS):
            pending.add(("customer", obj.id))
        elif isinstance(obj, Identity) and _changed(obj, _IDENTITY_ATTRS) or \
                isinstance(obj, Order) and _changed(obj, _ORDER_ATTRS):
            pending.update(("customer", i) for i in _customer_ids(obj))
    for obj in session.deleted:  # deleted messages and customers leave by ON DELETE CASCADE
        if isinstance(obj, (Identity, Order)):
            pending.update(("customer", i) for i in _customer_ids(obj))


def _ours(session: Session) -> bool:
    return backend.is_postgres() and session is db.session()


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    if _ours(session):
        _collect(session, session.info.setdefault(_PENDING, set()))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if not _ours(session):
        return
    session.flush()  # commit flushes after this hook: flush now so _after_flush sees the last changes
    pending = session.info.pop(_PENDING, set())
    if pending:
        apply(session, pending)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def after_commit(items: Iterable[tuple[str, int]]) -> None:
    """indexer.enqueue on this backend: only customers can have changed behind the hook."""
    customer_ids = {int(obj) for kind, obj in items if kind == "customer" and obj is not None}
    if customer_ids:
        with Session(db.engine) as session, session.begin():
            apply(session, {("customer", i) for i in customer_ids})


# --- writing -----------------------------------------------------------------------------------

def apply(session: Session, items: Iterable[tuple[str, int]]) -> int:
    """Rebuild the rows of these (kind, id) items in `session`'s transaction; rows written."""
    items = list(items)
    message_ids = {obj for kind, obj in items if kind == "message"}
    ticket_ids = {obj for kind, obj in items if kind == "ticket"}
    customer_ids = sorted({obj for kind, obj in items if kind == "customer"})
    if ticket_ids:
        message_ids.update(session.scalars(select(Message.id).where(Message.ticket_id.in_(ticket_ids))))
    written = 0
    ordered = sorted(message_ids)
    for start in range(0, len(ordered), CHUNK):
        stmt = (select(*documents.MESSAGE_COLUMNS).join(Ticket, Ticket.id == Message.ticket_id)
                .where(Message.id.in_(ordered[start:start + CHUNK])))
        written += write_messages(session, [documents.MessageRow(*row) for row in session.execute(stmt)])
    for start in range(0, len(customer_ids), CHUNK):
        chunk = customer_ids[start:start + CHUNK]
        # populate_existing: an identity added by customer_id is not in an already loaded collection.
        customers = list(session.scalars(select(Customer).where(Customer.id.in_(chunk))
                                         .options(selectinload(Customer.identities))
                                         .execution_options(populate_existing=True)))
        written += write_customers(session, customers, chunk)
    return written


def write_messages(session: Session, rows: list[documents.MessageRow]) -> int:
    params = [{"id": row.id, "channel": row.channel, "created_at": row.created_at,
               "terms": message_vector(documents.message_document(row))} for row in rows]
    if params:
        session.execute(_UPSERT_MESSAGE, params)
    return len(params)


def write_customers(session: Session, customers: list[Customer], scanned_ids: Iterable[int]) -> int:
    """Upsert the live ones among `customers`; delete the rows of the other `scanned_ids`."""
    live = [c for c in customers if c.merged_into_id is None]
    orders: dict[int, list[str]] = {}
    if live:
        stmt = select(Order.customer_id, Order.external_id).where(Order.customer_id.in_([c.id for c in live]))
        for customer_id, external_id in session.execute(stmt):
            orders.setdefault(customer_id, []).append(external_id)
    params = [{"id": c.id, "terms": customer_vector(documents.customer_document(c, orders.get(c.id, [])))}
              for c in live]
    if params:
        session.execute(_UPSERT_CUSTOMER, params)
    gone = set(scanned_ids) - {c.id for c in live}
    if gone:
        session.execute(delete(schema.customers).where(schema.customers.c.customer_id.in_(gone)))
    return len(params)


def rebuild(progress: Optional[Callable[[int], None]] = None, batch: int = 2000) -> int:
    """Rewrite every row from the database, one committed batch at a time; rows written.

    Searches keep answering throughout (each row is replaced in place), and changes committed
    meanwhile are written by the hook as usual, so no lock is held for the whole run.
    """
    session = db.session
    count, last = 0, 0
    while True:
        customers = list(session.scalars(select(Customer).where(Customer.id > last).order_by(Customer.id)
                                         .limit(batch).options(selectinload(Customer.identities))))
        if not customers:
            break
        count += write_customers(session, customers, [c.id for c in customers])
        last = customers[-1].id
        session.commit()
        for customer in customers:  # keep memory flat (not expunge_all: the caller's objects stay)
            session.expunge(customer)
        if progress:
            progress(len(customers))
    last = 0
    while rows := documents.message_rows_after(last, batch):
        count += write_messages(session, rows)
        last = rows[-1].id
        session.commit()
        if progress:
            progress(len(rows))
    return count
