"""Each action's date arithmetic: month ends, leap years, change deadlines, holidays, bad input."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from app.models import Product, Subscription
from app.retention import actions as act
from app.retention.actions import ActionError
from app.retention.dates import Calendar, add_months
from tests.retention_helpers import plain_app  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("plain_app")
TODAY = date(2028, 1, 10)
CAL = Calendar(today=TODAY, deadline_days=5)


def sub(next_ship=date(2028, 1, 31), cycle=30, status="active", quantity=1, price=3780, last=None, paused=None):
    product = Product(id=1, external_id="P1", name="酵素青汁", variant="30包", family="a", price=4200,
                      subscription_price=3780, active=True)
    return Subscription(id=1, external_id="S1", customer_id=1, product_id=1, product=product, status=status,
                        cycle_days=cycle, quantity=quantity, price=price, next_ship_date=next_ship,
                        last_ship_date=last, deliveries=3, paused_until=paused)


def nxt(p):
    return p.next_ship_date


def test_add_months_clamps_to_month_end_in_leap_and_common_years():
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert add_months(date(2028, 3, 31), 2) == date(2028, 5, 31)


def test_skip_moves_the_next_delivery_by_one_cycle():
    p = act.preview("skip", sub(), {}, CAL)
    assert p.facts["skipped_date"] == date(2028, 1, 31)
    assert nxt(p) == date(2028, 3, 1)  # 31 Jan + 30 days, across the leap day
    assert p.before["next_ship_date"] == "2028-01-31" and p.after["next_ship_date"] == "2028-03-01"
    assert p.locked_date is None


def test_skip_when_the_next_delivery_is_past_its_deadline_skips_the_one_after():
    p = act.preview("skip", sub(next_ship=date(2028, 1, 14)), {}, CAL)  # deadline was 9 Jan
    assert p.locked_date == date(2028, 1, 14)
    assert p.facts["skipped_date"] == date(2028, 2, 13)
    assert nxt(p) == date(2028, 3, 14)
    assert any("2028-01-14" in n for n in p.notes)


def test_the_deadline_day_itself_is_still_changeable():
    p = act.preview("skip", sub(next_ship=date(2028, 1, 15)), {}, CAL)  # deadline 10 Jan = today
    assert p.locked_date is None and p.facts["skipped_date"] == date(2028, 1, 15)


@pytest.mark.parametrize("months,resume", [(1, date(2028, 2, 29)), (2, date(2028, 3, 31)), (3, date(2028, 4, 30))])
def test_pause_months_from_a_month_end(months, resume):
    p = act.preview("pause", sub(next_ship=date(2028, 1, 31)), {"months": months}, CAL)
    assert nxt(p) == resume
    assert p.after["status"] == "paused" and p.after["paused_until"] == resume.isoformat()


def test_pause_until_a_given_date_and_its_limits():
    p = act.preview("pause", sub(), {"resume_on": "2028-03-15"}, CAL)
    assert nxt(p) == date(2028, 3, 15)
    with pytest.raises(ActionError, match="past"):
        act.preview("pause", sub(), {"resume_on": "2028-01-01"}, CAL)
    with pytest.raises(ActionError, match="at most 3 months"):
        act.preview("pause", sub(), {"resume_on": "2028-05-01"}, CAL)
    with pytest.raises(ActionError):
        act.preview("pause", sub(), {"months": 4}, CAL)
    with pytest.raises(ActionError, match="not a date"):
        act.preview("pause", sub(), {"resume_on": "31/01/2028"}, CAL)


def test_pause_extends_an_existing_pause_but_a_skip_cannot_reach_past_it():
    paused = sub(status="paused", next_ship=date(2028, 2, 29), paused=date(2028, 2, 29))
    assert nxt(act.preview("pause", paused, {"months": 1}, CAL)) == date(2028, 3, 29)
    with pytest.raises(ActionError, match="paused until 2028-02-29"):
        act.preview("skip", paused, {}, CAL)


def test_cycle_change_counts_from_the_last_shipment():
    s = sub(next_ship=date(2028, 1, 31), last=date(2028, 1, 1))
    assert nxt(act.preview("cycle", s, {"cycle_days": 60}, CAL)) == date(2028, 3, 1)
    assert nxt(act.preview("cycle", s, {"cycle_days": 45}, CAL)) == date(2028, 2, 15)


def test_shorter_cycle_never_lands_before_the_earliest_changeable_day():
    s = sub(next_ship=date(2028, 1, 31), cycle=60, last=date(2027, 12, 1))
    p = act.preview("cycle", s, {"cycle_days": 30}, CAL)
    assert nxt(p) == CAL.earliest_changeable() == date(2028, 1, 16)


def test_cycle_change_after_a_locked_delivery_counts_from_it():
    p = act.preview("cycle", sub(next_ship=date(2028, 1, 12)), {"cycle_days": 45}, CAL)
    assert p.locked_date == date(2028, 1, 12) and nxt(p) == date(2028, 2, 26)


def test_cycle_change_refuses_unknown_or_same_cycle():
    with pytest.raises(ActionError):
        act.preview("cycle", sub(), {"cycle_days": 33}, CAL)
    with pytest.raises(ActionError, match="already"):
        act.preview("cycle", sub(), {"cycle_days": 30}, CAL)


def test_holidays_only_move_shipments_when_configured():
    # 2028-02-11 is Foundation Day (a Friday); 2028-01-12 + 30 days lands on it.
    s = sub(next_ship=date(2028, 1, 12))
    plain = act.preview("skip", s, {}, Calendar(today=date(2028, 1, 1), deadline_days=5))
    assert nxt(plain) == date(2028, 2, 11)
    avoiding = act.preview("skip", s, {}, Calendar(today=date(2028, 1, 1), deadline_days=5, avoid_holidays=True))
    assert nxt(avoiding) == date(2028, 2, 12)


def test_stale_dates_and_cancelled_subscriptions_are_refused_clearly():
    with pytest.raises(ActionError, match="in the past"):
        act.preview("skip", sub(next_ship=date(2028, 1, 2)), {}, CAL)
    cancelled = sub(status="cancelled")
    cancelled.cancelled_at = datetime(2027, 12, 1, tzinfo=timezone.utc)
    for kind, params in (("skip", {}), ("pause", {"months": 1}), ("cycle", {"cycle_days": 60}), ("cancel", {})):
        with pytest.raises(ActionError, match="already cancelled"):
            act.preview(kind, cancelled, params, CAL)


def test_swap_and_quantity():
    other = Product(id=2, external_id="P2", name="酵素青汁", variant="60包", price=7800, subscription_price=6980,
                    active=True)
    p = act.preview("swap", sub(quantity=2, price=7560), {"product_id": 2}, CAL, product=other)
    assert p.after["product_id"] == 2 and p.after["price"] == 13960
    with pytest.raises(ActionError, match="Unknown product"):
        act.preview("swap", sub(), {"product_id": 99}, CAL, product=None)
    other.active = False
    with pytest.raises(ActionError, match="no longer sold"):
        act.preview("swap", sub(), {"product_id": 2}, CAL, product=other)
    q = act.preview("quantity", sub(quantity=3, price=11340), {"quantity": 1}, CAL)
    assert q.after["quantity"] == 1 and q.after["price"] == 3780
    with pytest.raises(ActionError):
        act.preview("quantity", sub(quantity=1), {}, CAL)


def test_cancel_is_effective_from_the_request_time():
    asked = datetime(2028, 1, 8, 3, 0, tzinfo=timezone.utc)
    p = act.preview("cancel", sub(), {}, CAL, requested_at=asked, now=datetime(2028, 1, 10, tzinfo=timezone.utc))
    assert p.after["status"] == "cancelled" and p.after["next_ship_date"] is None
    assert p.after["cancelled_at"] == asked.isoformat()


def test_cancel_in_time_stops_a_delivery_that_is_now_past_its_deadline():
    # delivery on 14 Jan: deadline 9 Jan. Asked on 8 Jan (JST) -> must not ship, even if handled on 10 Jan.
    asked = datetime(2028, 1, 8, 3, 0, tzinfo=timezone.utc)
    p = act.preview("cancel", sub(next_ship=date(2028, 1, 14)), {}, CAL, requested_at=asked)
    assert p.facts["stop_date"] == date(2028, 1, 14) and p.locked_date is None
    with pytest.raises(ActionError):
        act.preview("cancel", sub(next_ship=date(2028, 1, 14)), {"late_accepted": True}, CAL, requested_at=asked)


def test_cancel_asked_after_the_deadline_lets_the_delivery_ship():
    asked = datetime(2028, 1, 9, 16, 0, tzinfo=timezone.utc)  # 10 Jan 01:00 JST: past the 9 Jan deadline
    p = act.preview("cancel", sub(next_ship=date(2028, 1, 14)), {"late_accepted": True}, CAL, requested_at=asked)
    assert p.locked_date == date(2028, 1, 14) and p.params["late_accepted"] is True


def test_apply_writes_only_the_after_state():
    s = sub()
    p = act.preview("pause", s, {"months": 1}, CAL)
    act.apply(s, p.after)
    assert (s.status, s.next_ship_date, s.paused_until) == ("paused", date(2028, 2, 29), date(2028, 2, 29))
