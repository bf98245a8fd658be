"""The demo shop's commerce: products, customers' subscriptions and orders, planned then written.

Everything is planned in memory first (pure Python, driven by the seeded generator) so that the
conversations can act on a subscription — skip, pause, cancel, change its cycle — before anything
is written. Subscription orders are derived from the deliveries that remain, which keeps
`deliveries`, `last_ship_date` and the orders consistent by construction.
"""
from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from app.demo import data
from app.demo.data import weighted
from app.demo.people import Person, Taken, make_customer
from app.extensions import db
from app.models import Customer, Identity, Order, OrderLine, Product, Subscription

JST = timezone(timedelta(hours=9))
HISTORY_DAYS = 540  # about 18 months
PRODUCTS = {p[0]: p for p in data.PRODUCTS}


def jst_date(moment: datetime) -> date:
    return moment.astimezone(JST).date()


def at_jst(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware UTC datetime for a wall-clock time in Japan."""
    return datetime.combine(day, time(hour, minute), JST).astimezone(timezone.utc)


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class SubPlan:
    external_id: str
    product: str
    family: str
    cycle: int
    quantity: int
    started_on: date
    #: Deliveries made so far, oldest first (each becomes an order).
    dates: list[date]
    status: str = "active"
    next_ship: date | None = None
    paused_until: date | None = None
    cancelled_at: datetime | None = None
    #: When a conversation last changed it.
    changed_at: datetime | None = None

    @property
    def price(self) -> int:
        return PRODUCTS[self.product][6] * self.quantity

    def snapshot(self, day: date) -> dict:
        """The subscription as an agent saw it on `day` (fields named as on Subscription)."""
        return {"status": self.status, "quantity": self.quantity, "cycle_days": self.cycle, "price": self.price,
                "next_ship_date": _iso(self.next_after(day)), "paused_until": _iso(self.paused_until),
                "cancelled_at": _iso(self.cancelled_at)}

    def next_after(self, day: date) -> date | None:
        """The delivery that followed (or will follow) `day`."""
        return next((d for d in self.dates if d > day), self.next_ship)

    def _resume(self, first: date, today: date) -> None:
        """Deliver every `cycle` days from `first` up to yesterday; the next one is then due."""
        day = first
        while day < today:
            self.dates.append(day)
            day += timedelta(days=self.cycle)
        self.next_ship = day

    # The actions a conversation can take; each returns what the agent tells the customer.
    def skip(self, day: date, today: date) -> tuple[date, date]:
        skipped = self.next_after(day)
        if skipped in self.dates:
            self.dates.remove(skipped)
        else:
            self.next_ship = skipped + timedelta(days=self.cycle)
        return skipped, skipped + timedelta(days=self.cycle)

    def pause(self, day: date, days: int, today: date) -> date:
        until = day + timedelta(days=days)
        self.dates = [d for d in self.dates if d <= day]
        if until > today:
            self.status, self.paused_until, self.next_ship = "paused", until, until
        else:
            self._resume(until, today)
        return until

    def cancel(self, moment: datetime) -> date | None:
        self.dates = [d for d in self.dates if d <= jst_date(moment)]
        self.status, self.cancelled_at = "cancelled", moment
        self.next_ship = self.paused_until = None
        return self.dates[-1] if self.dates else None

    def change_cycle(self, day: date, cycle: int, today: date) -> date:
        self.dates = [d for d in self.dates if d <= day]
        self.cycle = cycle
        self._resume((self.dates[-1] if self.dates else self.started_on) + timedelta(days=cycle), today)
        return self.next_after(day)


@dataclass
class OrderPlan:
    external_id: str
    at: datetime
    product: str
    quantity: int
    unit_price: int
    subscription: SubPlan | None = None

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price


@dataclass
class CustomerPlan:
    number: int
    person: Person
    created_at: datetime
    oneoffs: list[OrderPlan] = field(default_factory=list)
    subs: list[SubPlan] = field(default_factory=list)
    #: A conversation uses this customer / acts on their subscription (see plan.py).
    used: bool = False
    touched: bool = False

    @property
    def external_id(self) -> str:
        return f"C-{self.number}"

    def orders(self) -> list[OrderPlan]:
        """Every order, one-offs and subscription deliveries alike, oldest first."""
        result = list(self.oneoffs)
        for i, sub in enumerate(self.subs):
            for day in sub.dates:
                result.append(OrderPlan(self.order_id(day, 9 - i), at_jst(day, 9, self.number % 50), sub.product,
                                        sub.quantity, PRODUCTS[sub.product][6], sub))
        return sorted(result, key=lambda o: o.at)

    def order_id(self, day: date, n: int) -> str:
        return f"O-{day:%y%m%d}-{self.number % 100000:05d}{n}"


def _oneoff(rng: random.Random, customer: CustomerPlan, product: str, day: date) -> None:
    quantity = 2 if rng.random() < 0.08 else 1
    n = len(customer.oneoffs) + 1
    customer.oneoffs.append(OrderPlan(customer.order_id(day, n), at_jst(day, rng.randint(7, 23), rng.randint(0, 59)),
                                      product, quantity, PRODUCTS[product][5]))


def _subscription(rng: random.Random, number: str, family: str, start: date, now: datetime) -> SubPlan:
    today = jst_date(now)
    product = weighted(rng, data.SUBSCRIBED[family])
    cycle = weighted(rng, data.CYCLE_WEIGHTS)
    quantity = 2 if family in ("aojiru", "lactic") and rng.random() < 0.08 else 1
    sub = SubPlan(number, product, family, cycle, quantity, start, [])
    sub._resume(start, today)
    fate = weighted(rng, (("active", 58), ("paused", 6), ("cancelled", 36)))
    made = len(sub.dates)
    if fate == "active" or made < 2:
        return sub
    if fate == "paused":  # for one to three months, from a recent day
        since = today - timedelta(days=rng.randint(5, 60))
        if sub.dates[0] <= since:
            sub.dates = [d for d in sub.dates if d <= since]
            until = max(since + timedelta(days=rng.choice((30, 60, 90))), today + timedelta(days=3))
            sub.status, sub.paused_until, sub.next_ship = "paused", until, until
        return sub
    # Most cancellations come after the first or second delivery.
    n = weighted(rng, ((1, 35), (2, 25), (0, 40))) or (rng.randint(3, made) if made >= 3 else made)
    last = sub.dates[min(n, made) - 1]
    moment = at_jst(last + timedelta(days=rng.randint(3, cycle - 2)), rng.randint(9, 21), rng.randint(0, 59))
    sub.cancel(min(moment, now - timedelta(hours=2)))
    return sub


def _days_between(rng: random.Random, start: date, today: date, low: int) -> int:
    """A day offset from `start` of at least `low`, before today (0 when there is no room)."""
    room = (today - start).days - 1
    return rng.randint(low, room) if room >= low else 0


def plan_customer(rng: random.Random, number: int, sub_numbers: Iterator[int], taken: Taken,
                  now: datetime) -> CustomerPlan:
    """One customer with a purchase history over the last 18 months (every order before today)."""
    today = jst_date(now)
    person = make_customer(rng, taken)
    customer = CustomerPlan(number, person, created_at=now)
    family = weighted(rng, data.FAMILY_WEIGHTS)
    if rng.random() < 0.22:  # bought once or twice, never subscribed
        first = today - timedelta(days=rng.randint(1, HISTORY_DAYS))
        product = "P-1003" if family == "aojiru" and rng.random() < 0.4 else weighted(rng, data.SUBSCRIBED[family])
        _oneoff(rng, customer, product, first)
        later = _days_between(rng, first, today, 14)
        if rng.random() < 0.15 and later:
            _oneoff(rng, customer, weighted(rng, data.SUBSCRIBED[family]), first + timedelta(days=later))
    else:
        start = today - timedelta(days=rng.randint(3, HISTORY_DAYS))
        if family == "aojiru" and rng.random() < 0.25 and (today - start).days < HISTORY_DAYS - 30:
            _oneoff(rng, customer, "P-1003", start - timedelta(days=rng.randint(8, 25)))
        families = [family]
        if rng.random() < 0.06:
            families.append(rng.choice([f for f, _ in data.FAMILY_WEIGHTS if f != family]))
        for i, fam in enumerate(families):
            begin = start + timedelta(days=_days_between(rng, start, today, 0) if i else 0)
            customer.subs.append(_subscription(rng, f"S-{next(sub_numbers)}", fam, begin, now))
        later = _days_between(rng, start, today, 5)
        if rng.random() < 0.15 and later:
            other = rng.choice([f for f, _ in data.FAMILY_WEIGHTS if f != family])
            _oneoff(rng, customer, weighted(rng, data.SUBSCRIBED[other]), start + timedelta(days=later))
    orders = customer.orders()
    first_order = orders[0].at if orders else now - timedelta(days=1)
    customer.created_at = first_order - timedelta(minutes=rng.randint(3, 40))
    return customer


def plan_customers(seed: int, count: int, now: datetime, taken: Taken) -> list[CustomerPlan]:
    """`count` customers; each has its own generator, so customer C-10001 is the same person
    whenever the shop is seeded with `seed`, whatever the day."""
    sub_numbers = itertools.count(20001)
    return [plan_customer(random.Random(f"{seed}:customer:{i}"), 10001 + i, sub_numbers, taken, now)
            for i in range(count)]


def write_products() -> dict[str, Product]:
    products = {}
    for ext, sku, name, variant, family, price, sub_price, _label in data.PRODUCTS:
        products[ext] = Product(external_id=ext, sku=sku, name=name, variant=variant, family=family,
                                price=price, subscription_price=sub_price)
    db.session.add_all(products.values())
    db.session.flush()
    return products


def write_customers(plans: list[CustomerPlan], products: dict[str, Product], today: date) -> None:
    """Customers, identities, subscriptions and orders for every plan (flushed, not committed)."""
    pending: list[tuple[CustomerPlan, Customer, dict[str, Subscription]]] = []
    for plan in plans:
        p = plan.person
        customer = Customer(external_id=plan.external_id, name=p.name, name_kana=p.kana,
                            created_at=plan.created_at, updated_at=plan.created_at)
        if p.email:
            customer.identities.append(Identity(kind="email", value=p.email, display=p.email,
                                                name=p.email_name, created_at=plan.created_at))
        if p.phone:
            customer.identities.append(Identity(kind="phone", value=p.phone, display=p.phone_display,
                                                name=p.name, created_at=plan.created_at))
        if p.x_id:
            customer.identities.append(Identity(kind="x", value=p.x_id, display=f"@{p.x_handle}",
                                                name=p.x_name, created_at=plan.created_at))
        subs = {}
        for s in plan.subs:
            started = at_jst(s.started_on, 9)
            subs[s.external_id] = Subscription(
                external_id=s.external_id, customer=customer, product_id=products[s.product].id,
                status=s.status, cycle_days=s.cycle, quantity=s.quantity, price=s.price,
                next_ship_date=s.next_ship, last_ship_date=s.dates[-1] if s.dates else None,
                deliveries=len(s.dates), started_on=s.started_on, paused_until=s.paused_until,
                cancelled_at=s.cancelled_at, created_at=started,
                updated_at=s.changed_at or s.cancelled_at or started)
        db.session.add(customer)
        db.session.add_all(subs.values())
        pending.append((plan, customer, subs))
    db.session.flush()
    for plan, customer, subs in pending:
        for o in plan.orders():
            product = products[o.product]
            age = (today - jst_date(o.at)).days
            db.session.add(Order(
                external_id=o.external_id, customer_id=customer.id, ordered_at=o.at, total=o.total,
                subscription_id=subs[o.subscription.external_id].id if o.subscription else None,
                status="delivered" if age > 2 else "shipped" if age > 0 else "ordered", created_at=o.at,
                lines=[OrderLine(product_id=product.id, name=product.label, quantity=o.quantity,
                                 unit_price=o.unit_price)]))
    db.session.flush()
