"""customer_summary(): subscriptions, recent orders, purchase count, LTV, first purchase, segment."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import event

from app.commerce.services import customer_summary, segment_for
from app.extensions import db
from app.models import Order, OrderLine, Product, Subscription
from tests.factories import make_customer


def _product(n: int, variant: str = "30包") -> Product:
    product = Product(external_id=f"prod-{n}", name="酵素ドリンク", variant=variant, price=4200)
    db.session.add(product)
    db.session.flush()
    return product


def _order(customer_id: int, n: int, day: int, total: int, status: str = "delivered", product=None) -> Order:
    order = Order(external_id=f"ord-{customer_id}-{n}", customer_id=customer_id, total=total, status=status,
                  ordered_at=datetime(2030, 3, day, 1, 0, tzinfo=timezone.utc))
    order.lines = [OrderLine(product_id=product.id if product else None, name="" if product else f"商品{n}",
                             quantity=1, unit_price=total)]
    db.session.add(order)
    return order


def test_empty_customer_has_no_segment(app):
    customer = make_customer()
    summary = customer_summary(customer.id)
    assert summary.purchase_count == 0 and summary.ltv == 0 and summary.segment is None
    assert summary.first_purchase_at is None and summary.recent_orders == [] and summary.subscriptions == []


def test_summary_counts_purchases_and_ignores_cancelled_orders(app):
    customer = make_customer()
    other = make_customer("他人")
    product = _product(1)
    _order(customer.id, 1, 2, 3000, product=product)
    _order(customer.id, 2, 10, 5000)
    _order(customer.id, 3, 20, 9999, status="cancelled")
    _order(customer.id, 4, 25, 1111, status="returned")
    _order(other.id, 5, 1, 100000)
    db.session.commit()
    summary = customer_summary(customer.id)
    assert summary.purchase_count == 2
    assert summary.ltv == 8000
    assert summary.first_purchase_at == datetime(2030, 3, 2, 1, 0, tzinfo=timezone.utc)
    assert summary.first_purchase_at.tzinfo is not None
    assert summary.last_purchase_at == datetime(2030, 3, 10, 1, 0, tzinfo=timezone.utc)
    assert summary.segment == "second"
    # Recent orders include cancelled ones (agents need to see them), newest first, lines loaded.
    assert [o.total for o in summary.recent_orders] == [1111, 9999, 5000, 3000]
    assert summary.recent_orders[-1].lines[0].product.label == "酵素ドリンク 30包"


def test_recent_orders_are_limited_by_config(app):
    app.config["SIDEBAR_RECENT_ORDERS"] = 2
    customer = make_customer()
    for n in range(4):
        _order(customer.id, n, n + 1, 1000)
    db.session.commit()
    summary = customer_summary(customer.id)
    assert len(summary.recent_orders) == 2 and summary.purchase_count == 4 and summary.segment == "loyal"


def test_segments_follow_config_thresholds(app):
    assert [segment_for(n) for n in range(5)] == [None, "new", "second", "loyal", "loyal"]
    app.config["SEGMENT_LOYAL_MIN_ORDERS"] = 5
    assert [segment_for(n) for n in range(6)] == [None, "new", "second", "second", "second", "loyal"]


def test_subscriptions_active_first_with_products(app):
    customer = make_customer()
    p1, p2, p3 = _product(1), _product(2, "60包"), _product(3, "しっとり")
    db.session.add_all([
        Subscription(external_id="s-c", customer_id=customer.id, product_id=p1.id, status="cancelled",
                     cancelled_at=datetime(2030, 1, 1, tzinfo=timezone.utc)),
        Subscription(external_id="s-p", customer_id=customer.id, product_id=p2.id, status="paused",
                     paused_until=date(2030, 6, 1)),
        Subscription(external_id="s-a", customer_id=customer.id, product_id=p3.id, status="active",
                     cycle_days=60, deliveries=7, next_ship_date=date(2030, 4, 1)),
    ])
    db.session.commit()
    summary = customer_summary(customer.id)
    assert [s.status for s in summary.subscriptions] == ["active", "paused", "cancelled"]
    assert [s.product.label for s in summary.active_subscriptions] == ["酵素ドリンク しっとり"]


def test_summary_takes_a_fixed_number_of_queries(app):
    customer = make_customer()
    product = _product(1)
    for n in range(5):
        _order(customer.id, n, n + 1, 1000, product=product)
        db.session.add(Subscription(external_id=f"s{n}", customer_id=customer.id, product_id=product.id))
    db.session.commit()
    customer_id = customer.id
    db.session.expire_all()
    statements = []

    def before(conn, cursor, statement, *args):  # noqa: ANN001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        summary = customer_summary(customer_id)
        [line.product for order in summary.recent_orders for line in order.lines]
        [s.product for s in summary.subscriptions]
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert len(statements) <= 6, statements
