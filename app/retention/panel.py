"""What the ticket page's retention panel shows: the request, the ranked actions with previews,
what was done and with what result. Read-only; a handful of queries, and only one (the case)
for a ticket that is not a cancellation request.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.commerce.services import CommerceSummary, customer_summary
from app.extensions import db
from app.models import Product, RetentionCase, Subscription, SubscriptionAction, Ticket
from app.retention import actions as act
from app.retention import done as done_lines
from app.retention.actions import ActionError
from app.retention.cases import case_for
from app.retention.ranking import CustomerFacts, rank
from app.retention.services import calendar, coupon_service, last_money_offer, preview_for

REASON_LABELS = {
    "surplus": _l("Product piling up"), "not_effective": _l("Not effective"),
    "unsuitable": _l("Doesn't suit them"), "price": _l("Price"), "moving": _l("Moving"),
    "temporary": _l("Temporary (travel, hospital stay)"), "other": _l("Other"),
}
OUTCOME_LABELS = {
    "open": _l("Open"), "pending": _l("Awaiting outcome"), "saved": _l("Saved"), "cancelled": _l("Not saved (cancelled)"),
    "late_accepted": _l("Accepted late delivery"), "dismissed": _l("Not a cancellation"),
}
BACKEND_STATUS_LABELS = {"pending": _l("Pending at shop"), "acked": _l("Applied"), "failed": _l("Failed")}
WHY_LABELS = {
    "stock_covers_next": _l("Enough at home until the next delivery"), "stock_at_home": _l("Stock at home"),
    "habitual_surplus": _l("Long-time subscriber with surplus"), "reason_fits": _l("Fits the reason"),
    "cheaper_variant": _l("Cheaper variant"), "best_customer": _l("Best customer"),
    "first_time_buyer": _l("First-time buyer"), "always_offered": _l("Always offered"),
    "paused_now": _l("Paused now"),
}
SAVED_BY_LABELS = dict(act.LABELS, conversation=_l("Conversation"))
SEGMENT_LABELS = {"new": _l("New customer"), "second": _l("Second purchase"), "loyal": _l("Loyal")}


def template_globals() -> dict[str, Any]:
    """Labels the panel's templates and macros use (registered as Jinja globals)."""
    import uuid

    return {"REASON_LABELS": REASON_LABELS, "OUTCOME_LABELS": OUTCOME_LABELS, "WHY_LABELS": WHY_LABELS,
            "BACKEND_STATUS_LABELS": BACKEND_STATUS_LABELS, "SAVED_BY_LABELS": SAVED_BY_LABELS,
            "ACTION_LABELS": act.LABELS, "SEGMENT_LABELS": SEGMENT_LABELS,
            "retention_form_key": lambda: uuid.uuid4().hex}


@dataclass
class Option:
    """One click: an action with fixed parameters and its exact preview (or why not)."""

    params: dict[str, Any]
    preview: Optional[act.Preview] = None
    #: Why it cannot be done now (the button is disabled, the reason shown).
    error: Optional[str] = None
    suggested: bool = False


@dataclass
class ActionCard:
    kind: str
    params: dict[str, Any]
    is_money: bool = False
    why: list[str] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(act.LABELS[self.kind])

    @property
    def preview(self) -> Optional[act.Preview]:
        return self.options[0].preview if self.options else None

    @property
    def error(self) -> Optional[str]:
        return self.options[0].error if self.options else None


@dataclass
class Panel:
    ticket: Ticket
    case: Optional[RetentionCase]
    flagged: bool
    subscriptions: list[Subscription] = field(default_factory=list)
    subscription: Optional[Subscription] = None
    cards: list[ActionCard] = field(default_factory=list)
    money_blocked_until: Optional[date] = None
    stock_days: int = 0
    history: list[SubscriptionAction] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    coupon_available: bool = False
    cycle_options: tuple[int, ...] = ()
    ltv: int = 0
    segment: Optional[str] = None
    #: What was done on the shown subscription for this request, newest last: (action, line).
    done: list[tuple[SubscriptionAction, str]] = field(default_factory=list)

    @property
    def version(self) -> Optional[int]:
        """The subscription's version the forms carry (a stale click is refused)."""
        return self.subscription.version if self.subscription is not None else None

    @property
    def products_by_id(self) -> dict[int, Product]:
        return {p.id: p for p in self.products}

    @property
    def reply_draft(self) -> str:
        return next((a.reply_draft for a in reversed(self.history) if a.reply_draft), "")


def _swap_candidates(sub: Subscription) -> list[Product]:
    stmt = select(Product).where(Product.active.is_(True), Product.id != sub.product_id)
    family = sub.product.family if sub.product else ""
    same = list(db.session.scalars(stmt.where(Product.family == family).order_by(Product.price, Product.id))) if family else []
    return same or list(db.session.scalars(stmt.order_by(Product.name, Product.id).limit(20)))


