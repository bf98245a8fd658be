"""Search documents built from the database: customers and messages (with their ticket).

A customer document carries every spelling an agent may type: names with and without spaces,
kana, emails, phone numbers in every format, X handles, order numbers. A message document
carries its ticket's status, team and assignee, which authorisation filters on.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, NamedTuple, Optional
from zoneinfo import ZoneInfo

import phonenumbers
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Customer, Identity, Message, Order, Ticket
from app.search.index import customer_doc_id, message_doc_id

def _epoch(value: Optional[datetime]) -> int:
    return int(value.timestamp()) if value else 0


def local_day(value: Optional[datetime]) -> int:
    """The day number of `value` in the shop's time zone (what date filters compare)."""
    if value is None:
        return 0
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date().toordinal()


def phone_terms(e164: str) -> list[str]:
    """Every form a phone number is typed in, as index terms.

    +81 90-1234-5678 gives 819012345678 (E.164 digits), 09012345678 and 090-1234-5678 (national,
    without and with hyphens), and every tail of at least four national digits, so a query's
    digits (whatever the separators) match exactly, by prefix, or by the last digits.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        digits = "".join(ch for ch in e164 if ch.isdigit())
        return [digits] if digits else []
    e164_digits = e164.lstrip("+")
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    national_digits = "".join(ch for ch in national if ch.isdigit())
    terms = {e164_digits, national_digits, national.replace(" ", "-")}
    terms.update(national_digits[i:] for i in range(1, len(national_digits) - 3))
    return sorted(t for t in terms if t)


def _no_spaces(value: str) -> str:
    return value.replace(" ", "").replace("\u3000", "")


def customer_document(customer: Customer | CustomerRow, order_ids: Iterable[str]) -> dict[str, Any]:
    names, idtext, emails, phones, handles = [], [], [], [], []
    for value in (customer.name, customer.name_kana):
        if value:
            names.extend([value, _no_spaces(value)])
    for identity in customer.identities:
        if identity.name:
            names.append(identity.name)
        if identity.kind == "email":
            emails.append(identity.value)
            idtext.append(identity.value)
        elif identity.kind == "phone":
            phones.extend(phone_terms(identity.value))
            idtext.append(identity.display or identity.value)
        elif identity.kind == "x":
            handle = (identity.display or "").lstrip("@")
            if handle:
                handles.append(handle)
                idtext.append(handle)
    orders = [o for o in order_ids if o]
    if customer.external_id:
        orders.append(customer.external_id)
    idtext.extend(orders)
    return {
        "doc_id": customer_doc_id(customer.id), "kind": "customer", "obj_id": customer.id,
        "names": "\n".join(dict.fromkeys(names)), "idtext": "\n".join(idtext),
        "email": " ".join(emails), "phone": " ".join(phones), "xhandle": " ".join(handles),
        "orders": " ".join(o.replace(" ", "") for o in orders), "created": _epoch(customer.created_at),
    }


class MessageRow(NamedTuple):
    """The columns a message document is built from (a plain row: fast to load in bulk)."""

    id: int
    ticket_id: int
    subject: str
    body_text: str
    sender: str
    channel: str
    direction: str
    created_at: datetime
    ticket_subject: str
    status: str
    assignee_id: Optional[int]
    team_id: Optional[int]


class IdentityRow(NamedTuple):
    kind: str
    value: str
    display: str
    name: str


class CustomerRow(NamedTuple):
    """What a customer document is built from (the ORM Customer has the same attributes)."""

    id: int
    name: str
    name_kana: str
    external_id: Optional[str]
    created_at: datetime
    merged_into_id: Optional[int]
    identities: list[IdentityRow]


MESSAGE_COLUMNS = (Message.id, Message.ticket_id, Message.subject, Message.body_text, Message.sender,
                   Message.channel, Message.direction, Message.created_at, Ticket.subject,
                   Ticket.status, Ticket.assignee_id, Ticket.team_id)


def message_document(row: MessageRow) -> dict[str, Any]:
    subject = row.subject or ""
    if row.ticket_subject and row.ticket_subject not in subject:
        subject = f"{subject}\n{row.ticket_subject}" if subject else row.ticket_subject
    return {
        "doc_id": message_doc_id(row.id), "kind": "message", "obj_id": row.id,
        "ticket_id": row.ticket_id, "subject": subject, "body": row.body_text or "",
        "sender": row.sender or "", "channel": row.channel, "direction": row.direction,
        "status": row.status, "assignee": str(row.assignee_id or "none"),
        "team": str(row.team_id or "none"), "created": _epoch(row.created_at),
        "day": local_day(row.created_at),
    }


def load_messages(ids: Iterable[int]) -> list[MessageRow]:
    ids = list(ids)
    if not ids:
        return []
    stmt = select(*MESSAGE_COLUMNS).join(Ticket, Ticket.id == Message.ticket_id).where(Message.id.in_(ids))
    return [MessageRow(*row) for row in db.session.execute(stmt)]


def message_rows_after(last_id: int, limit: int, conn=None) -> list[MessageRow]:
    """The next `limit` messages by id (for backfill and rebuild); `conn` defaults to the session."""
    stmt = (select(*MESSAGE_COLUMNS).join(Ticket, Ticket.id == Message.ticket_id)
            .where(Message.id > last_id).order_by(Message.id).limit(limit))
    return [MessageRow(*row) for row in (conn or db.session).execute(stmt)]


CUSTOMER_COLUMNS = (Customer.id, Customer.name, Customer.name_kana, Customer.external_id,
                    Customer.created_at, Customer.merged_into_id)


def load_customers(ids: Iterable[int]) -> list[dict[str, Any]]:
    """Documents of the live (not merged) customers among `ids`."""
    ids = sorted(set(ids))
    if not ids:
        return []
    rows = db.session.execute(select(*CUSTOMER_COLUMNS).where(Customer.id.in_(ids)).order_by(Customer.id))
    return _docs_for(list(rows), db.session)


def customer_docs_after(last_id: int, limit: int, conn=None) -> tuple[list[dict[str, Any]], int, int]:
    """(documents, last id seen, customers scanned) for the next `limit` customers by id."""
    conn = conn or db.session
    stmt = select(*CUSTOMER_COLUMNS).where(Customer.id > last_id).order_by(Customer.id).limit(limit)
    rows = list(conn.execute(stmt))
    return _docs_for(rows, conn), (rows[-1].id if rows else last_id), len(rows)


def _docs_for(rows: list, conn) -> list[dict[str, Any]]:
    """Documents of the live customers among `rows` (CUSTOMER_COLUMNS), with identities and orders
    read in one query each."""
    live = [row for row in rows if row.merged_into_id is None]
    if not live:
        return []
    ids = [row.id for row in live]
    identities: dict[int, list[IdentityRow]] = {}
    stmt = (select(Identity.customer_id, Identity.kind, Identity.value, Identity.display, Identity.name)
            .where(Identity.customer_id.in_(ids)).order_by(Identity.id))
    for customer_id, *fields in conn.execute(stmt):
        identities.setdefault(customer_id, []).append(IdentityRow(*fields))
    orders: dict[int, list[str]] = {}
    stmt = select(Order.customer_id, Order.external_id).where(Order.customer_id.in_(ids))
    for customer_id, external_id in conn.execute(stmt):
        orders.setdefault(customer_id, []).append(external_id)
    return [customer_document(CustomerRow(*row, identities.get(row.id, [])), orders.get(row.id, []))
            for row in live]
