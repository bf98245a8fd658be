"""What a follow-up mail says: the step's text with the customer's values, the sender's details
(特定電子メール法) and, for advertising, the one-click unsubscribe link and its RFC 8058 headers.

Placeholders are filled by name only (a step body is data, never code); unknown ones stay as typed.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Optional

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale, gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from app.macros.services import _format_date, _product, _subscription
from app.models import Customer, FollowupStep

VARIABLES = ("customer_name", "product", "next_shipment_date", "days_left")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(VARIABLES) + r")\}")
SALT = "followup-unsubscribe"
#: Days a one-off purchase lasts when the product says nothing (a month's supply is the norm).
DEFAULT_SUPPLY_DAYS = 30


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(customer_id: int) -> str:
    """A token naming the customer; it never expires (an old mail's link must still work)."""
    return _serializer().dumps({"c": customer_id})


def customer_id_from(token: str) -> Optional[int]:
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    value = data.get("c") if isinstance(data, dict) else None
    return value if isinstance(value, int) else None


def unsubscribe_url(customer_id: int) -> str:
    """The one-click unsubscribe address (PUBLIC_BASE_URL when set: the worker has no request)."""
    token = make_token(customer_id)
    base = current_app.config.get("PUBLIC_BASE_URL")

    def build() -> str:
        if base:
            return base.rstrip("/") + url_for("followup.unsubscribe", token=token)
        return url_for("followup.unsubscribe", token=token, _external=True)

    if has_request_context():
        return build()
    with current_app.test_request_context():
        return build()


def days_left(customer_id: int, today: date) -> str:
    sub = _subscription(customer_id)
    if sub is not None and sub.status == "active" and sub.next_ship_date:
        return str(max((sub.next_ship_date - today).days, 0))
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Order
    from app.sla.business_time import default_calendar

    last = db.session.scalar(select(func.max(Order.ordered_at)).where(Order.customer_id == customer_id))
    if last is None:
        return ""
    used = (today - default_calendar().local_date(last)).days
    return str(max(DEFAULT_SUPPLY_DAYS - used, 0))


def fill(text: str, customer: Customer, language: str, today: date) -> str:
    def name() -> str:
        display = (customer.name or customer.display_name or "").strip()
        if language == "ja":
            return f"{display} 様" if display else "お客様"
        return display or "customer"

    values = {
        "customer_name": name,
        "product": lambda: _product(customer.id),
        "next_shipment_date": lambda: _format_date(getattr(_subscription(customer.id), "next_ship_date", None),
                                                   language),
        "days_left": lambda: days_left(customer.id, today),
    }
    cache: dict[str, str] = {}

    def one(match: re.Match) -> str:
        key = match.group(1)
        if key not in cache:
            cache[key] = values[key]()
        return cache[key]

    return _PLACEHOLDER.sub(one, text)


def sender_footer(language: str) -> str:
    """The sender's name, address and contact (特定電子メール法 第4条), from config."""
    config = current_app.config
    with force_locale(language):
        lines = ["", "――――――――――――――――",
                 _("Sender: %(name)s", name=config.get("SHOP_NAME") or config.get("MAIL_FROM_NAME") or ""),
                 _("Address: %(address)s", address=config.get("SHOP_ADDRESS") or ""),
                 _("Contact: %(contact)s", contact=config.get("SHOP_CONTACT") or config.get("MAIL_FROM") or "")]
    return "\n".join(lines)


def unsubscribe_footer(language: str, url: str) -> str:
    with force_locale(language):
        return _("To stop these mails, open: %(url)s", url=url)


def compose(step: FollowupStep, customer: Customer, today: date) -> tuple[str, str, dict]:
    """(subject, body, message meta) for `step` sent to `customer`."""
    subject = fill(step.subject, customer, step.language, today)
    body = fill(step.body, customer, step.language, today).rstrip()
    meta: dict = {"kind": "followup", "followup_step_id": step.id, "purpose": step.purpose}
    if step.purpose == "advertising":
        url = unsubscribe_url(customer.id)
        body += "\n\n" + unsubscribe_footer(step.language, url)
        meta["extra_headers"] = {"List-Unsubscribe": f"<{url}>",
                                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    body += "\n" + sender_footer(step.language)
    return subject, body, meta
