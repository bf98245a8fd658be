"""What an action did, as one short line for the ladder ("Skipped: 12/12 → 1/11").

Read from the action's recorded before/after, so the line says what the shop was asked to do
whatever the subscription looks like now. Dates are month/day in the shop's calendar.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import Product, SubscriptionAction

LINES = {
    "skip": _l("Skipped: %(old)s → %(new)s"),
    "pause": _l("Paused: %(old)s → resumes %(new)s"),
    "resume": _l("Resumed: next shipment %(new)s"),
    "cycle": _l("Cycle changed: every %(old)s → %(new)s days"),
    "swap": _l("Product changed: %(old)s → %(new)s"),
    "quantity": _l("Quantity changed: %(old)s → %(new)s"),
    "coupon": _l("Coupon issued: %(new)s yen"),
    "cancel": _l("Cancelled, effective %(new)s"),
}


def short_date(value: Any) -> str:
    """'12/12' for an ISO date or datetime string (or a date), '-' for nothing."""
    if not value:
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return f"{value.month}/{value.day}"


def _product(product_id: Any) -> str:
    product = db.session.get(Product, product_id) if product_id else None
    return product.label if product is not None else "-"


def _values(action: SubscriptionAction) -> Optional[dict[str, Any]]:
    before, after = action.before or {}, action.after or {}
    kind = action.kind
    if kind == "skip":
        return {"old": short_date(before.get("next_ship_date")), "new": short_date(after.get("next_ship_date"))}
    if kind == "pause":
        return {"old": short_date(before.get("next_ship_date")), "new": short_date(after.get("paused_until"))}
    if kind == "resume":
        return {"new": short_date(after.get("next_ship_date"))}
    if kind in ("cycle", "quantity"):
        field = "cycle_days" if kind == "cycle" else "quantity"
        return {"old": before.get(field, "-"), "new": after.get(field, "-")}
    if kind == "swap":
        return {"old": _product(before.get("product_id")), "new": _product(after.get("product_id"))}
    if kind == "coupon":
        value = after.get("value") or (action.params or {}).get("value") or 0
        return {"new": f"{int(value):,}"}
    if kind == "cancel":
        return {"new": short_date(after.get("cancelled_at"))}
    return None


def line(action: SubscriptionAction) -> str:
    """The action as one line, in the viewer's language."""
    values = _values(action)
    if values is None or action.kind not in LINES:
        return action.kind
    return str(LINES[action.kind]) % values
