"""Timeline events as sentences: one place that turns an Event (kind + data) into a line a person
reads, in the viewer's language, with dates in the shop's time zone.

The timeline templates (`{{ event_summary(e) }}`) and the API (`summary` beside the machine
fields) both use `summary(event)`. Everything is translated at call time with the request's
locale; nothing is cached across requests. A kind this module does not know reads as a plain
"someone recorded …" sentence, never as a dump of its data.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Optional

from flask_babel import format_date, get_locale, gettext as _

from app.coupons.display import OVER_LABELS
from app.coupons.services import MESSAGES as COUPON_MESSAGES
from app.extensions import db
from app.models import Event, Product
from app.retention.actions import LABELS as ACTION_LABELS
from app.retention.panel import OUTCOME_LABELS, REASON_LABELS, SAVED_BY_LABELS
from app.templating import PRIORITY_LABELS, ROLE_LABELS, STATUS_LABELS, local_time, yen

#: A date within this many days of the event reads without its year ("12/12", "Dec 12").
_YEARLESS_DAYS = 300
_NONE = "—"


class _Facts:
    """What every sentence needs: who did it, the event's day, the data (never None)."""

    def __init__(self, event: Event):
        self.event = event
        self.data: dict[str, Any] = event.data if isinstance(event.data, dict) else {}
        actor = event.actor if event.actor_id else None
        self.who = actor.name if actor is not None and actor.name else (_("An agent") if event.actor_id
                                                                         else _("The system"))
        self.day = _shop_date(event.created_at)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def summary(event: Event) -> str:
    """One sentence for `event` in the current locale (plain text: callers escape it)."""
    facts = _Facts(event)
    render = _RENDERERS.get(event.kind)
    if render is None and event.kind.startswith("subscription."):
        render = _subscription
    try:
        text = render(facts) if render is not None else None
    except (TypeError, ValueError, KeyError, AttributeError):
        text = None  # unexpected data (an old event, a hand-made one): say what we safely can
    return text or _("%(who)s recorded an activity (%(kind)s)", who=facts.who, kind=_kind_words(event.kind))


# --- formatting helpers --------------------------------------------------------------------------

def _kind_words(kind: str) -> str:
    return " ".join(part for part in (kind or "").replace("_", " ").split(".") if part) or "-"


def _label(labels: dict, value: Any) -> str:
    if value in (None, ""):
        return _NONE
    return str(labels.get(value, value))


def _shop_date(value: Any) -> Optional[date]:
    if isinstance(value, datetime):
        return local_time(value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value)
        return local_time(parsed).date() if ("T" in value or " " in value) else parsed.date()
    return None


def _day(value: Any, facts: _Facts) -> str:
    """A date the way an agent says it: 12/12 (ja) or Dec 12 (en); with the year when far away."""
    when = _shop_date(value)
    if when is None:
        return _NONE
    locale = get_locale()
    ja = bool(locale and locale.language == "ja")
    near = facts.day is not None and abs((when - facts.day).days) < _YEARLESS_DAYS
    if ja:
        return format_date(when, "M/d" if near else "yyyy/M/d")
    return format_date(when, "MMM d" if near else "MMM d, yyyy")


def _arrow(old: Any, new: Any) -> dict[str, str]:
    return {"old": str(old) if old not in (None, "") else _NONE, "new": str(new) if new not in (None, "") else _NONE}


def _names(values: Any) -> str:
    return ", ".join(str(v) for v in values) if values else _NONE


def _money(data: dict) -> str:
    value = data.get("value") or 0
    return f"{value}%" if data.get("kind") == "percent" else yen(int(value))


def _product(product_id: Any) -> str:
    # The identity map answers repeats; swaps are rare, so this costs a query per product at most.
    product = db.session.get(Product, product_id) if isinstance(product_id, int) else None
    return product.label if product is not None else (f"#{product_id}" if product_id else _NONE)


# --- tickets, messages, customers, X -------------------------------------------------------------

def _ticket_status(f: _Facts) -> str:
    arrow = dict(old=_label(STATUS_LABELS, f.get("old")), new=_label(STATUS_LABELS, f.get("new")))
    if f.event.actor_id:
        return _("%(who)s changed the status: %(old)s → %(new)s", who=f.who, **arrow)
    if f.get("why") == "customer replied":
        return _("The customer replied, so the ticket reopened: %(old)s → %(new)s", **arrow)
    if f.get("why") in ("delivery failed", "delivery unverified"):
        return _("A reply did not reach the customer, so the ticket reopened: %(old)s → %(new)s", **arrow)
    return _("Status changed: %(old)s → %(new)s", **arrow)


def _ticket_priority(f: _Facts) -> str:
    return _("%(who)s changed the priority: %(old)s → %(new)s", who=f.who,
             old=_label(PRIORITY_LABELS, f.get("old")), new=_label(PRIORITY_LABELS, f.get("new")))


def _ticket_assigned(f: _Facts) -> str:
    return _("%(who)s changed the assignee: %(old)s → %(new)s", who=f.who,
             old=f.get("old_name") or _("Unassigned"), new=f.get("new_name") or _("Unassigned"))


