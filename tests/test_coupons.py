"""Coupon services: codes, input checks, policy boundaries, idempotency, approvals, redemption."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.coupons import codes as codes_module, policy, services
from app.coupons.services import ALPHABET, CouponRefused
from app.extensions import db
from app.models import (Coupon, CouponBudget, Event, Order, SubscriptionAction, Ticket, utcnow)
from tests.coupon_helpers import coupon_input, hidden_ticket, ticket_for_new_customer
from tests.factories import make_agent


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def events(kind: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def set_policy(supervisor, role="agent", **values):
    current = policy.get_policy(role)
    merged = {name: getattr(current, name) for name in policy.POLICY_FIELDS}
    merged.update(values)
    return policy.save_policy(supervisor, role, merged)


# -- codes -------------------------------------------------------------------------------------

def test_codes_use_an_unambiguous_alphabet():
    for ch in "0O1IL":
        assert ch not in ALPHABET
    codes = {codes_module._random_code() for _ in range(300)}
    assert len(codes) == 300
    for code in codes:
        assert len(code) == 11 and code[5] == "-"
        assert set(code.replace("-", "")) <= set(ALPHABET)


def test_a_colliding_code_is_replaced(app, agent, monkeypatch):
    first = services.issue(agent, ticket_for_new_customer(), coupon_input(), "k1")
    sequence = iter([first.code, first.code, "ABCDE-FGHJK"])
    monkeypatch.setattr(codes_module, "_random_code", lambda: next(sequence))
    second = services.issue(agent, ticket_for_new_customer(), coupon_input(), "k2")
    assert second.code == "ABCDE-FGHJK"


# -- issuing within policy ---------------------------------------------------------------------

def test_issue_within_policy_is_instant_and_audited(app, agent):
    ticket = ticket_for_new_customer()
    coupon = services.issue(agent, ticket, coupon_input(value=800), "key-1")
    assert coupon.status == "issued" and coupon.code and coupon.issued_at
    assert coupon.customer_id == ticket.customer_id and coupon.issued_by_id == agent.id
    [event] = events("coupon.issued")
    assert event.ticket_id == ticket.id and event.actor_id == agent.id
    assert event.data["code"] == coupon.code and event.data["value"] == 800
    assert event.data["reason"] == "配送遅延"
    action = db.session.scalar(select(SubscriptionAction).where(SubscriptionAction.kind == "coupon"))
    # Delivered after commit through the commerce backend (local: acknowledged at once).
    assert action.params["code"] == coupon.code and action.backend_status == "acked"
    assert services.month_spent(agent.id) == 800
    assert services.latest_code(ticket.id) == coupon.code


@pytest.mark.parametrize("kind,value,expect", [
    ("amount", 1000, "issued"), ("amount", 1001, "requested"),
    ("percent", 10, "issued"), ("percent", 11, "requested"),
])
def test_size_limit_at_and_over_the_boundary(app, agent, kind, value, expect):
    coupon = services.issue(agent, ticket_for_new_customer(), coupon_input(kind, value))
    assert coupon.status == expect
    if expect == "requested":
        assert coupon.code is None and coupon.approval_required
        assert coupon.approval_reasons == ("max_amount" if kind == "amount" else "max_percent")
        assert events("coupon.requested")[0].data["over"] == [coupon.approval_reasons]


def test_supervisor_role_has_its_own_limit(app, supervisor):
    assert services.issue(supervisor, ticket_for_new_customer(), coupon_input(value=5000)).status == "issued"
    assert services.issue(supervisor, ticket_for_new_customer(), coupon_input(value=5001)).status == "requested"


def test_monthly_budget_at_and_over(app, agent, supervisor):
    set_policy(supervisor, monthly_budget_yen=1500)
    assert services.issue(agent, ticket_for_new_customer(), coupon_input(value=1000)).status == "issued"
    assert services.issue(agent, ticket_for_new_customer(), coupon_input(value=500)).status == "issued"
    over = services.issue(agent, ticket_for_new_customer(), coupon_input(value=1))
    assert over.status == "requested" and over.approval_reasons == "budget"
    assert services.month_spent(agent.id) == 1500
    # Percent coupons are not counted in yen: they stay bound by the size and customer limits.
    assert services.issue(agent, ticket_for_new_customer(), coupon_input("percent", 5)).status == "issued"
    # Another agent has a budget of their own.
    other = make_agent("agent")
    assert services.issue(other, ticket_for_new_customer(), coupon_input(value=1000)).status == "issued"


def test_customer_limit_and_period(app, agent, supervisor):
    set_policy(supervisor, customer_limit=1, customer_period_days=90, cancellation_may_exceed=False)
    ticket = ticket_for_new_customer()
    first = services.issue(agent, ticket, coupon_input())
    second = services.issue(agent, ticket, coupon_input())
    assert first.status == "issued"
    assert second.status == "requested" and second.approval_reasons == "customer_limit"
    # A coupon issued before the period no longer counts.
    first.issued_at = utcnow() - timedelta(days=91)
    db.session.commit()
    assert services.issue(agent, ticket, coupon_input()).status == "issued"


def test_an_open_cancellation_request_may_get_more(app, agent, supervisor):
    set_policy(supervisor, customer_limit=1, cancellation_may_exceed=True, cancellation_extra=1)
    ticket = ticket_for_new_customer()
    ticket.intent = "cancellation"
    db.session.commit()
    assert services.issue(agent, ticket, coupon_input()).status == "issued"
    assert services.issue(agent, ticket, coupon_input()).status == "issued"
    assert services.issue(agent, ticket, coupon_input()).status == "requested"
    # Not allowed by the policy: back to the plain limit.
    set_policy(supervisor, cancellation_may_exceed=False)
    ticket2 = ticket_for_new_customer()
    ticket2.intent = "cancellation"
    db.session.commit()
    assert services.issue(agent, ticket2, coupon_input()).status == "issued"
    assert services.issue(agent, ticket2, coupon_input()).status == "requested"
    # A solved cancellation ticket is no longer an open request.
    set_policy(supervisor, cancellation_may_exceed=True)
    ticket2.status = "solved"
    db.session.commit()
    assert services.issue(agent, ticket2, coupon_input()).status == "requested"


# -- bad input and abuse -----------------------------------------------------------------------

@pytest.mark.parametrize("overrides,why", [
    (dict(value=0), "value_not_positive"),
    (dict(value=-500), "value_not_positive"),
    (dict(kind="percent", value=101), "percent_over_100"),
    (dict(value=1_000_001), "amount_too_large"),
    (dict(days=-1), "expiry_past"),
    (dict(max_uses=0), "max_uses_invalid"),
    (dict(reason="なんとなく"), "reason_invalid"),
    (dict(kind="shipping"), "kind_invalid"),
])
def test_bad_input_is_refused_and_audited(app, agent, overrides, why):
    ticket = ticket_for_new_customer()
    with pytest.raises(CouponRefused) as info:
        services.issue(agent, ticket, coupon_input(**overrides), "bad-1")
    assert info.value.code == why
    with app.test_request_context():
        assert info.value.message and info.value.message != why
    assert count(Coupon) == 0 and count(SubscriptionAction) == 0
    [event] = events("coupon.denied")
    assert event.data["why"] == why and event.actor_id == agent.id and event.ticket_id == ticket.id


def test_invisible_ticket_is_refused_without_leaking(app, agent):
    ticket = hidden_ticket()
    with pytest.raises(CouponRefused) as info:
        services.issue(agent, ticket, coupon_input())
    assert info.value.code == "ticket_invisible"
    assert count(Coupon) == 0
    [event] = events("coupon.denied")
    assert event.ticket_id is None and event.data == {"why": "ticket_invisible", "ticket_id": ticket.id}


def test_reasons_come_from_the_supervisors_list(app, agent, supervisor):
    policy.add_reason(supervisor, "誕生日")
    assert services.issue(agent, ticket_for_new_customer(), coupon_input(reason="誕生日")).status == "issued"
    reason = next(r for r in policy.all_reasons() if r.label == "配送遅延")
    policy.set_reason_active(supervisor, reason.id, False)
    assert "配送遅延" not in policy.active_reasons()
    with pytest.raises(CouponRefused):
        services.issue(agent, ticket_for_new_customer(), coupon_input(reason="配送遅延"))


def test_policy_edits_are_checked_and_audited(app, supervisor):
    with pytest.raises(policy.PolicyError):
        set_policy(supervisor, max_percent=101)
    with pytest.raises(policy.PolicyError):
        set_policy(supervisor, monthly_budget_yen=-1)
    set_policy(supervisor, max_amount_yen=3000)
    assert policy.get_policy("agent").max_amount_yen == 3000
    [event] = events("coupon.policy")
    assert event.data["before"]["max_amount_yen"] == 1000 and event.data["after"]["max_amount_yen"] == 3000


# -- idempotency -------------------------------------------------------------------------------

def test_a_resubmitted_form_issues_one_coupon(app, agent):
    ticket = ticket_for_new_customer()
    first = services.issue(agent, ticket, coupon_input(value=700), "same-key")
    again = services.issue(agent, ticket, coupon_input(value=700), "same-key")
    assert again.id == first.id and again.code == first.code
    assert count(Coupon) == 1 and len(events("coupon.issued")) == 1
    assert services.month_spent(agent.id) == 700


def test_someone_elses_key_is_refused(app, agent):
    ticket = ticket_for_new_customer()
    services.issue(agent, ticket, coupon_input(), "shared-key")
    with pytest.raises(CouponRefused) as info:
        services.issue(make_agent("agent"), ticket, coupon_input(), "shared-key")
    assert info.value.code == "key_reused" and count(Coupon) == 1


# -- approvals ---------------------------------------------------------------------------------

def _request(agent, value=3000):
    coupon = services.issue(agent, ticket_for_new_customer(), coupon_input(value=value))
    assert coupon.status == "requested"
    return coupon


def test_approval_issues_the_code_and_charges_the_budget(app, agent, supervisor):
    request = _request(agent)
    coupon = services.decide(supervisor, request.id, True, "長年のお客様なので")
    assert coupon.status == "issued" and coupon.code and coupon.decided_by_id == supervisor.id
    assert coupon.decision_note == "長年のお客様なので"
    [event] = events("coupon.approved")
    assert event.ticket_id == coupon.ticket_id and event.data["code"] == coupon.code
    assert services.month_spent(agent.id) == 3000
    assert services.latest_code(coupon.ticket_id) == coupon.code
    assert count(SubscriptionAction, SubscriptionAction.kind == "coupon") == 1


def test_refusal_needs_a_reason(app, agent, supervisor):
    request = _request(agent)
    with pytest.raises(CouponRefused) as info:
        services.decide(supervisor, request.id, False, "  ")
    assert info.value.code == "note_required"
    coupon = services.decide(supervisor, request.id, False, "上限を超えています")
    assert coupon.status == "refused" and coupon.code is None
    assert events("coupon.refused")[0].note == "上限を超えています"
    assert services.month_spent(agent.id) == 0 and count(SubscriptionAction) == 0


def test_self_approval_is_refused(app, supervisor):
    request = services.issue(supervisor, ticket_for_new_customer(), coupon_input(value=9000))
    assert request.status == "requested"
    with pytest.raises(CouponRefused) as info:
        services.decide(supervisor, request.id, True, "")
    assert info.value.code == "self_approval"
    assert db.session.get(Coupon, request.id).status == "requested"
    assert events("coupon.denied")[0].data["why"] == "self_approval"
    # Another supervisor may.
    assert services.decide(make_agent("supervisor"), request.id, True).status == "issued"


def test_a_replayed_decision_changes_nothing(app, agent, supervisor):
    request = _request(agent)
    coupon = services.decide(supervisor, request.id, True)
    code = coupon.code
    for approve, note in ((True, ""), (False, "やっぱり却下")):
        with pytest.raises(CouponRefused) as info:
            services.decide(make_agent("supervisor"), request.id, approve, note)
        assert info.value.code == "already_decided"
    coupon = db.session.get(Coupon, request.id)
    assert coupon.status == "issued" and coupon.code == code
    assert len(events("coupon.approved")) == 1 and services.month_spent(agent.id) == 3000
    assert [e.data["why"] for e in events("coupon.denied")] == ["already_decided"] * 2


def test_agents_cannot_decide(app, agent):
    request = _request(make_agent("agent"))
    with pytest.raises(CouponRefused) as info:
        services.decide(agent, request.id, True)
    assert info.value.code == "not_supervisor"
    with pytest.raises(CouponRefused):
        services.decide(agent, 999999, True)


def test_an_expired_request_cannot_be_approved(app, agent, supervisor):
    request = _request(agent)
    request.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(CouponRefused) as info:
        services.decide(supervisor, request.id, True)
    assert info.value.code == "request_expired"


# -- redemption and expiry ---------------------------------------------------------------------

def _order(customer_id: int, code: str | None, days_after: int = 1, n: list = [0]) -> Order:  # noqa: B006
    n[0] += 1
    order = Order(external_id=f"ord-{n[0]}-{utcnow().timestamp()}", customer_id=customer_id,
                  ordered_at=utcnow() + timedelta(days=days_after), total=3980, coupon_code=code)
    db.session.add(order)
    db.session.commit()
    return order


def test_redeem_from_an_imported_order_is_idempotent(app, agent):
    coupon = services.issue(agent, ticket_for_new_customer(), coupon_input())
    order = _order(coupon.customer_id, coupon.code)
    typed = coupon.code.lower().replace("-", " ")
    assert services.redeem(typed, order.id).id == coupon.id
    db.session.commit()
    assert services.redeem(coupon.code, order.id).uses == 1  # the same order re-imported
    db.session.commit()
    coupon = db.session.get(Coupon, coupon.id)
    assert coupon.status == "redeemed" and coupon.uses == 1
    assert len(events("coupon.redeemed")) == 1
    assert events("coupon.redeemed")[0].data["order_id"] == order.id
    assert services.redeem("ZZZZZ-ZZZZZ", order.id) is None
    assert services.redeem("", order.id) is None


def test_a_multi_use_coupon_stays_issued_until_used_up(app, agent):
    coupon = services.issue(agent, ticket_for_new_customer(), coupon_input(max_uses=2))
    services.redeem(coupon.code, _order(coupon.customer_id, coupon.code).id)
    db.session.commit()
    assert db.session.get(Coupon, coupon.id).status == "issued"
    services.redeem(coupon.code, _order(coupon.customer_id, coupon.code).id)
    db.session.commit()
    coupon = db.session.get(Coupon, coupon.id)
    assert coupon.status == "redeemed" and coupon.uses == 2


def test_expire_due(app, agent):
    coupon = services.issue(agent, ticket_for_new_customer(), coupon_input())
    assert services.expire_due(utcnow()) == 0
    assert services.expire_due(utcnow() + timedelta(days=31)) == 1
    assert db.session.get(Coupon, coupon.id).status == "expired"
    assert db.session.scalar(select(CouponBudget.spent_yen)) == 500
    assert db.session.get(Ticket, coupon.ticket_id) is not None


def test_an_imported_order_with_the_code_redeems_it(app, agent):
    """Through the commerce import (app.commerce.upserts), re-imported twice."""
    from app.commerce.upserts import upsert

    ticket = ticket_for_new_customer(sender="import-redeem@example.jp")
    coupon = services.issue(agent, ticket, coupon_input())
    data = {"email": "import-redeem@example.jp", "ordered_at": utcnow() + timedelta(days=3),
            "total": 3980, "coupon_code": coupon.code.lower()}
    for _ in range(2):
        upsert("order", "SHOP-ORDER-1", dict(data))
        db.session.commit()
    coupon = db.session.get(Coupon, coupon.id)
    assert coupon.status == "redeemed" and coupon.uses == 1
    order = db.session.scalar(select(Order).where(Order.external_id == "SHOP-ORDER-1"))
    assert order.customer_id == coupon.customer_id
    assert events("coupon.redeemed")[0].data["order_id"] == order.id
