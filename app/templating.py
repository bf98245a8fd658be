"""Jinja filters and globals shared by every template (times in the shop's zone, yen, labels)."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import format_datetime, lazy_gettext as _l

from app.models.tickets import OPEN_STATUSES


CHANNEL_LABELS = {
    "email": _l("Email"), "x": _l("X"), "phone": _l("Phone"), "api": _l("API"), "web": _l("Web form"),
}
STATUS_LABELS = {
    "new": _l("New"), "open": _l("Open"), "pending": _l("Pending"), "solved": _l("Solved"),
    "closed": _l("Closed"),
}
PRIORITY_LABELS = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")}
DIRECTION_LABELS = {"in": _l("Received"), "out": _l("Sent"), "internal": _l("Internal note")}
DELIVERY_LABELS = {
    "received": _l("Received"), "note": _l("Note"), "queued": _l("Queued"), "sending": _l("Sending"),
    "sent": _l("Sent"), "failed": _l("Failed"),
}
ROLE_LABELS = {"agent": _l("Agent"), "supervisor": _l("Supervisor"), "admin": _l("Admin")}
SUBSCRIPTION_LABELS = {"active": _l("Active"), "paused": _l("Paused"), "cancelled": _l("Cancelled")}


def local_time(value: datetime | None) -> datetime | None:
    """An aware datetime in the shop's time zone (Asia/Tokyo by default)."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def fmt_datetime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    return format_datetime(value, fmt) if value else ""


def fmt_date(value: date | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def yen(value: int | None) -> str:
    return f"¥{value or 0:,}"


def init_templating(app: Flask) -> None:
    app.jinja_env.filters.update(datetime=fmt_datetime, date=fmt_date, yen=yen, localtime=local_time)
    app.jinja_env.globals.update(
        CHANNEL_LABELS=CHANNEL_LABELS, STATUS_LABELS=STATUS_LABELS, PRIORITY_LABELS=PRIORITY_LABELS,
        DIRECTION_LABELS=DIRECTION_LABELS, DELIVERY_LABELS=DELIVERY_LABELS,
        SUBSCRIPTION_LABELS=SUBSCRIPTION_LABELS, ROLE_LABELS=ROLE_LABELS, OPEN_STATUSES=OPEN_STATUSES,
    )
