"""The subscription actions an agent can take instead of (or as) a cancellation, as pure rules.

Each action validates its input, computes a Preview (the subscription's fields before and after,
what changes, what to watch out for) and never touches the database: services.py records it and
the commerce backend carries it to the shop. Changes apply from the first delivery that is still
changeable; a delivery past its change deadline ships as planned, and the preview says so.
Cancelling is always possible (unless already cancelled) and is never blocked by stale data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Optional

from flask_babel import lazy_gettext as _l

from app.models import Product, Subscription
from app.retention.dates import Calendar, add_months, shop_date

KINDS = ("skip", "pause", "resume", "cycle", "swap", "quantity", "coupon", "cancel")
SAVE_KINDS = ("skip", "pause", "resume", "cycle", "swap", "quantity", "coupon")
MONEY_KINDS = ("coupon",)
LABELS = {
    "skip": _l("Skip the next delivery"), "pause": _l("Pause deliveries"), "resume": _l("Resume deliveries"),
    "cycle": _l("Change the delivery cycle"), "swap": _l("Swap product"),
    "quantity": _l("Reduce quantity"), "coupon": _l("Goodwill coupon"), "cancel": _l("Cancel subscription"),
}
SNAPSHOT_FIELDS = ("status", "product_id", "quantity", "cycle_days", "price", "next_ship_date",
                   "paused_until", "cancelled_at")
MAX_PAUSE_MONTHS = 3


class ActionError(ValueError):
    """Input the action cannot take; `message` says why, to a person. Nothing was changed."""

    def __init__(self, message, **params):
        super().__init__(message)
        self._message, self.params = message, params

    @property
    def message(self) -> str:
        return str(self._message) % self.params if self.params else str(self._message)

    def __str__(self) -> str:
        return self.message


@dataclass
class Preview:
    kind: str
    params: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    #: What changes, as sentences for the agent.
    changes: list[str] = field(default_factory=list)
    #: What to watch out for (a delivery past its deadline that will still ship...).
    notes: list[str] = field(default_factory=list)
    #: The delivery that ships anyway because it is past its change deadline.
    locked_date: Optional[date] = None
    #: Values the reply template uses (dates, product names...).
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def next_ship_date(self) -> Optional[date]:
        value = self.after.get("next_ship_date")
        return date.fromisoformat(value) if value else None


def _iso(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def snapshot(sub: Subscription) -> dict[str, Any]:
    return {name: _iso(getattr(sub, name)) for name in SNAPSHOT_FIELDS}


def _require_live(sub: Subscription) -> None:
    if sub.status == "cancelled":
        raise ActionError(_l("This subscription is already cancelled (%(when)s)."),
                          when=shop_date(sub.cancelled_at, "Asia/Tokyo").isoformat() if sub.cancelled_at else "-")


def _first_changeable(sub: Subscription, cal: Calendar) -> tuple[date, Optional[date]]:
    """(the first delivery a change can still reach, the delivery that ships anyway or None)."""
    if sub.status == "paused" and sub.paused_until:
        base = sub.paused_until
    elif sub.next_ship_date is None:
        raise ActionError(_l("The subscription has no next shipment date; update it from the shop first."))
    else:
        base = sub.next_ship_date
    if base < cal.today:
        raise ActionError(_l("The next shipment date %(date)s is in the past: the record is out of date. "
                             "Update the subscription from the shop first."), date=base.isoformat())
    if cal.is_locked(base):
        return cal.ship(base + timedelta(days=sub.cycle_days)), base
    return base, None


def _locked_note(preview: Preview, cal: Calendar) -> None:
    if preview.locked_date:
        preview.notes.append(str(_l("The delivery of %(date)s is past its change deadline (%(deadline)s) "
                                    "and will ship as planned.", date=preview.locked_date.isoformat(),
                                    deadline=cal.deadline_for(preview.locked_date).isoformat())))


def preview_skip(sub: Subscription, params: dict, cal: Calendar, **_) -> Preview:
    _require_live(sub)
    if sub.status == "paused":
        raise ActionError(_l("The subscription is paused until %(date)s: a skip cannot reach past the end "
                             "of a pause. Extend the pause instead."), date=_iso(sub.paused_until))
    skipped, locked = _first_changeable(sub, cal)
    new_next = cal.ship(skipped + timedelta(days=sub.cycle_days))
    before = snapshot(sub)
    after = dict(before, next_ship_date=new_next.isoformat())
    p = Preview("skip", {}, before, after, locked_date=locked,
                facts={"skipped_date": skipped, "next_date": new_next})
    p.changes.append(str(_l("The delivery of %(skipped)s is skipped; the next shipment is %(next)s.",
                            skipped=skipped.isoformat(), next=new_next.isoformat())))
    _locked_note(p, cal)
    return p


def preview_pause(sub: Subscription, params: dict, cal: Calendar, **_) -> Preview:
    _require_live(sub)
    base, locked = _first_changeable(sub, cal)
    resume_on = params.get("resume_on")
    if resume_on:
        resume = resume_on if isinstance(resume_on, date) else _parse_date(resume_on)
        if resume < cal.today:
            raise ActionError(_l("The date %(date)s is in the past."), date=resume.isoformat())
        if resume <= base:
            raise ActionError(_l("Deliveries must resume after %(date)s."), date=base.isoformat())
        if resume > add_months(base, MAX_PAUSE_MONTHS):
            raise ActionError(_l("A pause lasts at most %(n)s months (until %(date)s)."),
                              n=MAX_PAUSE_MONTHS, date=add_months(base, MAX_PAUSE_MONTHS).isoformat())
        months = None
    else:
        months = _int(params.get("months", 1), _l("months"))
        if not 1 <= months <= MAX_PAUSE_MONTHS:
            raise ActionError(_l("A pause lasts 1 to %(n)s months."), n=MAX_PAUSE_MONTHS)
        resume = add_months(base, months)
    resume = cal.ship(resume)
    before = snapshot(sub)
    after = dict(before, status="paused", paused_until=resume.isoformat(), next_ship_date=resume.isoformat())
    p = Preview("pause", {"months": months, "resume_on": resume.isoformat() if not months else None},
                before, after, locked_date=locked,
                facts={"paused_from": base, "resume_date": resume, "months": months})
    p.changes.append(str(_l("Deliveries pause from %(start)s; they resume on %(resume)s.",
                            start=base.isoformat(), resume=resume.isoformat())))
    _locked_note(p, cal)
    return p


def preview_resume(sub: Subscription, params: dict, cal: Calendar, **_) -> Preview:
    """End a pause early: the next shipment is the first one a change made today can reach."""
    _require_live(sub)
    if sub.status != "paused":
        raise ActionError(_l("The subscription is not paused."))
    resume = cal.ship(cal.earliest_changeable())
    if sub.paused_until and sub.paused_until <= resume:
        raise ActionError(_l("Deliveries already resume on %(date)s."), date=sub.paused_until.isoformat())
    before = snapshot(sub)
    after = dict(before, status="active", paused_until=None, next_ship_date=resume.isoformat())
    p = Preview("resume", {}, before, after, facts={"next_date": resume})
    p.changes.append(str(_l("Deliveries resume; the next shipment is %(next)s.", next=resume.isoformat())))
    return p


def preview_cycle(sub: Subscription, params: dict, cal: Calendar, cycle_options=(30, 45, 60, 90), **_) -> Preview:
    _require_live(sub)
    cycle = _int(params.get("cycle_days"), _l("cycle"))
    if cycle not in cycle_options:
        raise ActionError(_l("Choose a cycle of %(options)s days."), options=", ".join(map(str, cycle_options)))
    if cycle == sub.cycle_days:
        raise ActionError(_l("The subscription already has a %(n)s-day cycle."), n=cycle)
    before = snapshot(sub)
    if sub.status == "paused":
        after, locked, new_next = dict(before, cycle_days=cycle), None, sub.paused_until
    else:
        base, locked = _first_changeable(sub, cal)
        if locked:
            new_next = cal.ship(locked + timedelta(days=cycle))
        else:
            anchor = sub.last_ship_date or (base - timedelta(days=sub.cycle_days))
            new_next = cal.ship(max(anchor + timedelta(days=cycle), cal.earliest_changeable()))
        after = dict(before, cycle_days=cycle, next_ship_date=new_next.isoformat())
    p = Preview("cycle", {"cycle_days": cycle}, before, after, locked_date=locked,
                facts={"cycle_days": cycle, "old_cycle_days": sub.cycle_days, "next_date": new_next})
    p.changes.append(str(_l("Every %(new)s days instead of %(old)s; the next shipment is %(next)s.",
                            new=cycle, old=sub.cycle_days, next=_iso(new_next))))
    _locked_note(p, cal)
    return p


def preview_swap(sub: Subscription, params: dict, cal: Calendar, product: Optional[Product] = None, **_) -> Preview:
    _require_live(sub)
    if product is None:
        raise ActionError(_l("Unknown product: choose one from the list."))
    if not product.active:
        raise ActionError(_l("%(product)s is no longer sold."), product=product.label)
    if product.id == sub.product_id:
        raise ActionError(_l("The subscription already delivers %(product)s."), product=product.label)
    unit = product.subscription_price if product.subscription_price is not None else product.price
    before = snapshot(sub)
    after = dict(before, product_id=product.id, price=unit * sub.quantity)
    locked = None
    if sub.status == "active" and sub.next_ship_date:
        _, locked = _first_changeable(sub, cal)
    p = Preview("swap", {"product_id": product.id}, before, after, locked_date=locked,
                facts={"new_product": product.label, "old_product": sub.product.label if sub.product else "",
                       "price": unit * sub.quantity})
    p.changes.append(str(_l("%(old)s becomes %(new)s (%(price)s yen per delivery).",
                            old=p.facts["old_product"], new=product.label, price=f"{unit * sub.quantity:,}")))
    _locked_note(p, cal)
    return p


def preview_quantity(sub: Subscription, params: dict, cal: Calendar, **_) -> Preview:
    _require_live(sub)
    quantity = _int(params.get("quantity", sub.quantity - 1), _l("quantity"))
    if sub.quantity <= 1:
        raise ActionError(_l("The subscription already delivers one item."))
    if not 1 <= quantity < sub.quantity:
        raise ActionError(_l("Choose a quantity from 1 to %(n)s."), n=sub.quantity - 1)
    unit = sub.price // sub.quantity if sub.quantity else sub.price
    before = snapshot(sub)
    after = dict(before, quantity=quantity, price=unit * quantity)
    locked = None
    if sub.status == "active" and sub.next_ship_date:
        _, locked = _first_changeable(sub, cal)
    p = Preview("quantity", {"quantity": quantity}, before, after, locked_date=locked,
                facts={"quantity": quantity, "old_quantity": sub.quantity, "price": unit * quantity})
    p.changes.append(str(_l("%(old)s becomes %(new)s per delivery (%(price)s yen).",
                            old=sub.quantity, new=quantity, price=f"{unit * quantity:,}")))
    _locked_note(p, cal)
    return p


def preview_cancel(sub: Subscription, params: dict, cal: Calendar, requested_at: Optional[datetime] = None,
                   now: Optional[datetime] = None, tz: str = "Asia/Tokyo", **_) -> Preview:
    """Cancel, effective from the time the request was first received when there is one."""
    _require_live(sub)
    effective = requested_at or now
    before = snapshot(sub)
    after = dict(before, status="cancelled", next_ship_date=None, paused_until=None,
                 cancelled_at=_iso(effective))
    p = Preview("cancel", {"late_accepted": bool(params.get("late_accepted"))}, before, after,
                facts={"cancelled_date": shop_date(effective, tz) if effective else cal.today})
    p.changes.append(str(_l("The subscription ends, effective %(when)s; no further deliveries.",
                            when=p.facts["cancelled_date"].isoformat())))
    nxt = sub.next_ship_date if sub.status == "active" else None
    if nxt and nxt >= cal.today and cal.is_locked(nxt):
        asked_on = shop_date(requested_at, tz) if requested_at else cal.today
        if not cal.is_locked(nxt, on=asked_on):
            p.notes.append(str(_l("The request arrived before the change deadline of the delivery of %(date)s: "
                                  "that delivery must be stopped.", date=nxt.isoformat())))
            p.facts["stop_date"] = nxt
        else:
            p.locked_date = nxt
            p.notes.append(str(_l("The delivery of %(date)s was past its change deadline when the request "
                                  "arrived and will ship (期間外). If the customer agrees to receive it, record "
                                  "“accepted late delivery”.", date=nxt.isoformat())))
    if params.get("late_accepted") and p.locked_date is None:
        raise ActionError(_l("No delivery is past its change deadline: cancel without a late delivery."))
    return p


def preview_coupon(sub: Optional[Subscription], params: dict, cal: Calendar, **_) -> Preview:
    value = _int(params.get("value"), _l("value"))
    if value <= 0:
        raise ActionError(_l("The value must be greater than zero."))
    days = _int(params.get("valid_days", 60), _l("valid days"))
    expires = cal.today + timedelta(days=days)
    p = Preview("coupon", {"value": value, "valid_days": days}, {}, {},
                facts={"coupon_value": value, "expires": expires})
    p.changes.append(str(_l("A goodwill coupon of %(value)s yen, valid until %(date)s.",
                            value=f"{value:,}", date=expires.isoformat())))
    return p


PREVIEWS = {"skip": preview_skip, "pause": preview_pause, "resume": preview_resume, "cycle": preview_cycle, "swap": preview_swap,
            "quantity": preview_quantity, "cancel": preview_cancel, "coupon": preview_coupon}


def preview(kind: str, sub: Subscription, params: dict, cal: Calendar, **context) -> Preview:
    """The preview of action `kind`, or ActionError saying why it cannot be done."""
    if kind not in PREVIEWS:
        raise ActionError(_l("Unknown action."))
    return PREVIEWS[kind](sub, params or {}, cal, **context)


def apply(sub: Subscription, after: dict[str, Any]) -> None:
    """Write the after-state onto the subscription (only the fields the action owns)."""
    for name in SNAPSHOT_FIELDS:
        if name not in after:
            continue
        value = after[name]
        if name in ("next_ship_date", "paused_until") and value:
            value = date.fromisoformat(value)
        elif name == "cancelled_at" and value:
            value = datetime.fromisoformat(value)
        setattr(sub, name, value)


def _int(value, name) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ActionError(_l("%(name)s must be a whole number."), name=str(name)) from None


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ActionError(_l("%(value)s is not a date (YYYY-MM-DD)."), value=value) from None
