"""Coupon report helpers: spend per agent and month, approval, redemption and repeat rates."""
from __future__ import annotations

from datetime import timedelta

from app.coupons import reports, services
from app.extensions import db
from app.models import Order, utcnow
from tests.coupon_helpers import coupon_input, ticket_for_new_customer
from tests.factories import make_agent, make_customer


def _order(customer_id, when, code=None, status="delivered"):
    order = Order(external_id=f"o-{customer_id}-{when.timestamp()}", customer_id=customer_id,
                  ordered_at=when, total=3000, status=status, coupon_code=code)
    db.session.add(order)
    db.session.commit()
    return order


def test_report_figures(app, agent, supervisor):
    now = utcnow()
    start, end = now - timedelta(days=40), now + timedelta(days=40)
    other = make_agent("agent", name="担当 二郎")
    c1 = services.issue(agent, ticket_for_new_customer(), coupon_input(value=500))
    services.issue(agent, ticket_for_new_customer(), coupon_input("percent", 10))
    services.issue(other, ticket_for_new_customer(), coupon_input(value=300))
    r1 = services.issue(agent, ticket_for_new_customer(), coupon_input(value=3000))
    r2 = services.issue(agent, ticket_for_new_customer(), coupon_input(value=4000))
    services.decide(supervisor, r1.id, True)
    services.decide(supervisor, r2.id, False, "高すぎます")

    spend = {s.agent_id: s for s in reports.spend_per_agent_month(start, end)}
    assert spend[agent.id].yen == 3500 and spend[agent.id].count == 3
    assert spend[agent.id].percent_count == 1 and spend[agent.id].month == services.budget_month(now)
    assert spend[other.id].yen == 300

    assert reports.approval_rate(start, end) == {"approved": 1, "refused": 1, "rate": 0.5}

    # c1's customer orders again with the code; nobody else redeems.
    services.redeem(c1.code, _order(c1.customer_id, now + timedelta(days=2), c1.code).id)
    db.session.commit()
    assert reports.redemption_rate(start, end) == {"issued": 4, "redeemed": 1, "rate": 0.25}

    # Without a coupon: one customer orders twice, another once (plus a cancelled order).
    loyal, once = make_customer("佐藤 一郎"), make_customer("鈴木 次郎")
    _order(loyal.id, now - timedelta(days=10))
    _order(loyal.id, now - timedelta(days=1))
    _order(once.id, now - timedelta(days=5))
    _order(once.id, now - timedelta(days=3), status="cancelled")
    figures = reports.repeat_rate(start, end)
    assert figures["with_coupon"] == {"customers": 4, "repeated": 1, "rate": 0.25}
    assert figures["without_coupon"] == {"customers": 2, "repeated": 1, "rate": 0.5}