def _unit(product: Product) -> int:
    return product.subscription_price if product.subscription_price is not None else product.price


def build(ticket: Ticket, subscription_id: Any = None, summary: Optional[CommerceSummary] = None) -> Panel:
    """The panel for `ticket` (the caller has checked the agent may see it); `summary` is the
    customer's commerce summary if the caller has it already (loaded here otherwise)."""
    case = case_for(ticket.id)
    flagged = ticket.intent == "cancellation"
    panel = Panel(ticket=ticket, case=case, flagged=flagged)
    if case is not None:
        panel.history = list(db.session.scalars(
            select(SubscriptionAction).where(SubscriptionAction.ticket_id == ticket.id)
            .options(selectinload(SubscriptionAction.actor)).order_by(SubscriptionAction.id)))
    if not flagged:
        return panel
    if summary is None or summary.customer_id != ticket.customer_id:
        summary = customer_summary(ticket.customer_id)
    panel.ltv, panel.segment = summary.ltv, summary.segment
    panel.subscriptions = [s for s in summary.subscriptions]
    live = [s for s in panel.subscriptions if s.status != "cancelled"]
    chosen = None
    if subscription_id:
        chosen = next((s for s in panel.subscriptions if str(s.id) == str(subscription_id)), None)
    if chosen is None and case is not None and case.subscription_id:
        chosen = next((s for s in panel.subscriptions if s.id == case.subscription_id), None)
    panel.subscription = chosen or (live[0] if live else None)
    panel.coupon_available = coupon_service() is not None
    config = current_app.config
    panel.cycle_options = tuple(config["RETENTION_CYCLE_OPTIONS"])
    sub = panel.subscription
    if sub is None:
        return panel
    panel.products = _swap_candidates(sub)
    panel.done = [(a, done_lines.line(a)) for a in panel.history
                  if a.subscription_id in (sub.id, None) and a.backend_status != "failed"]
    cal = calendar()
    offered = last_money_offer(ticket.customer_id)
    facts = CustomerFacts(
        today=cal.today, deliveries=sub.deliveries, cycle_days=sub.cycle_days, quantity=sub.quantity,
        status=sub.status, last_ship_date=sub.last_ship_date, next_ship_date=sub.next_ship_date,
        ltv=summary.ltv, segment=summary.segment,
        last_money_offer_on=offered.astimezone(cal_tz()).date() if offered else None,
        swap_candidates=tuple((p.id, _unit(p) * sub.quantity) for p in panel.products),
        unit_price=sub.price, coupon_available=panel.coupon_available,
        done=tuple(a.kind for a, _ in panel.done))
    ladder = rank(case.reason if case else (ticket.intent_reason or "other"), facts,
                  cooldown_days=config["RETENTION_MONEY_COOLDOWN_DAYS"], high_ltv=config["RETENTION_HIGH_LTV_YEN"],
                  cycle_options=panel.cycle_options, coupon_yen=config["RETENTION_COUPON_YEN"])
    panel.money_blocked_until, panel.stock_days = ladder.money_blocked_until, ladder.stock_days
    # While a change waits for the shop, another one would be refused: say so on the buttons
    # (cancel excepted: it is never held back).
    waiting = next((a for a, _ in panel.done if a.backend_status == "pending" and a.subscription_id == sub.id), None)
    for s in ladder.suggestions:
        card = ActionCard(s.kind, s.params, s.is_money, s.why)
        for params in _variants(s.kind, s.params, sub, panel):
            option = Option(params, suggested=params == s.params)
            try:
                option.preview = (act.preview("coupon", sub, params, cal) if s.kind == "coupon"
                                  else preview_for(ticket, sub, s.kind, params, case=case))
            except ActionError as exc:
                option.error = exc.message
            if waiting is not None and s.kind not in ("cancel", "coupon") and option.error is None:
                option.error = str(_l("An earlier change (%(kind)s) is still pending at the shop; wait for it or "
                                      "retry it first.", kind=str(act.LABELS.get(waiting.kind, waiting.kind))))
            card.options.append(option)
        card.options.sort(key=lambda o: not o.suggested)  # the suggested variant first
        panel.cards.append(card)
    return panel


def _variants(kind: str, suggested: dict, sub: Subscription, panel: Panel) -> list[dict]:
    """Every one-click variant of an action: pause 1-3 months, each cycle, each product..."""
    if kind == "pause":
        return [{"months": m} for m in range(1, act.MAX_PAUSE_MONTHS + 1)]
    if kind == "cycle":
        return [{"cycle_days": c} for c in panel.cycle_options if c != sub.cycle_days]
    if kind == "swap":
        return [{"product_id": p.id} for p in panel.products[:6]]
    if kind == "quantity":
        return [{"quantity": q} for q in range(sub.quantity - 1, 0, -1)]
    if kind == "cancel":
        return [{}, {"late_accepted": True}]
    return [suggested]


def cal_tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo(current_app.config["TIMEZONE"])
