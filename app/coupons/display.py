"""How coupons read on pages: status labels, why approval was needed, timeline event text.

Registered as template globals/filters by the blueprint, so the ticket page and the timeline
(owned by other features) can use them: COUPON_STATUS_LABELS, `|coupon_over`,
`coupon_event_text(event)`.
"""
from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l

from app.coupons import bp
from app.coupons.services import MESSAGES

COUPON_STATUS_LABELS = {"requested": _l("Waiting for approval"), "issued": _l("Issued"),
                        "refused": _l("Refused"), "redeemed": _l("Redeemed"),
                        "expired": _l("Expired")}
#: Why a coupon needed approval (Coupon.approval_reasons holds the keys, comma-separated).
OVER_LABELS = {"max_amount": _l("over the yen limit"), "max_percent": _l("over the percent limit"),
               "budget": _l("over the monthly budget"),
               "customer_limit": _l("over the per-customer limit")}
bp.add_app_template_global(COUPON_STATUS_LABELS, "COUPON_STATUS_LABELS")


@bp.app_template_filter("coupon_over")
def coupon_over(keys) -> str:
    if isinstance(keys, (list, tuple)):
        keys = ",".join(keys)
    return ", ".join(str(OVER_LABELS.get(k, k)) for k in (keys or "").split(",") if k)


def _value(data: dict) -> str:
    value = data.get("value") or 0
    return f"{value}%" if data.get("kind") == "percent" else f"¥{value:,}"


@bp.app_template_global()
def coupon_event_text(event) -> str:
    """One line for a coupon.* Event on the timeline (autoescaped by Jinja)."""
    d = event.data or {}
    kind = event.kind
    if kind == "coupon.issued":
        return _("Coupon %(code)s issued: %(value)s (%(reason)s)", code=d.get("code"),
                 value=_value(d), reason=d.get("reason", ""))
    if kind == "coupon.requested":
        return _("Coupon of %(value)s requested (%(reason)s): %(over)s", value=_value(d),
                 reason=d.get("reason", ""), over=coupon_over(d.get("over") or []))
    if kind == "coupon.approved":
        return _("Coupon request approved: %(code)s", code=d.get("code"))
    if kind == "coupon.refused":
        return _("Coupon request refused: %(note)s", note=event.note)
    if kind == "coupon.redeemed":
        return _("Coupon %(code)s used on an order", code=d.get("code"))
    if kind == "coupon.denied":
        return _("Coupon refused: %(why)s", why=str(MESSAGES.get(d.get("why"), d.get("why"))))
    return kind
