"""Macro use cases: list for the picker, render for a ticket, create/update/delete, demo seed.

Rendering fills known `{variable}` placeholders only (never str.format: a macro body is data, not
code); unknown placeholders stay as typed so a supervisor sees the mistake.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Callable, Optional

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Agent, Coupon, Macro, Order, Subscription, Ticket

VARIABLES = ("customer_name", "product", "next_shipment_date", "ticket_number", "coupon_code",
             "agent_name")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(VARIABLES) + r")\}")


def picker_macros(language: Optional[str] = None) -> list[Macro]:
    query = select(Macro).where(Macro.active.is_(True)).order_by(Macro.language, Macro.title)
    if language:
        query = query.where(Macro.language == language)
    return list(db.session.scalars(query))


def all_macros() -> list[Macro]:
    return list(db.session.scalars(select(Macro).order_by(Macro.language, Macro.title)))


def _subscription(customer_id: int) -> Optional[Subscription]:
    return db.session.scalars(
        select(Subscription).where(Subscription.customer_id == customer_id)
        .order_by((Subscription.status == "active").desc(), Subscription.next_ship_date.desc(),
                  Subscription.id.desc()).limit(1)).first()


def _product(customer_id: int) -> str:
    sub = _subscription(customer_id)
    if sub is not None and sub.product is not None:
        return sub.product.name
    order = db.session.scalars(select(Order).where(Order.customer_id == customer_id)
                               .order_by(Order.ordered_at.desc()).limit(1)).first()
    if order is not None and order.lines:
        return order.lines[0].name or (order.lines[0].product.name if order.lines[0].product else "")
    return ""


def _format_date(value: Optional[date], language: str) -> str:
    if value is None:
        return ""
    return f"{value.year}年{value.month}月{value.day}日" if language == "ja" else value.strftime("%B %-d, %Y")


def _coupon_code(ticket: Ticket) -> str:
    helper = current_app.jinja_env.globals.get("coupon_code_for")
    if helper is not None:  # the coupons feature: the ticket's newest usable code
        code = helper(ticket)
        if code:
            return code
    coupon = db.session.scalars(select(Coupon).where(Coupon.customer_id == ticket.customer_id)
                                .order_by(Coupon.id.desc()).limit(1)).first()
    return getattr(coupon, "code", "") or ""


def variables(ticket: Ticket, agent: Agent, language: str) -> dict[str, Callable[[], str]]:
    """Lazily computed values: only the placeholders a macro uses cost a query."""
    customer = ticket.customer

    def name() -> str:
        display = (customer.name or customer.display_name or "").strip()
        if language == "ja":
            return f"{display} 様" if display else "お客様"
        return display or "customer"

    return {
        "customer_name": name,
        "product": lambda: _product(customer.id),
        "next_shipment_date": lambda: _format_date(
            getattr(_subscription(customer.id), "next_ship_date", None), language),
        "ticket_number": lambda: str(ticket.id),
        "coupon_code": lambda: _coupon_code(ticket),
        "agent_name": lambda: agent.name,
    }


#: Variables whose empty value would promise something that is not there (「」 for a coupon): they
#: stay as typed, and a reply still containing them is refused.
KEEP_WHEN_EMPTY = ("coupon_code",)


def unfilled(text: str) -> list[str]:
    """KEEP_WHEN_EMPTY placeholders still in `text` (a reply about to be sent)."""
    return [k for k in dict.fromkeys(_PLACEHOLDER.findall(text or "")) if k in KEEP_WHEN_EMPTY]


def render(macro: Macro, ticket: Ticket, agent: Agent) -> str:
    return render_checked(macro, ticket, agent)[0]


def render_checked(macro: Macro, ticket: Ticket, agent: Agent) -> tuple[str, list[str]]:
    """(text, KEEP_WHEN_EMPTY variables with no value for this ticket). Such a variable stays as
    typed (`{coupon_code}`), never an empty 「」 the customer would receive: the agent sees it in
    the composer and fills it in or removes the sentence. Others without a value read as empty."""
    values = variables(ticket, agent, macro.language)
    cache: dict[str, str] = {}
    missing: list[str] = []

    def fill(match: re.Match) -> str:
        key = match.group(1)
        if key not in cache:
            cache[key] = values[key]()
            if not cache[key] and key in KEEP_WHEN_EMPTY and key not in missing:
                missing.append(key)
        return cache[key] or (match.group(0) if key in KEEP_WHEN_EMPTY else "")

    return _PLACEHOLDER.sub(fill, macro.body), missing


def save_macro(macro: Optional[Macro], agent: Agent, *, title: str, language: str, body: str,
               active: bool = True) -> Macro:
    if macro is None:
        macro = Macro(created_by_id=agent.id)
        db.session.add(macro)
    macro.title, macro.language, macro.body, macro.active = title.strip(), language, body, active
    db.session.commit()
    return macro


def delete_macro(macro: Macro) -> None:
    db.session.delete(macro)
    db.session.commit()


DEMO_MACROS = [
    ("お問い合わせのお礼", "ja", "{customer_name}\n\nいつも{product}をご愛用いただきありがとうございます。\n"
     "カスタマーサポートの{agent_name}でございます。\n\n（お問い合わせ番号: {ticket_number}）"),
    ("次回お届け日のご案内", "ja", "{customer_name}\n\n{product}の次回お届け予定日は{next_shipment_date}です。\n"
     "変更をご希望の場合は、お届け日の5日前までにご連絡ください。\n\n{agent_name}"),
    ("クーポンのご案内", "ja", "{customer_name}\n\nご迷惑をおかけしたお詫びとして、次回ご注文でお使いいただける"
     "クーポンコード「{coupon_code}」をご用意いたしました。\n\n{agent_name}"),
    ("Thank you", "en", "Dear {customer_name},\n\nThank you for contacting us about {product}. "
     "Your ticket number is {ticket_number}.\n\nBest regards,\n{agent_name}"),
    ("Next shipment", "en", "Dear {customer_name},\n\nYour next {product} shipment is scheduled for "
     "{next_shipment_date}.\n\nBest regards,\n{agent_name}"),
]


def seed_demo_macros() -> int:
    """A few macros for the demo (idempotent by title); also loads the reply-check starter list."""
    from app.macros.checks import seed_starter_terms

    existing = set(db.session.scalars(select(Macro.title)))
    added = 0
    for title, language, body in DEMO_MACROS:
        if title not in existing:
            db.session.add(Macro(title=title, language=language, body=body))
            added += 1
    db.session.commit()
    seed_starter_terms()
    return added
