"""Jinja filters and globals shared by every template (times in the shop's zone, yen, labels)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import format_datetime, get_locale, gettext as _, lazy_gettext as _l
from markupsafe import Markup

from app.models.tickets import OPEN_STATUSES


CHANNEL_LABELS = {
    "email": _l("Email"), "x": _l("X"), "line": _l("LINE"), "phone": _l("Phone"), "api": _l("API"), "web": _l("Web form"),
}
STATUS_LABELS = {
    "new": _l("New"), "open": _l("Open"), "pending": _l("Pending"), "solved": _l("Solved"),
    "closed": _l("Closed"),
}
PRIORITY_LABELS = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")}
DIRECTION_LABELS = {"in": _l("Received"), "out": _l("Sent"), "internal": _l("Internal note")}
DELIVERY_LABELS = {
    "received": _l("Received"), "note": _l("Note"), "queued": _l("Queued"), "sending": _l("Sending"),
    "sent": _l("Sent"), "failed": _l("Failed"), "unverified": _l("Probably sent — check"),
    "handled": _l("Handled"),
}
ROLE_LABELS = {"agent": _l("Agent"), "supervisor": _l("Supervisor"), "admin": _l("Admin")}
SUBSCRIPTION_LABELS = {"active": _l("Active"), "paused": _l("Paused"), "cancelled": _l("Cancelled")}


def local_time(value: datetime | None) -> datetime | None:
    """An aware datetime in the shop's time zone (Asia/Tokyo by default)."""
    if value is None:
        return None
    if value.tzinfo is None:  # stored times are UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


DEFAULT_DATETIME = "yyyy-MM-dd HH:mm"


def fmt_datetime(value: datetime | None, fmt: str = DEFAULT_DATETIME) -> str:
    """`value` in the shop's zone. The default pattern has no localised parts, so it skips
    Babel's per-call pattern handling (an inbox or timeline page formats a hundred times)."""
    if not value:
        return ""
    if fmt == DEFAULT_DATETIME:
        return local_time(value).strftime("%Y-%m-%d %H:%M")
    return format_datetime(value, fmt)


def time_tag(value: datetime | None) -> Markup:
    """<time datetime="ISO">2026-11-24 09:30</time>, or nothing."""
    if not value:
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), fmt_datetime(value))


# Badges shared by the inbox, ticket and customer pages ({% import "_badges.html" as badges %}):
# plain functions rather than Jinja macros, because an inbox page shows two hundred of them and a
# macro call costs ten times as much. The markup of a (kind, value) is the same for every row, so
# it is built once per locale.
_BADGE_LABELS = {"ch": CHANNEL_LABELS, "st": STATUS_LABELS, "pr": PRIORITY_LABELS, "dl": DELIVERY_LABELS}


@lru_cache(maxsize=256)
def _badge(css: str, name: str, locale: tuple) -> Markup:
    label = _BADGE_LABELS[css].get(name, name)
    return Markup('<span class="badge {0} {0}-{1}">{2}</span>').format(css, name, str(label))


def _locale_key() -> tuple:
    locale = get_locale()
    return (locale.language, locale.territory) if locale else ()


def _badge_of(css: str):
    def render(name) -> Markup:
        return _badge(css, str(name), _locale_key())
    return render


def intent_badge(ticket) -> Markup:
    if ticket.intent == "possible_cancellation":  # the model was not sure: the agent decides
        return Markup('<span class="badge intent intent-maybe" title="{}">{}</span>').format(
            _("The detector is not sure: read it and mark it as a cancellation request, or clear it."),
            _("Cancellation?"))
    if ticket.intent == "skip":
        return Markup('<span class="badge intent intent-skip">{}</span>').format(_("Skip one delivery"))
    if ticket.intent != "cancellation":
        return Markup("")
    from app.retention.panel import REASON_LABELS  # here: retention imports this module

    reason = REASON_LABELS.get(ticket.intent_reason, "") if ticket.intent_reason else ""
    return Markup('<span class="badge intent intent-cancellation" title="{}">{}</span>').format(
        str(reason), _("Cancellation"))


BADGES = {"channel": _badge_of("ch"), "status": _badge_of("st"), "priority": _badge_of("pr"),
          "delivery": lambda message: _badge("dl", str(message.delivery_status), _locale_key()),
          "intent": intent_badge}


def fmt_date(value: date | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def yen(value: int | None) -> str:
    return f"¥{value or 0:,}"


def init_templating(app: Flask) -> None:
    app.jinja_env.filters.update(datetime=fmt_datetime, date=fmt_date, yen=yen, localtime=local_time,
                                 time_tag=time_tag)
    app.jinja_env.globals.update(
        CHANNEL_LABELS=CHANNEL_LABELS, STATUS_LABELS=STATUS_LABELS, PRIORITY_LABELS=PRIORITY_LABELS,
        DIRECTION_LABELS=DIRECTION_LABELS, DELIVERY_LABELS=DELIVERY_LABELS,
        SUBSCRIPTION_LABELS=SUBSCRIPTION_LABELS, ROLE_LABELS=ROLE_LABELS, OPEN_STATUSES=OPEN_STATUSES, BADGES=BADGES,
    )
    from app.outbox.explain import explain

    app.jinja_env.globals["explain_delivery_error"] = explain  # translated at call time
