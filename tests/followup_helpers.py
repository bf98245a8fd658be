"""Builders for the follow-up tests: customers with orders, subscriptions and plans."""
from __future__ import annotations

import itertools
from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.extensions import db
from app.followup import services
from app.models import Customer, Identity, Order, OrderLine, Product, Subscription

JST = ZoneInfo("Asia/Tokyo")
_seq = itertools.count(1)


def jst(day: date, hour: int = 11) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=JST)


def product(name: str = "発酵黒酢ドリンク") -> Product:
    item = Product(external_id=f"p-{next(_seq)}", name=name, variant="30包", price=3980)
    db.session.add(item)
    db.session.commit()
    return item


def buyer(name: str, ordered: list[date], *, item: Product | None = None, status: str = "delivered",
          email: str | None = None) -> Customer:
    """A customer with one order per date (the last one `status`, earlier ones delivered)."""
    customer = Customer(name=name)
    db.session.add(customer)
    db.session.flush()
    db.session.add(Identity(customer_id=customer.id, kind="email",
                            value=email or f"buyer{next(_seq)}@kaimono.example"))
    item = item or product()
    for i, day in enumerate(ordered):
        order = Order(external_id=f"o-{next(_seq)}", customer_id=customer.id, ordered_at=jst(day),
                      status=status if i == len(ordered) - 1 else "delivered", total=item.price)
        order.lines.append(OrderLine(product_id=item.id, name=item.name, quantity=1, unit_price=item.price))
        db.session.add(order)
    db.session.commit()
    return customer


def subscribe(customer: Customer, item: Product, *, status: str = "active", next_ship: date | None = None,
              deliveries: int = 1, last_ship: date | None = None, started: date | None = None) -> Subscription:
    sub = Subscription(external_id=f"s-{next(_seq)}", customer_id=customer.id, product_id=item.id,
                       status=status, next_ship_date=next_ship, deliveries=deliveries, last_ship_date=last_ship,
                       started_on=started)
    db.session.add(sub)
    db.session.commit()
    return sub


def plan_with(supervisor, trigger: str, steps: list[dict], **kwargs):
    plan = services.save_plan(None, supervisor, name_ja=kwargs.pop("name_ja", "初回購入ケア"),
                              name_en=kwargs.pop("name_en", "First-purchase care"), trigger=trigger, **kwargs)
    for spec in steps:
        services.save_step(plan, None, **{"kind": "email", "purpose": "transactional", "offer": False,
                                          "language": "ja", "subject": "", "body": "", **spec})
    return plan
