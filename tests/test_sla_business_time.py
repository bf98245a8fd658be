"""Business-time arithmetic: weekends, Japanese holidays, closed days, time zones, JST without DST."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.sla.business_time import (Calendar, ClosedRange, add_business_seconds, business_seconds_between,
                                   default_calendar, is_public_holiday, parse_hours)

JST = ZoneInfo("Asia/Tokyo")
CAL = default_calendar("Asia/Tokyo")
H = 3600


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=JST)


def test_holidays_come_from_the_holidays_package():
    assert is_public_holiday(date(2026, 11, 23))  # 勤労感謝の日
    assert not is_public_holiday(date(2026, 11, 24))
    assert CAL.intervals_on(date(2026, 11, 23)) == []


def test_friday_night_answered_monday_morning_counts_one_business_hour():
    opened, answered = jst(2026, 11, 13, 22, 0), jst(2026, 11, 16, 10, 0)  # Fri 22:00 -> Mon 10:00
    assert business_seconds_between(opened, answered, CAL) == 1 * H
    assert (answered - opened).total_seconds() == 60 * H  # calendar time


def test_a_holiday_monday_is_skipped_too():
    # Fri 2026-11-20 22:00 -> Tue 11-24 10:00: Monday 11-23 is 勤労感謝の日
    assert business_seconds_between(jst(2026, 11, 20, 22), jst(2026, 11, 24, 10), CAL) == 1 * H
    assert add_business_seconds(jst(2026, 11, 20, 17), 2 * H, CAL) == jst(2026, 11, 24, 10)


def test_weekend_only_span_is_zero_and_within_a_day_is_exact():
    assert business_seconds_between(jst(2026, 11, 14, 9), jst(2026, 11, 15, 20), CAL) == 0
    assert business_seconds_between(jst(2026, 11, 17, 8), jst(2026, 11, 17, 9, 30), CAL) == 1800
    assert business_seconds_between(jst(2026, 11, 17, 12), jst(2026, 11, 17, 11), CAL) == 0
    assert business_seconds_between(jst(2026, 11, 16, 9), jst(2026, 11, 21, 9), CAL) == 5 * 9 * H


def test_add_business_seconds_waits_for_opening_and_spans_days():
    assert add_business_seconds(jst(2026, 11, 17, 7), 0, CAL) == jst(2026, 11, 17, 9)
    assert add_business_seconds(jst(2026, 11, 17, 10), 0, CAL) == jst(2026, 11, 17, 10)
    assert add_business_seconds(jst(2026, 11, 17, 17), 2 * H, CAL) == jst(2026, 11, 18, 10)
    start = jst(2026, 11, 16, 9, 17)
    for seconds in (1, 59, H, 9 * H, 9 * H + 1, 40 * H):
        end = add_business_seconds(start, seconds, CAL)
        assert business_seconds_between(start, end, CAL) == seconds


def test_shop_closed_days_new_year_and_obon():
    # Mon 2026-12-28 17:00 + 2 h: 12/29-1/3 closed (年末年始), then Mon 2027-01-04
    assert add_business_seconds(jst(2026, 12, 28, 17), 2 * H, CAL) == jst(2027, 1, 4, 10)
    assert CAL.intervals_on(date(2026, 8, 14)) == []  # お盆 (a Friday)
    custom = Calendar(closed=(ClosedRange(date(2026, 11, 18), date(2026, 11, 18), label="棚卸"),))
    assert custom.intervals_on(date(2026, 11, 18)) == []
    assert custom.intervals_on(date(2027, 11, 18)) != []  # not yearly


def test_time_zones_utc_input_same_answer_and_naive_refused():
    opened_utc = datetime(2026, 11, 13, 13, 0, tzinfo=timezone.utc)  # = Fri 22:00 JST
    answered_utc = datetime(2026, 11, 16, 1, 0, tzinfo=timezone.utc)  # = Mon 10:00 JST
    assert business_seconds_between(opened_utc, answered_utc, CAL) == 1 * H
    result = add_business_seconds(opened_utc, H, CAL)
    assert result == answered_utc and result.tzinfo is not None
    with pytest.raises(ValueError):
        business_seconds_between(datetime(2026, 11, 13, 13), answered_utc, CAL)
    # The same instants in a calendar for another zone give another answer (hours are local).
    london = Calendar(tz="Europe/London")
    assert business_seconds_between(opened_utc, answered_utc, london) == 5 * H  # Fri 13-18 in London


def test_jst_has_no_dst_every_weekday_opens_at_0000_utc():
    day = date(2026, 1, 1)
    while day.year == 2026:
        for a, b in CAL.intervals_on(day):
            assert a.time() == time(0, 0) and (b - a) == timedelta(hours=9)
        day += timedelta(days=1)


def test_dst_zone_still_counts_wall_clock_hours():
    ny = Calendar(tz="America/New_York", public_holidays=False, hours={d: [(time(9), time(17))] for d in range(7)})
    ny_zone = ZoneInfo("America/New_York")
    # across the 2026-03-08 spring-forward night: two full 8 h days
    start = datetime(2026, 3, 7, 9, tzinfo=ny_zone)
    assert business_seconds_between(start, datetime(2026, 3, 8, 17, tzinfo=ny_zone), ny) == 16 * H


def test_parse_hours_and_a_calendar_without_hours():
    assert parse_hours({"0": [["09:00", "12:00"], ["13:00", "18:00"]]}) == {0: [(time(9), time(12)), (time(13), time(18))]}
    lunch = Calendar(hours=parse_hours({"0": [["09:00", "12:00"], ["13:00", "18:00"]]}), public_holidays=False)
    assert business_seconds_between(jst(2026, 11, 16, 11), jst(2026, 11, 16, 14), lunch) == 2 * H
    with pytest.raises(ValueError):
        add_business_seconds(jst(2026, 11, 16), 1, Calendar(hours={}))
