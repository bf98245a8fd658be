"""Which actions to suggest first, by the reason given and by who the customer is.

Pure rules over plain facts, so they read like the playbook they encode:
- product piling up → skip, or a pause long enough to use up the stock at home (estimated from
  the cycle and the last shipment), then a longer cycle or a smaller quantity;
- not effective / doesn't suit → swap to another product or variant first;
- price → a goodwill coupon, a smaller quantity, a longer cycle, a cheaper variant;
- moving, temporary (旅行, 入院) → pause or skip;
- best customers (優良顧客: segment 'loyal' or high LTV) are offered money sooner, first-time
  buyers later; a money offer to the same customer at most once per cooldown
  (RETENTION_MONEY_COOLDOWN_DAYS, default 100), after which the ladder falls back to
  skip / pause / cycle change.
Cancel is always on the list, last, and never hidden.
After an action the ladder offers only what still makes sense: no second skip on the same request
(`done`), no pause while paused (resume instead), nothing but the record once cancelled.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Optional

from app.retention.actions import MONEY_KINDS

#: Base score of each action per reason (higher comes first); missing = not suggested.
BASE: dict[str, dict[str, int]] = {
    "surplus": {"skip": 90, "pause": 85, "cycle": 80, "quantity": 75, "swap": 30, "coupon": 20},
    "not_effective": {"swap": 90, "coupon": 60, "cycle": 40, "skip": 35, "pause": 30, "quantity": 25},
    "unsuitable": {"swap": 95, "coupon": 50, "pause": 45, "skip": 40, "cycle": 20},
    "price": {"coupon": 90, "quantity": 85, "cycle": 80, "swap": 70, "skip": 50, "pause": 40},
    "moving": {"pause": 90, "skip": 80, "cycle": 30},
    "temporary": {"pause": 95, "skip": 85, "cycle": 30},
    "other": {"skip": 70, "pause": 65, "cycle": 60, "coupon": 45, "swap": 40, "quantity": 40},
}


@dataclass(frozen=True)
class CustomerFacts:
    """What the ranking knows about the customer and the subscription in question."""

    today: date
    deliveries: int = 0
    cycle_days: int = 30
    quantity: int = 1
    status: str = "active"
    last_ship_date: Optional[date] = None
    next_ship_date: Optional[date] = None
    ltv: int = 0
    #: new | second | loyal | None
    segment: Optional[str] = None
    #: When the last money offer (coupon, discount) was made to this customer, if ever.
    last_money_offer_on: Optional[date] = None
    #: Products the subscription could switch to: (product_id, unit price), best first.
    swap_candidates: tuple[tuple[int, int], ...] = ()
    #: Current unit price (yen per item per delivery).
    unit_price: int = 0
    coupon_available: bool = True
    #: Action kinds already done (or pending at the shop) on this subscription for this request.
    done: tuple[str, ...] = ()


@dataclass
class Suggestion:
    kind: str
    params: dict[str, Any]
    score: int
    #: Short reasons for the rank, as message keys the panel translates.
    why: list[str] = field(default_factory=list)

    @property
    def is_money(self) -> bool:
        return self.kind in MONEY_KINDS


@dataclass
class Ladder:
    suggestions: list[Suggestion]
    #: The day money may be offered again, when the cooldown holds it back.
    money_blocked_until: Optional[date] = None
    stock_days: int = 0


def stock_days(facts: CustomerFacts, reason: str) -> int:
    """Days of product likely at home: what is left of the last delivery at the nominal pace,
    plus one more cycle's worth when the customer says it is piling up."""
    if facts.last_ship_date is not None:
        left = facts.cycle_days - (facts.today - facts.last_ship_date).days
    elif facts.next_ship_date is not None:
        left = (facts.next_ship_date - facts.today).days
    else:
        left = 0
    left = max(0, left)
    if reason == "surplus":
        left += facts.cycle_days
    return left


def money_blocked_until(facts: CustomerFacts, cooldown_days: int) -> Optional[date]:
    if facts.last_money_offer_on is None:
        return None
    until = facts.last_money_offer_on + timedelta(days=cooldown_days)
    return until if until > facts.today else None


def _longer_cycle(current: int, options: tuple[int, ...], steps: int = 1) -> Optional[int]:
    longer = [c for c in sorted(options) if c > current]
    return longer[min(steps, len(longer)) - 1] if longer else None


def rank(reason: str, facts: CustomerFacts, *, cooldown_days: int = 100, high_ltv: int = 30000,
         cycle_options: tuple[int, ...] = (30, 45, 60, 90), coupon_yen: int = 500) -> Ladder:
    """The ladder of suggested actions for this reason and customer, cancel always last."""
    if facts.status == "cancelled":
        return Ladder([])
    reason = reason if reason in BASE else "other"
    base = dict(BASE[reason])
    stock = stock_days(facts, reason)
    blocked = money_blocked_until(facts, cooldown_days)
    best_customer = facts.segment == "loyal" or facts.ltv >= high_ltv
    out: list[Suggestion] = []

    def add(kind: str, params: dict, *why: str) -> None:
        if kind in base:
            out.append(Suggestion(kind, params, base[kind], list(why)))

    if facts.status == "active" and "skip" not in facts.done:
        add("skip", {}, "stock_covers_next" if stock >= facts.cycle_days else "reason_fits")
    months = min(3, max(1, math.ceil(stock / 30))) if reason == "surplus" else 1
    if reason == "surplus" and stock >= 1.5 * facts.cycle_days:
        base["pause"] = base["skip"] + 5  # more than one delivery's worth at home: a pause fits better
    if facts.status == "paused":
        out.append(Suggestion("resume", {}, 100, ["paused_now"]))
    else:
        add("pause", {"months": months}, "stock_at_home" if reason == "surplus" else "reason_fits")
    longer = _longer_cycle(facts.cycle_days, cycle_options, 2 if facts.deliveries >= 6 and reason == "surplus" else 1)
    if longer:
        add("cycle", {"cycle_days": longer}, "habitual_surplus" if facts.deliveries >= 6 else "reason_fits")
        if reason == "surplus" and facts.deliveries >= 6:
            out[-1].score += 10
    if facts.quantity > 1:
        add("quantity", {"quantity": facts.quantity - 1}, "reason_fits")
    candidates = [c for c in facts.swap_candidates if reason != "price" or c[1] < facts.unit_price]
    if candidates:
        add("swap", {"product_id": candidates[0][0]}, "cheaper_variant" if reason == "price" else "reason_fits")
    if facts.coupon_available and blocked is None:
        add("coupon", {"value": coupon_yen, "valid_days": 60}, "reason_fits")
        if out and out[-1].kind == "coupon":
            if best_customer:
                out[-1].score += 20
                out[-1].why.append("best_customer")
            if facts.deliveries < 2:
                out[-1].score -= 20
                out[-1].why.append("first_time_buyer")
    out.sort(key=lambda s: -s.score)
    out.append(Suggestion("cancel", {}, 0, ["always_offered"]))
    return Ladder(out, money_blocked_until=blocked, stock_days=stock)
