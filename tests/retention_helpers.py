"""Helpers shared by the retention and commerce tests: products, subscriptions, a plain app."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from app.extensions import db
from app.models import Product, Subscription

_seq = itertools.count(1)


def make_product(name: str = "酵素青汁", variant: str = "30包", family: str = "aojiru", price: int = 4200,
                 subscription_price: int | None = 3780, active: bool = True) -> Product:
    n = next(_seq)
    product = Product(external_id=f"P-{n}", sku=f"SKU-{n}", name=name, variant=variant, family=family,
                      price=price, subscription_price=subscription_price, active=active)
    db.session.add(product)
    db.session.flush()
    return product


def make_subscription(customer_id: int, product: Product, *, next_ship: date, cycle: int = 30, quantity: int = 1,
                      deliveries: int = 4, status: str = "active", last_ship: date | None = None,
                      paused_until: date | None = None, price: int | None = None) -> Subscription:
    sub = Subscription(external_id=f"S-{next(_seq)}", customer_id=customer_id, product_id=product.id,
                       status=status, cycle_days=cycle, quantity=quantity,
                       price=price if price is not None else (product.subscription_price or product.price) * quantity,
                       next_ship_date=next_ship, last_ship_date=last_ship or next_ship - timedelta(days=cycle),
                       deliveries=deliveries, paused_until=paused_until)
    db.session.add(sub)
    db.session.commit()
    return sub


@pytest.fixture(scope="module")
def plain_app():
    """An app context without a database, for the pure rules (translations need an app)."""
    from app import create_app
    from config import TestingConfig

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    with app.test_request_context():
        yield app


@pytest.fixture
def req(app):
    """A request context: agent-facing messages are translated lazily, per request locale."""
    with app.test_request_context():
        yield app
