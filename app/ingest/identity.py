"""Identity normalisation and lookup: how any channel finds its customer.

This is the one place that normalises emails, phone numbers and X ids; other modules call it.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from email.utils import parseaddr

import phonenumbers
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Customer, Identity


class InvalidIdentity(ValueError):
    """The value cannot be an identity of that kind."""


_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def normalise_email(value: str) -> str:
    value = unicodedata.normalize("NFKC", value or "").strip().strip("<>").lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise InvalidIdentity(f"not an email address: {value!r}")
    return value


def normalise_phone(value: str, region: str = "JP") -> str:
    """E.164 form; JP is the default region, full-width digits and hyphens are accepted."""
    text = unicodedata.normalize("NFKC", value or "").strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentity(f"not a phone number: {value!r}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentity(f"not a phone number: {value!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone_national(e164: str) -> str:
    """The number as a Japanese agent reads it (090-1234-5678); international numbers as +.."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 81
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, fmt)


def normalise_x(value: str) -> str:
    """X identities are the numeric user id (handles change; ids do not)."""
    value = (value or "").strip()
    if not value.isdigit():
        raise InvalidIdentity(f"not a numeric X user id: {value!r}")
    return value


_LINE_ID = re.compile(r"^[UCR][0-9a-f]{32}$")


def normalise_line(value: str) -> str:
    """A LINE user (U…), group (C…) or room (R…) id: a letter and 32 hex digits."""
    value = (value or "").strip()
    if not _LINE_ID.match(value):
        raise InvalidIdentity(f"not a LINE user id: {value!r}")
    return value


NORMALISERS = {"email": normalise_email, "phone": normalise_phone, "x": normalise_x, "line": normalise_line}


def normalise(kind: str, value: str) -> str:
    try:
        return NORMALISERS[kind](value)
    except KeyError:
        raise InvalidIdentity(f"unknown identity kind: {kind!r}") from None


@dataclass(frozen=True)
class Sender:
    """Who a message is from, as the channel knows them."""

    kind: str  #: email | phone | x
    value: str  #: raw value; normalised by `normalised()`
    name: str = ""  #: From name, X display name
    display: str = ""  #: X handle, number as typed

    def normalised(self) -> str:
        return normalise(self.kind, self.value)


def is_placeholder(kind: str, value: str) -> bool:
    """Whether `value` is a stand-in a channel used for a sender it could not read (an address
    under the reserved .invalid domain): never a person, never someone to write to."""
    return kind == "email" and (value or "").rstrip(">").lower().endswith(".invalid")


def own_addresses() -> set[str]:
    """Our own email addresses: MAIL_FROM, IMAP_USER and every configured mailbox's login, when
    those are addresses (normalised)."""
    from app.channels.email.imap import mailboxes

    config = current_app.config
    candidates = [parseaddr(config.get("MAIL_FROM") or "")[1], config.get("IMAP_USER") or ""]
    try:
        candidates += [box.user for box in mailboxes(config)]
    except (ValueError, TypeError, KeyError):  # a half-configured mailbox list names no address
        pass
    found = set()
    for value in candidates:
        try:
            found.add(normalise_email(value))
        except InvalidIdentity:
            continue
    return found


def find_identity(kind: str, value: str) -> Identity | None:
    return db.session.scalar(select(Identity).where(Identity.kind == kind, Identity.value == value))


def resolve_customer(sender: Sender, lookups=None) -> tuple[Customer, bool]:
    """Find the sender's customer by identity, creating customer and identity when none matches.

    Returns (customer, created). Does not commit: the caller owns the transaction. Without
    `lookups` it flushes (the new customer has its id); with the batch's `lookups`
    (app.ingest.lookups) it does not: the new rows go in with the batch's one flush.
    A concurrent creation of the same identity surfaces as an IntegrityError at flush, which the
    ingest path retries. A placeholder sender (is_placeholder) always gets a new customer.
    """
    value = sender.normalised()
    if is_placeholder(sender.kind, value):
        # The channel could not read who sent it: a customer of its own, with no identity, so no
        # two unknown senders are ever merged and nobody can be written to at a made-up address.
        customer = Customer(name=sender.name or "")
        db.session.add(customer)
        if lookups is None or not lookups.batch:
            db.session.flush()
        return customer, True
    identity = lookups.identity(sender.kind, value) if lookups is not None else find_identity(sender.kind, value)
    if identity is not None:
        customer = identity.customer
        while customer.merged_into_id:  # follow merges to the surviving customer
            customer = db.session.get(Customer, customer.merged_into_id)
        if sender.name and identity.name != sender.name:
            identity.name = sender.name
        if sender.display and identity.display != sender.display:
            identity.display = sender.display
        return customer, False
    customer = Customer(name=sender.name or "")
    display = sender.display or (format_phone_national(value) if sender.kind == "phone" else value)
    identity = Identity(customer=customer, kind=sender.kind, value=value, display=display, name=sender.name or "")
    db.session.add(customer)
    db.session.add(identity)
    if lookups is not None and lookups.batch:
        lookups.add_identity(identity)
    else:
        db.session.flush()
    return customer, True
