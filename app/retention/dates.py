"""Shipment date arithmetic: the shop's today, month steps, change deadlines, optional holidays.

Dates are the shop's calendar dates (Asia/Tokyo by default). Month steps clamp to the month's end
(31 Jan + 1 month = 28 or 29 Feb). Japanese public holidays only move a shipment when the shop
says so (RETENTION_SHIP_AVOID_HOLIDAYS): most carriers deliver on holidays.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta


def shop_date(moment: datetime, tz: str) -> date:
    """The calendar date of an aware `moment` in the shop's time zone."""
    return moment.astimezone(ZoneInfo(tz)).date()


def add_months(day: date, months: int) -> date:
    """`day` plus whole months, clamped to the end of shorter months (leap years included)."""
    return day + relativedelta(months=months)


def is_holiday(day: date) -> bool:
    """Japanese public holidays: the one definition in app.sla.business_time."""
    from app.sla.business_time import is_public_holiday

    return is_public_holiday(day)


def shipping_day(day: date, avoid_holidays: bool) -> date:
    """The first day on or after `day` a shipment may leave (holidays only when configured)."""
    if not avoid_holidays:
        return day
    while is_holiday(day):
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class Calendar:
    """What the date rules need to know about the shop, read once from the config."""

    today: date
    #: A shipment on day D can be changed until D - deadline_days (inclusive).
    deadline_days: int = 5
    avoid_holidays: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any], now: datetime) -> "Calendar":
        return cls(today=shop_date(now, config["TIMEZONE"]),
                   deadline_days=int(config["RETENTION_CHANGE_DEADLINE_DAYS"]),
                   avoid_holidays=bool(config["RETENTION_SHIP_AVOID_HOLIDAYS"]))

    def deadline_for(self, ship_date: date) -> date:
        """The last day on which the shipment of `ship_date` can still be changed."""
        return ship_date - timedelta(days=self.deadline_days)

    def is_locked(self, ship_date: date, on: date | None = None) -> bool:
        """True when the shipment is past its change deadline (it will leave as planned)."""
        return (on or self.today) > self.deadline_for(ship_date)

    def earliest_changeable(self) -> date:
        """The first ship date a change made today can still reach."""
        return self.today + timedelta(days=self.deadline_days + 1)

    def ship(self, day: date) -> date:
        return shipping_day(day, self.avoid_holidays)
