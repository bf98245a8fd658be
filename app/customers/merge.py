"""Customer merge, the careful way: likely duplicates, a side-by-side comparison, and undo.

`services.merge_customers` does the merge and records in its Event which rows moved and what
the survivor looked like before; `undo_merge` reads that Event and moves exactly those rows
back (only those still on the survivor), so a wrong merge costs nothing.

LINE chats start as customers of their own (a user id and a profile name), so the suggestions
look at LINE identities too: a LINE profile name equal to a customer's name or kana (either
way round), and an order number or phone number the customer wrote on LINE that belongs to
another customer.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update

from app import bus
from app.customers.services import MergeRefused, _primary_key, customer_tables
from app.i18n import N_
from app.extensions import db
from app.models import Agent, Customer, Event, Identity, Message, Order, utcnow

#: Why a customer is suggested as a duplicate, for the merge panel.
REASON_LABELS = {"name": _l("same name"), "kana": _l("same kana"), "identity_name": _l("same name in a mail or on X"),
                 "email_name": _l("same email name before the @"), "line_name": _l("same LINE profile name"),
                 "line_order": _l("order number written on LINE"), "line_phone": _l("phone number written on LINE")}
#: Tables whose row counts the comparison shows, in this order.
COMPARED = ("tickets", "messages", "orders", "subscriptions", "coupons")
_CHUNK = 500


def normalise_name(name: str) -> str:
    """NFKC, no spaces of any width, lower case: 「山田　花子」 == 「山田 花子」 == 「山田花子」."""
    text = unicodedata.normalize("NFKC", name or "")
    return "".join(text.split()).lower()


def _squeezed(column):
    """The column without ASCII and ideographic spaces, in SQL (both backends have replace())."""
    return func.lower(func.replace(func.replace(column, " ", ""), "\u3000", ""))


@dataclass
class Candidate:
    customer: Customer
    #: Why it looks like the same person: 'name', 'kana', 'identity_name', 'email_name', 'line_name',
    #: 'line_order', 'line_phone'.
    reasons: list[str] = field(default_factory=list)


def duplicate_candidates(customer: Customer, limit: int = 5) -> list[Candidate]:
    """Live customers that are probably the same person: the same name or kana (spaces ignored),
    a mail From / X display name equal to this name, or the same email name before the @."""
    found: dict[int, Candidate] = {}

    def add(rows, reason: str) -> None:
        for other in rows:
            if other.id != customer.id and other.merged_into_id is None:
                entry = found.setdefault(other.id, Candidate(other))
                if reason not in entry.reasons:
                    entry.reasons.append(reason)

    live = select(Customer).where(Customer.merged_into_id.is_(None), Customer.id != customer.id)
    name = normalise_name(customer.name)
    if len(name) >= 2:
        add(db.session.scalars(live.where(_squeezed(Customer.name) == name).limit(20)), "name")
        add(db.session.scalars(live.join(Identity, Identity.customer_id == Customer.id)
                               .where(Identity.kind != "line", _squeezed(Identity.name) == name).limit(20)),
            "identity_name")
    kana = normalise_name(customer.name_kana)
    if len(kana) >= 2:
        add(db.session.scalars(live.where(_squeezed(Customer.name_kana) == kana).limit(20)), "kana")
    _line_candidates(customer, live, name, kana, add)
    locals_ = {i.value.split("@")[0] for i in customer.identities if i.kind == "email" and "@" in i.value}
    locals_ = {part for part in locals_ if len(part) >= 5}  # "info", "mail" say nothing
    if locals_:
        add(db.session.scalars(live.join(Identity, Identity.customer_id == Customer.id).where(
            Identity.kind == "email", or_(*[Identity.value.like(f"{part}@%") for part in locals_])).limit(20)),
            "email_name")
    ranked = sorted(found.values(), key=lambda c: (-len(c.reasons), -c.customer.id))
    return ranked[:limit]


def katakana(text: str) -> str:
    """Hiragana as katakana (a LINE name 「やまだ はなこ」 reads like the kana 「ヤマダハナコ」)."""
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text)


def hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in text)


_ORDER_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{3,39}")


def _line_mentions(customer: Customer) -> tuple[set[str], set[str]]:
    """(order-number-like tokens, E.164 phone numbers) in the customer's recent LINE messages."""
    import phonenumbers

    texts = db.session.scalars(select(Message.body_text).where(
        Message.customer_id == customer.id, Message.channel == "line", Message.direction == "in")
        .order_by(Message.id.desc()).limit(50))
    tokens, phones = set(), set()
    for text in texts:
        text = unicodedata.normalize("NFKC", text or "")
        tokens.update(t for t in _ORDER_TOKEN.findall(text) if any(c.isdigit() for c in t))
        for match in phonenumbers.PhoneNumberMatcher(text, "JP"):
            phones.add(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))
    return set(list(tokens)[:100]), set(list(phones)[:20])