def _ticket_team(f: _Facts) -> str:
    return _("%(who)s moved the ticket to another team: %(old)s → %(new)s", who=f.who,
             old=f.get("old_name") or _("No team"), new=f.get("new_name") or _("No team"))


def _ticket_tags(f: _Facts) -> str:
    return _("%(who)s changed the tags: %(old)s → %(new)s", who=f.who, old=_names(f.get("old")),
             new=_names(f.get("new")))


def _follow_up(f: _Facts) -> str:
    return _("Follow-up of ticket #%(id)s", id=f.get("previous_ticket_id"))


def _message_retry(f: _Facts) -> str:
    return _("%(who)s sent a failed message again", who=f.who)


def _message_handled(f: _Facts) -> str:
    return _("%(who)s marked an undelivered reply as handled", who=f.who)


def _compliance(f: _Facts) -> str:
    return _("%(who)s sent a reply after confirming the reply-check warning: %(words)s", who=f.who,
             words="、".join(str(w) for w in f.get("words") or ()) or _NONE)


def _merged(f: _Facts) -> str:
    source = f"#{f.get('source')}" + (f" {f.get('source_name')}" if f.get("source_name") else "")
    return _("%(who)s merged customer %(source)s into this customer", who=f.who, source=source)


def _unmerged(f: _Facts) -> str:
    return _("%(who)s undid the merge of customer #%(source)s into #%(target)s", who=f.who,
             source=f.get("source"), target=f.get("target"))


def _line_follow(f: _Facts) -> str:
    return _("The customer added our LINE account as a friend (or unblocked it)")


def _line_unfollow(f: _Facts) -> str:
    return _("The customer blocked our LINE account: LINE replies are stopped")


def _line_linked(f: _Facts) -> str:
    key = f"{_('member id') if f.get('via') == 'member_id' else _('order number')} {f.get('key')}"
    if f.get("source") == "api":
        return _("The shop's system linked a LINE user to this customer (%(key)s)", key=key)
    return _("%(who)s linked a LINE user to this customer (%(key)s)", who=f.who, key=key)


def _followup_task(f: _Facts) -> str:
    if f.event.kind.endswith("_skipped"):
        return _("%(who)s skipped a follow-up task", who=f.who)
    return _("%(who)s completed a follow-up task", who=f.who)


def _followup_consent(f: _Facts) -> str:
    return _("Consent to advertising mail recorded (%(source)s)", source=f.get("source") or _NONE)


def _followup_unsubscribed(f: _Facts) -> str:
    if f.get("via") == "one-click":
        return _("The customer unsubscribed from advertising mail (one-click link in a mail)")
    return _("The customer unsubscribed from advertising mail")


def _listening(f: _Facts) -> str:
    return _("%(who)s made a ticket of an X post found by listening", who=f.who)


def _mentions_gap(f: _Facts) -> str:
    return _("Some X mentions may be missing: the X API skipped part of the timeline")


# --- retention --------------------------------------------------------------------------------------

def _flagged(f: _Facts) -> str:
    reason = _label(REASON_LABELS, f.get("reason"))
    if f.get("source") == "agent":
        return _("%(who)s marked this as a cancellation request (%(reason)s)", who=f.who, reason=reason)
    return _("Detected as a cancellation request (%(reason)s)", reason=reason)


def _maybe(f: _Facts) -> str:
    return _("Perhaps a cancellation request (%(reason)s): an agent should check", reason=_label(REASON_LABELS, f.get("reason")))


def _skip_requested(f: _Facts) -> str:
    return _("The customer asks to skip a delivery")


def _cleared(f: _Facts) -> str:
    return _("%(who)s marked this as not a cancellation request", who=f.who)


def _reason(f: _Facts) -> str:
    return _("%(who)s changed the cancellation reason: %(old)s → %(new)s", who=f.who,
             old=_label(REASON_LABELS, f.get("old")), new=_label(REASON_LABELS, f.get("new")))


def _outcome(f: _Facts) -> str:
    outcome = _label(OUTCOME_LABELS, f.get("new"))
    if f.get("new") in ("saved", "pending") and f.get("saved_by"):
        return _("%(who)s recorded the outcome: %(outcome)s (%(by)s, %(value)s a year)", who=f.who,
                 outcome=outcome, by=_label(SAVED_BY_LABELS, f.get("saved_by")),
                 value=yen(int(f.get("value_retained") or 0)))
    return _("%(who)s recorded the outcome: %(outcome)s", who=f.who, outcome=outcome)


