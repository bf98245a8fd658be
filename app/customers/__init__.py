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


@bp.app_template_global("event_summary")
def _event_summary(event):
    from app.customers.event_text import summary

    return summary(event)


@bp.app_template_filter("merge_reason")
def _merge_reason(reason):
    from app.customers.merge import REASON_LABELS

    return REASON_LABELS.get(reason, reason)
