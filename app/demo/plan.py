"""Planning demo conversations: which story, with whom, how far it got, and when each step happened.

Planning is pure Python on the shop plan, so a conversation that skips, pauses or cancels a
subscription changes the plan before any order is written. Older conversations are further
along (solved, closed); the newest are still new or open.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Optional

from app.demo import data, scripts_email, scripts_inquiries, scripts_phone, scripts_x
from app.demo.people import Person, Taken, make_stranger
from app.demo.data import weighted
from app.demo.shop import PRODUCTS, CustomerPlan, OrderPlan, SubPlan, jst_date
from app.demo.steps import AGENT_KINDS, DAY, HOUR, SIGNATURE, SIGNATURE_EN, Script, Step
from app.sla.business_time import add_business_seconds, default_calendar

SCRIPTS = {"email": scripts_email.SCRIPTS + scripts_inquiries.SCRIPTS, "phone": scripts_phone.SCRIPTS,
           "x": scripts_x.SCRIPTS}
IDENTITY = {"email": "email", "phone": "phone", "x": "x_id"}
CHANNEL_WEIGHTS = (("email", 55), ("phone", 25), ("x", 20))
STATUS_WEIGHTS = {"new": 8, "open": 20, "pending": 24, "solved": 27, "closed": 21}
#: How long ago (minutes) a ticket in each status last changed.
STATUS_AGE = {"new": (10, 2 * DAY), "open": (HOUR, 3 * DAY), "pending": (4 * HOUR, 5 * DAY),
              "solved": (DAY, 21 * DAY), "closed": (9 * DAY, 45 * DAY)}
CALENDAR = default_calendar()
ACTION_KEYS = ("skipped", "next_after_skip", "paused_until", "last_ship", "next_after_change")
SHORT = {"aojiru": "青汁", "lactic": "乳酸菌サプリ", "lotion": "化粧水", "serum": "美容液"}
PRAISE = {
    "aojiru": "{product}、毎朝飲んでます！野菜不足が気になっていたので本当に助かっています。",
    "lactic": "乳酸菌サプリメントを飲み始めてから、お腹の調子がとてもいいです。",
    "lotion": "乾燥肌で悩んでいましたが、{product}に変えてから一日中しっとりしています。",
    "serum": "ハリ美容液を使い始めて、肌の調子がとてもいいです。友人にも褒められました。",
}


@dataclass
class Turn:
    """One step of a conversation, timed and written."""

    step: Step
    at: datetime
    author: str  #: email of the agent doing agent steps
    text: str = ""
    subject: str = ""
    #: act: the subscription before and after, and what changed.
    details: dict = field(default_factory=dict)


@dataclass
class Conversation:
    script: Script
    person: Person
    customer: Optional[CustomerPlan]
    sub: Optional[SubPlan]
    agent: str
    turns: list[Turn] = field(default_factory=list)


def fmt_ja(day: Optional[date]) -> str:
    return f"{day.month}月{day.day}日（{data.WEEKDAYS_JA[day.weekday()]}）" if day else ""


def fmt_en(day: Optional[date]) -> str:
    return f"{day:%B} {day.day}" if day else ""


def _statuses(steps: tuple[Step, ...]) -> list[str]:
    """The ticket's status after each step (mirrors ingest's reopen rules and play.py)."""
    status, result = None, []
    for step in steps:
        if step.kind in ("in", "call"):
            if status is None:
                status = "open" if step.kind == "call" and step.answered else "new"
            elif status in ("pending", "solved") or (status == "new" and step.kind == "call"):
                status = "open"
        elif step.kind in ("out", "status"):
            status = step.then
        elif step.kind == "assign" and status == "new":
            status = "open"
        result.append(status)
    return result


def _cuts(script: Script) -> dict[str, list[int]]:
    """Where the story may stop, by the ticket status it leaves: never between an agent's
    announcement and the subscription change it announces."""
    steps, cuts = script.steps, {}
    for i, status in enumerate(_statuses(steps)):
        if steps[i].kind == "act":
            continue
        if i + 1 < len(steps) and steps[i + 1].kind == "act" and any("{" + k in steps[i].text for k in ACTION_KEYS):
            continue
        cuts.setdefault(status, []).append(i)
    if len(steps) - 1 in cuts.get("solved", []):
        cuts["closed"] = [len(steps) - 1]
    return cuts


def _snap(rng: random.Random, moment: datetime) -> datetime:
    """Move an agent's action into the support desk's hours (the SLA's default calendar)."""
    opening = add_business_seconds(moment, 0, CALENDAR)
    # Nobody answers the whole night's mail at the stroke of opening.
    return moment if opening == moment else opening + timedelta(minutes=rng.randint(0, 75))


def _timeline(rng: random.Random, steps: list[Step], end: datetime) -> list[datetime]:
    """Times for `steps` so that the last one happens at about `end`."""
    gaps = [timedelta(minutes=rng.randint(*s.wait)) for s in steps]
    start = end - sum(gaps[1:], timedelta())
    for _ in range(10):
        times, moment = [], start
        for i, step in enumerate(steps):
            moment = moment + gaps[i] if i else moment
            if step.kind in AGENT_KINDS or (step.kind == "call" and step.answered):
                moment = _snap(rng, moment)
            times.append(moment)
        overflow = times[-1] - end
        if overflow <= timedelta(0):
            return times
        # Business hours pushed the story past its end: start it earlier (nights and weekends
        # make the shift uneven, hence the margin).
        start -= overflow + timedelta(hours=rng.randint(1, 12))
    return [t - overflow for t in times]


def _pick(rng: random.Random, customers: list[CustomerPlan], script: Script, t0: datetime):
    """(customer, subscription, order) fitting the script at time t0, or None."""
    day0 = jst_date(t0)
    attr = IDENTITY[script.channel]
    fits = []
    for c in customers:
        if not getattr(c.person, attr) or c.touched or (script.acts and c.used):
            continue
        orders = [o for o in c.orders() if o.at < t0]
        if script.needs == "sub":
            subs = [s for s in c.subs if s.status == "active" and s.started_on <= day0 - timedelta(days=7)
                    and (not script.families or s.family in script.families)
                    and (script.cycle is None or s.cycle == script.cycle)
                    and sum(d <= day0 for d in s.dates) >= script.min_deliveries]
            if subs:
                fits.append((c, subs[0], orders[-1] if orders else None))
        elif script.needs == "order":
            lo, hi = script.order_days
            recent = [o for o in orders if lo <= (day0 - jst_date(o.at)).days <= hi
                      and (not script.families or PRODUCTS[o.product][4] in script.families)]
            if recent:
                fits.append((c, recent[-1].subscription, recent[-1]))
        elif len(orders) >= script.min_deliveries and orders and (
                not script.families or PRODUCTS[orders[-1].product][4] in script.families):
            fits.append((c, orders[-1].subscription, orders[-1]))
    unused = [f for f in fits if not f[0].used]
    return rng.choice(unused or fits) if fits else None


def _context(rng: random.Random, person: Person, customer: Optional[CustomerPlan], sub: Optional[SubPlan],
             order: Optional[OrderPlan], agent: tuple, t0: datetime) -> dict:
    day0 = jst_date(t0)
    product = PRODUCTS[sub.product if sub else order.product if order else "P-1001"]
    first = customer.orders()[0].at if customer and customer.orders() else t0
    deliveries = sum(d <= day0 for d in sub.dates) if sub else 1
    months = max(1, round(deliveries * sub.cycle / 30) if sub else (t0 - first).days // 30)
    label = f"{product[2]} {product[3]}"
    next_ship = (sub.next_after(day0) if sub else None) or day0 + timedelta(days=5)
    trip = next_ship + timedelta(days=1)
    ctx = {
        "shop": data.SHOP_X_HANDLE, "name": person.name, "sei": person.sei, "name_en": person.romaji,
        "customer_no": customer.external_id if customer else "", "handle": f"@{person.x_handle}",
        "product": label, "product_short": SHORT[product[4]], "product_en": product[7],
        "cycle": sub.cycle if sub else 30, "deliveries": deliveries, "months": months,
        "next_ship": fmt_ja(next_ship), "leftover": rng.choice(("2か月分", "3か月分", "1か月半分", "2袋")),
        "travel": f"{trip.month}月{trip.day}日から{(trip + timedelta(days=3)).day}日まで",
        "address": rng.choice(data.NEW_ADDRESSES), "move_date": fmt_ja(day0 + timedelta(days=rng.randint(18, 35))),
        "receipt_to": rng.choice((person.name, f"有限会社{person.sei}商店", f"{person.sei}歯科医院")),
        "tracking": f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        "lot": f"L{day0:%y%m}-{rng.randint(10, 99)}",
        "country": rng.choice(("Singapore", "Taiwan", "Hong Kong", "Australia", "Canada")),
        "order_no": order.external_id if order else "", "order_date": fmt_ja(jst_date(order.at)) if order else "",
        "late_days": (t0 - order.at).days if order else 3,
        "agent_name": agent[1], "agent_sei": agent[1].split(" ")[0], "agent_en": agent[4],
    }
    ctx["praise"] = PRAISE[product[4]].format(product=label)
    ctx["signature"] = SIGNATURE.format(**ctx)
    ctx["signature_en"] = SIGNATURE_EN.format(**ctx)
    return ctx


def _act(sub: SubPlan, action: tuple, moment: datetime, today: date, ctx: dict) -> dict:
    """Apply the action to the plan; fills `ctx` for the texts and returns the event's details
    (before/after snapshots and what changed, as the retention actions record them)."""
    day = jst_date(moment)
    sub.changed_at = moment
    before = sub.snapshot(day)
    if action[0] == "skip":
        skipped, after = sub.skip(day, today)
        ctx.update(skipped=fmt_ja(skipped), next_after_skip=fmt_ja(after),
                   skipped_en=fmt_en(skipped), next_after_skip_en=fmt_en(after))
        change = f"{fmt_ja(skipped)}のお届けをスキップ。次回は{fmt_ja(after)}発送。"
    elif action[0] == "pause":
        ctx["paused_until"] = fmt_ja(sub.pause(day, action[1], today))
        change = f"{ctx['paused_until']}まで休止。"
    elif action[0] == "cancel":
        ctx["last_ship"] = fmt_ja(sub.cancel(moment))
        change = f"定期便を解約（理由：{action[1]}）。"
    else:
        ctx["next_after_change"] = fmt_ja(sub.change_cycle(day, action[1], today))
        change = f"お届け周期を{before['cycle_days']}日から{action[1]}日に変更。次回は{ctx['next_after_change']}発送。"
    return {"before": before, "after": sub.snapshot(day), "changes": [change]}


def plan_one(rng: random.Random, script: Script, customers: list[CustomerPlan], taken: Taken,
             now: datetime, status: Optional[str] = None) -> Optional[Conversation]:
    """Plan `script` (left in `status` when the story allows) with a fitting customer, or None."""
    cuts = _cuts(script)
    if status not in cuts:
        status = weighted(rng, [(s, STATUS_WEIGHTS[s]) for s in STATUS_WEIGHTS if s in cuts])
    target = status
    cut = rng.choice(cuts[target])
    steps = list(script.steps[:cut + 1])
    end = now - timedelta(minutes=rng.randint(*STATUS_AGE[target]))
    if target == "closed":
        steps.append(Step("status", then="closed", wait=(4 * DAY, 7 * DAY)))
    times = _timeline(rng, steps, end)
    if script.needs == "stranger":
        person, customer, sub, order = make_stranger(rng, taken, script.channel, script.lang), None, None, None
    else:
        picked = _pick(rng, customers, script, times[0])
        if picked is None:
            return None
        customer, sub, order = picked
        person = customer.person
        customer.used = True
        customer.touched = customer.touched or script.acts
    agent = weighted(rng, [(a, a[3]) for a in data.AGENTS])
    supervisor = next(a for a in data.AGENTS if a[0] == data.SUPERVISOR)
    ctx = _context(rng, person, customer, sub, order, agent, times[0])
    details = [_act(sub, step.action, moment, jst_date(now), ctx) if step.kind == "act" else {}
               for step, moment in zip(steps, times)]
    conversation = Conversation(script, person, customer, sub, agent[0])
    for step, moment, detail in zip(steps, times, details):
        author = supervisor[0] if step.agent == "sup" else agent[0]
        conversation.turns.append(Turn(step, moment, author, step.text.format_map(ctx),
                                       step.subject.format_map(ctx), detail))
    return conversation


def plan_conversations(seed: int, customers: list[CustomerPlan], count: int, taken: Taken,
                       now: datetime) -> list[Conversation]:
    """`count` conversations, oldest first; even a small shop shows every channel and status."""
    main = random.Random(f"{seed}:conversations")
    queues = {channel: main.sample(list(scripts), len(scripts)) for channel, scripts in SCRIPTS.items()}
    result = []
    for i in range(count):
        rng = random.Random(f"{seed}:conversation:{i}")  # one slot's timing never shifts the next
        first = ["email", "phone", "x"][i] if i < 3 else weighted(main, CHANNEL_WEIGHTS)
        for channel in [first] + [c for c in ("email", "x", "phone") if c != first]:
            queue, conversation = queues[channel], None
            for _ in range(len(queue)):
                script = queue.pop(0)
                queue.append(script)
                status = tuple(STATUS_WEIGHTS)[i] if i < len(STATUS_WEIGHTS) else None
                conversation = plan_one(rng, script, customers, taken, now, status)
                if conversation is not None:
                    break
            if conversation is not None:
                result.append(conversation)
                break
    return sorted(result, key=lambda c: c.turns[0].at)