def _subscription(f: _Facts) -> str:
    kind = f.event.kind.split(".", 1)[1]
    before, after = f.get("before") or {}, f.get("after") or {}
    if kind == "skip":
        return _("%(who)s skipped a delivery: %(old)s → %(new)s", who=f.who,
                 old=_day(before.get("next_ship_date"), f), new=_day(after.get("next_ship_date"), f))
    if kind == "pause":
        return _("%(who)s paused deliveries; they resume on %(date)s", who=f.who,
                 date=_day(after.get("paused_until") or after.get("next_ship_date"), f))
    if kind == "resume":
        return _("%(who)s resumed deliveries; the next shipment is %(date)s", who=f.who,
                 date=_day(after.get("next_ship_date"), f))
    if kind == "cycle":
        return _("%(who)s changed the delivery cycle: every %(old)s → %(new)s days", who=f.who,
                 **_arrow(before.get("cycle_days"), after.get("cycle_days")))
    if kind == "swap":
        return _("%(who)s swapped the product: %(old)s → %(new)s", who=f.who,
                 old=_product(before.get("product_id")), new=_product(after.get("product_id")))
    if kind == "quantity":
        return _("%(who)s changed the quantity: %(old)s → %(new)s per delivery", who=f.who,
                 **_arrow(before.get("quantity"), after.get("quantity")))
    if kind == "coupon":
        return _("%(who)s offered a goodwill coupon", who=f.who)
    if kind == "cancel":
        return _("%(who)s cancelled the subscription (effective %(date)s)", who=f.who,
                 date=_day(after.get("cancelled_at") or f.event.created_at, f))
    if kind == "action_retry":
        return _("%(who)s sent a change to the shop again: %(action)s", who=f.who,
                 action=_label(ACTION_LABELS, f.get("kind")))
    if kind == "action_failed":
        return _("The shop did not apply a change (%(action)s): %(error)s",
                 action=_label(ACTION_LABELS, f.get("kind")), error=f.get("error") or _NONE)
    if kind in ACTION_LABELS:
        return _("%(who)s changed the subscription: %(action)s", who=f.who, action=_label(ACTION_LABELS, kind))
    return None


# --- coupons ------------------------------------------------------------------------------------

def _over(keys: Any) -> str:
    keys = keys.split(",") if isinstance(keys, str) else (keys or ())
    return ", ".join(str(OVER_LABELS.get(k, k)) for k in keys if k) or _NONE


def _coupon_issued(f: _Facts) -> str:
    return _("%(who)s issued coupon %(code)s: %(value)s (%(reason)s)", who=f.who, code=f.get("code") or _NONE,
             value=_money(f.data), reason=f.get("reason") or _NONE)


def _coupon_requested(f: _Facts) -> str:
    return _("%(who)s asked for approval of a %(value)s coupon (%(reason)s): %(over)s", who=f.who,
             value=_money(f.data), reason=f.get("reason") or _NONE, over=_over(f.get("over")))


def _coupon_approved(f: _Facts) -> str:
    return _("%(who)s approved coupon %(code)s", who=f.who, code=f.get("code") or _NONE)


def _coupon_refused(f: _Facts) -> str:
    return _("%(who)s refused the coupon request", who=f.who)  # the why is the event's note


def _coupon_redeemed(f: _Facts) -> str:
    return _("Coupon %(code)s used on an order", code=f.get("code") or _NONE)


def _coupon_denied(f: _Facts) -> str:
    why = f.get("why")
    return _("%(who)s was refused a coupon action: %(why)s", who=f.who,
             why=str(COUPON_MESSAGES.get(why, why or _NONE)))


def _coupon_policy(f: _Facts) -> str:
    return _("%(who)s changed the coupon limits of %(role)s", who=f.who, role=_label(ROLE_LABELS, f.get("role")))


def _coupon_reason(f: _Facts) -> str:
    if f.get("active"):
        return _("%(who)s offered the coupon reason “%(label)s”", who=f.who, label=f.get("label") or _NONE)
    return _("%(who)s withdrew the coupon reason “%(label)s”", who=f.who, label=f.get("label") or _NONE)


_RENDERERS: dict[str, Callable[[_Facts], Optional[str]]] = {
    "ticket.status": _ticket_status, "ticket.priority": _ticket_priority, "ticket.assigned": _ticket_assigned,
    "ticket.team": _ticket_team, "ticket.tags": _ticket_tags, "ticket.follow_up": _follow_up, "message.retry": _message_retry,
    "message.handled": _message_handled,
    "reply.compliance_confirmed": _compliance, "customer.merged": _merged, "customer.unmerged": _unmerged,
    "line.follow": _line_follow, "line.unfollow": _line_unfollow, "line.linked": _line_linked,
    "followup.task_done": _followup_task, "followup.task_skipped": _followup_task,
    "followup.consent": _followup_consent, "followup.unsubscribed": _followup_unsubscribed,
    "x.listening_ticket": _listening, "x.mentions_gap": _mentions_gap,
    "retention.flagged": _flagged, "retention.cleared": _cleared, "retention.reason": _reason,
    "retention.outcome": _outcome, "retention.maybe": _maybe, "retention.skip_requested": _skip_requested,
    "coupon.issued": _coupon_issued, "coupon.requested": _coupon_requested, "coupon.approved": _coupon_approved,
    "coupon.refused": _coupon_refused, "coupon.redeemed": _coupon_redeemed, "coupon.denied": _coupon_denied,
    "coupon.policy": _coupon_policy, "coupon.reason": _coupon_reason,
}
#: Every kind with a sentence of its own (subscription.* kinds share one renderer).
KNOWN_KINDS = tuple(_RENDERERS) + tuple(f"subscription.{k}" for k in (*ACTION_LABELS, "action_retry",
                                                                      "action_failed"))