def _line_candidates(customer: Customer, live, name: str, kana: str, add) -> None:
    """LINE identities as candidates both ways, and what the customer wrote on LINE."""
    with_identity = live.join(Identity, Identity.customer_id == Customer.id)
    keys = {k for k in (name, katakana(kana), hiragana(kana)) if len(k) >= 2}
    if keys:  # other customers' LINE profile names equal to this name or kana
        add(db.session.scalars(with_identity.where(Identity.kind == "line",
                                                   _squeezed(Identity.name).in_(keys)).limit(20)), "line_name")
    lines = [i for i in customer.identities if i.kind == "line"]
    names = {normalise_name(i.name) for i in lines} - {""}
    names |= {katakana(n) for n in names}
    names = {n for n in names if len(n) >= 2}
    if names:  # customers named (or read) like this customer's LINE profile
        add(db.session.scalars(live.where(or_(_squeezed(Customer.name).in_(names),
                                              _squeezed(Customer.name_kana).in_(names))).limit(20)), "line_name")
    if not lines:
        return
    tokens, phones = _line_mentions(customer)
    if tokens:
        add(db.session.scalars(live.join(Order, Order.customer_id == Customer.id)
                               .where(Order.external_id.in_(tokens | {t.upper() for t in tokens})).limit(20)),
            "line_order")
    if phones:
        add(db.session.scalars(with_identity.where(Identity.kind == "phone", Identity.value.in_(phones)).limit(20)),
            "line_phone")


@dataclass
class Side:
    customer: Customer
    counts: dict[str, int]


def compare(source: Customer, target: Customer) -> tuple[Side, Side]:
    """Both customers with their identities and how many tickets, messages, orders… each has."""
    tables = {t.name: t for t in customer_tables()}

    def side(customer: Customer) -> Side:
        counts = {}
        for name in COMPARED:
            table = tables.get(name)
            if table is not None:
                counts[name] = db.session.scalar(select(func.count()).select_from(table)
                                                 .where(table.c.customer_id == customer.id)) or 0
        return Side(customer, counts)

    return side(source), side(target)


def undoable_merges(customer: Customer) -> list[Event]:
    """Merges into `customer` that can still be undone, newest first."""
    events = db.session.scalars(select(Event).where(Event.customer_id == customer.id,
                                                    Event.kind == "customer.merged")
                                .order_by(Event.id.desc()).limit(20))
    # Events of merges into a customer that was itself merged here later moved along; skip them.
    return [e for e in events if "moved_ids" in (e.data or {}) and not e.data.get("undone")
            and e.data.get("target") == customer.id]


def undo_merge(agent: Agent, event_id: int, customer_id: Optional[int] = None) -> tuple[int, int]:
    """Reverse the merge recorded in Event `event_id`; returns (restored source id, target id).

    Rows that moved are moved back if they are still on the survivor; the survivor's name, kana
    and note go back to what they were unless someone edited them since.
    """
    event = db.session.get(Event, event_id)
    data = dict(event.data or {}) if event is not None else {}
    if (event is None or event.kind != "customer.merged" or "moved_ids" not in data
            or (customer_id is not None and event.customer_id != customer_id)):
        raise MergeRefused(N_("This merge cannot be undone."))
    if data.get("undone"):
        raise MergeRefused(N_("This merge was already undone."))
    source, target = db.session.get(Customer, data["source"]), db.session.get(Customer, data["target"])
    if source is None or target is None or source.merged_into_id != target.id or target.merged_into_id:
        raise MergeRefused(N_("This merge cannot be undone: the customers were merged again since."))
    tables = {t.name: t for t in customer_tables()}
    for name, ids in data["moved_ids"].items():
        table = tables.get(name)
        key = _primary_key(table) if table is not None else None
        for start in range(0, len(ids), _CHUNK):
            db.session.execute(update(table).where(key.in_(ids[start:start + _CHUNK]),
                                                   table.c.customer_id == target.id)
                               .values(customer_id=source.id))
    tombstones = data.get("tombstones") or []
    if tombstones:
        db.session.execute(update(Customer).where(Customer.id.in_(tombstones), Customer.merged_into_id == target.id)
                           .values(merged_into_id=source.id), execution_options={"synchronize_session": False})
    before, after = data.get("before") or {}, data.get("after") or {}
    for attr in ("name", "name_kana", "note"):
        if attr in before and getattr(target, attr) == after.get(attr):
            setattr(target, attr, before[attr])
    source_external = before.get("source_external_id")
    if source_external and target.external_id == source_external:
        target.external_id = before.get("external_id")
        db.session.flush()  # unique: free it before the source takes it back
        source.external_id = source_external
    source_id, target_id = source.id, target.id
    source.merged_into_id = None
    source.updated_at = target.updated_at = utcnow()
    event.data = {**data, "undone": True, "undone_by": agent.id, "undone_at": utcnow().isoformat()}
    for customer in (target_id, source_id):
        db.session.add(Event(customer_id=customer, kind="customer.unmerged", actor_id=agent.id,
                             data={"source": source_id, "target": target_id, "merge_event": event.id}))
    db.session.commit()
    db.session.expire_all()
    for restored in (source_id, target_id):
        bus.publish("customer.updated", customer_id=restored)
    return source_id, target_id
