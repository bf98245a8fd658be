"""Ranking rules: by reason, stock at home, LTV/segment, the money cooldown; cancel always offered."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.retention.ranking import CustomerFacts, rank, stock_days

TODAY = date(2025, 6, 1)


def facts(**kw) -> CustomerFacts:
    base = dict(today=TODAY, deliveries=4, cycle_days=30, quantity=1, last_ship_date=TODAY - timedelta(days=10),
                next_ship_date=TODAY + timedelta(days=20), ltv=15000, segment="loyal" if kw.get("ltv", 0) > 50000 else "second",
                swap_candidates=((11, 3200), (12, 5200)), unit_price=3780)
    base.update(kw)
    return CustomerFacts(**base)


def kinds(ladder) -> list[str]:
    return [s.kind for s in ladder.suggestions]


@pytest.mark.parametrize("reason", ["surplus", "not_effective", "unsuitable", "price", "moving", "temporary",
                                    "other", "unknown-reason"])
def test_cancel_is_always_offered_last(reason):
    for f in (facts(), facts(status="paused"), facts(swap_candidates=(), quantity=1, coupon_available=False)):
        ladder = rank(reason, f)
        assert kinds(ladder)[-1] == "cancel"
        assert kinds(ladder).count("cancel") == 1


def test_surplus_prefers_skip_when_stock_covers_about_one_delivery():
    ladder = rank("surplus", facts(last_ship_date=TODAY - timedelta(days=25)))  # 5 days left + 30 surplus
    assert kinds(ladder)[:2] == ["skip", "pause"]
    assert ladder.stock_days == 35


def test_surplus_with_lots_at_home_prefers_a_longer_pause():
    ladder = rank("surplus", facts(last_ship_date=TODAY - timedelta(days=2)))  # 28 + 30 days at home
    assert kinds(ladder)[0] == "pause"
    assert ladder.suggestions[0].params == {"months": 2}


def test_habitual_surplus_suggests_a_much_longer_cycle():
    ladder = rank("surplus", facts(deliveries=8, last_ship_date=TODAY - timedelta(days=25)))
    cycle = next(s for s in ladder.suggestions if s.kind == "cycle")
    assert cycle.params == {"cycle_days": 60} and "habitual_surplus" in cycle.why


@pytest.mark.parametrize("reason", ["not_effective", "unsuitable"])
def test_product_reasons_put_a_swap_first(reason):
    assert kinds(rank(reason, facts()))[0] == "swap"


def test_without_candidates_no_swap_is_suggested():
    assert "swap" not in kinds(rank("unsuitable", facts(swap_candidates=())))


def test_price_offers_money_first_and_only_cheaper_variants():
    ladder = rank("price", facts(quantity=2))
    assert kinds(ladder)[:2] == ["coupon", "quantity"]
    swap = next(s for s in ladder.suggestions if s.kind == "swap")
    assert swap.params == {"product_id": 11}


@pytest.mark.parametrize("reason", ["moving", "temporary"])
def test_life_events_put_pause_and_skip_first(reason):
    assert kinds(rank(reason, facts()))[:2] == ["pause", "skip"]


def test_money_cooldown_falls_back_to_skip_pause_cycle():
    recent = facts(last_money_offer_on=TODAY - timedelta(days=40))
    ladder = rank("price", recent, cooldown_days=100)
    assert "coupon" not in kinds(ladder)
    assert ladder.money_blocked_until == TODAY + timedelta(days=60)
    assert kinds(ladder) == ["cycle", "swap", "skip", "pause", "cancel"]
    old = facts(last_money_offer_on=TODAY - timedelta(days=100))
    assert "coupon" in kinds(rank("price", old, cooldown_days=100))
    assert "coupon" in kinds(rank("price", recent, cooldown_days=30))


def test_best_customers_get_money_sooner_first_time_buyers_later():
    loyal = rank("other", facts(segment="loyal", ltv=80000))
    regular = rank("other", facts(segment="second", ltv=9000))
    first = rank("other", facts(segment="new", deliveries=1, ltv=3780))
    assert kinds(loyal).index("coupon") < kinds(regular).index("coupon") < kinds(first).index("coupon")
    assert "best_customer" in next(s for s in loyal.suggestions if s.kind == "coupon").why
    assert "first_time_buyer" in next(s for s in first.suggestions if s.kind == "coupon").why
    high_ltv = rank("not_effective", facts(segment="second", ltv=45000), high_ltv=30000)
    assert kinds(high_ltv)[:2] == ["swap", "coupon"]


def test_no_coupon_when_the_coupon_feature_is_missing():
    assert "coupon" not in kinds(rank("price", facts(coupon_available=False)))


def test_paused_subscriptions_are_not_offered_a_skip():
    assert "skip" not in kinds(rank("surplus", facts(status="paused")))


def test_stock_estimate_from_cycle_and_last_shipment():
    assert stock_days(facts(last_ship_date=TODAY - timedelta(days=10)), "other") == 20
    assert stock_days(facts(last_ship_date=TODAY - timedelta(days=40)), "other") == 0
    assert stock_days(facts(last_ship_date=None, next_ship_date=TODAY + timedelta(days=12)), "other") == 12


def test_after_a_skip_the_same_request_is_not_offered_another():
    ladder = rank("surplus", facts(last_ship_date=TODAY - timedelta(days=25), done=("skip",)))
    assert "skip" not in kinds(ladder) and kinds(ladder)[0] == "pause" and kinds(ladder)[-1] == "cancel"


@pytest.mark.parametrize("reason", ["temporary", "moving", "surplus", "price"])
def test_a_paused_subscription_is_offered_resume_not_another_pause(reason):
    ladder = rank(reason, facts(status="paused", done=("pause",)))
    assert kinds(ladder)[0] == "resume" and "pause" not in kinds(ladder) and "skip" not in kinds(ladder)
    assert ladder.suggestions[0].why == ["paused_now"]


def test_a_cancelled_subscription_gets_an_empty_ladder():
    assert rank("other", facts(status="cancelled", done=("cancel",))).suggestions == []
