"""Business time: THE one place that knows when the shop is open.

A `Calendar` holds the opening hours per weekday (in the shop's zone, Asia/Tokyo by default),
whether Japanese public holidays close the shop (the `holidays` package), and the shop's own
closed days (年末年始, お盆: date ranges, optionally repeating every year). Every business
duration in the app goes through `business_seconds_between` and `add_business_seconds`.
Inputs and outputs are aware datetimes; naive ones are refused, never guessed.
JST has no daylight saving time, but the arithmetic works on local wall-clock intervals converted
to UTC per day, so a zone with DST would still be counted correctly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterable, Iterator, Mapping, Sequence
from zoneinfo import ZoneInfo

#: Monday..Friday 09:00-18:00, weekends closed (weekday 0 = Monday, as date.weekday()).
DEFAULT_HOURS: dict[int, list[tuple[time, time]]] = {
    day: [(time(9, 0), time(18, 0))] for day in range(5)
}
#: 年末年始 and お盆, repeating every year (month, day) ranges, inclusive.
DEFAULT_CLOSED = ((12, 29, 1, 3, "年末年始"), (8, 13, 8, 16, "お盆"))
#: A calendar with no opening hours at all would loop for ever; give up after this many days.
MAX_DAYS = 3 * 366


@lru_cache(maxsize=32)
def _jp_holidays(year: int):
    import holidays

    return holidays.country_holidays("JP", years=year)


def is_public_holiday(day: date) -> bool:
    return day in _jp_holidays(day.year)


@dataclass(frozen=True)
class ClosedRange:
    """Closed from `start` to `end` inclusive; `yearly` repeats the month/day range every year."""

    start: date
    end: date
    yearly: bool = False
    label: str = ""

    def covers(self, day: date) -> bool:
        if not self.yearly:
            return self.start <= day <= self.end
        key = (day.month, day.day)
        first, last = (self.start.month, self.start.day), (self.end.month, self.end.day)
        if first <= last:
            return first <= key <= last
        return key >= first or key <= last  # wraps the new year (12/29 - 1/3)


@dataclass(frozen=True)
class Calendar:
    tz: str = "Asia/Tokyo"
    #: weekday -> [(open, close), ...] in local wall-clock time; missing weekday = closed.
    hours: Mapping[int, Sequence[tuple[time, time]]] = field(default_factory=lambda: DEFAULT_HOURS)
    public_holidays: bool = True
    closed: tuple[ClosedRange, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def is_closed_day(self, day: date) -> bool:
        if self.public_holidays and is_public_holiday(day):
            return True
        return any(r.covers(day) for r in self.closed)

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of local date `day`, as aware UTC datetimes."""
        if self.is_closed_day(day):
            return []
        zone = self.zone
        out = []
        for start, end in self.hours.get(day.weekday(), ()):
            a = datetime.combine(day, start, zone).astimezone(timezone.utc)
            # 24:00 is written as time.max or 00:00 of the next day
            b_day = day + timedelta(days=1) if end == time(0, 0) else day
            b = datetime.combine(b_day, end, zone).astimezone(timezone.utc)
            if b > a:
                out.append((a, b))
        return out

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def default_calendar(tz: str = "Asia/Tokyo") -> Calendar:
    closed = tuple(ClosedRange(date(2000, m1, d1), date(2000, m2, d2), True, label)
                   for m1, d1, m2, d2, label in DEFAULT_CLOSED)
    return Calendar(tz=tz, closed=closed)


def _check(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None:
            raise ValueError("business time needs aware datetimes")


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def business_seconds_between(start: datetime, end: datetime, calendar: Calendar) -> float:
    """Seconds of opening hours in [start, end); 0 when end <= start."""
    _check(start, end)
    if end <= start:
        return 0.0
    total = 0.0
    # one day of slack either side: an interval of a local day may start on the previous UTC day
    for day in _days(calendar.local_date(start) - timedelta(days=1), calendar.local_date(end)):
        for a, b in calendar.intervals_on(day):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
    return total


def add_business_seconds(start: datetime, seconds: float, calendar: Calendar) -> datetime:
    """The moment `seconds` of opening hours after `start` (a closed start waits for opening)."""
    _check(start)
    if seconds < 0:
        raise ValueError("seconds must be >= 0")
    remaining = float(seconds)
    day = calendar.local_date(start) - timedelta(days=1)
    for _ in range(MAX_DAYS):
        for a, b in calendar.intervals_on(day):
            lo = max(a, start)
            if b <= lo:
                continue
            available = (b - lo).total_seconds()
            if remaining <= available:
                # Zero seconds from inside the hours is `start` itself; from outside, the opening.
                return lo + timedelta(seconds=remaining)
            remaining -= available
        day += timedelta(days=1)
    raise ValueError("the calendar has no opening hours in the next three years")


def elapsed(start: datetime, end: datetime, calendar: Calendar | None) -> float:
    """Calendar seconds when `calendar` is None, business seconds otherwise."""
    if calendar is None:
        return max((end - start).total_seconds(), 0.0)
    return business_seconds_between(start, end, calendar)


def advance(start: datetime, seconds: float, calendar: Calendar | None) -> datetime:
    """`start` + `seconds` of calendar time (calendar None) or of business time."""
    if calendar is None:
        return start + timedelta(seconds=seconds)
    return add_business_seconds(start, seconds, calendar)


def parse_hours(spec: Mapping[str, Iterable[Sequence[str]]]) -> dict[int, list[tuple[time, time]]]:
    """{"0": [["09:00", "18:00"]], ...} (JSON as stored) -> {0: [(time, time)]}."""
    out: dict[int, list[tuple[time, time]]] = {}
    for key, ranges in (spec or {}).items():
        parsed = []
        for pair in ranges:
            a, b = (time.fromisoformat(x) if x != "24:00" else time(0, 0) for x in pair)
            parsed.append((a, b))
        out[int(key)] = parsed
    return out


def format_hours(hours: Mapping[int, Sequence[tuple[time, time]]]) -> dict[str, list[list[str]]]:
    return {str(k): [[a.strftime("%H:%M"), "24:00" if b == time(0, 0) else b.strftime("%H:%M")]
                     for a, b in v] for k, v in hours.items()}
