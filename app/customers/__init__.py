"""Customers: the customer page and merge."""
from flask import Blueprint

bp = Blueprint("customers", __name__, template_folder="templates")

from app.customers import routes  # noqa: E402,F401


@bp.app_template_global("split_quoted")
def _split_quoted(text):
    from app.customers.timeline import split_quoted

    return split_quoted(text)


@bp.app_template_global("parse_iso")
def _parse_iso(value):
    from datetime import datetime

    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


@bp.app_template_global("now_utc")
def _now_utc():
    from app.models import utcnow

    return utcnow()


@bp.app_template_filter("jst")
def _jst(value):
    """'2026-11-24 09:30' in the shop's zone (Asia/Tokyo): the `datetime` filter's default format,
    without Babel's per-call pattern parsing (a timeline page formats a hundred times)."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    if value is None:
        return ""
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y-%m-%d %H:%M")
