"""Benchmark of the daily follow-up run at 100,000 customers (SQLite).

    python bench/followup_bench.py                       # 100,000 customers, 10 daily runs
    python bench/followup_bench.py --customers 20000 --days 5

Data are bulk-inserted with SQLAlchemy Core: customers with an email identity, one to three orders
each (first orders spread evenly over the last 200 days, so ~500 customers reach each step per day),
an order line, a subscription for 40 % of them, advertising consent for 60 %, an open ticket for
3 %. Two plans as in the demo: first-purchase care (mail +3, call +5, mail +12 business days) and
the second-purchase offer (advertising mail +2). Timed: `app.followup.runner.run(today=...)` for
--days consecutive days (the real daily run: triggers, stop rules, the mail through the outbox as a
ticket + message + outbox row, tasks), each day after the one before; median and p95 wall time.
The bench sets the runner's grace window to 0 so each run sends exactly the steps due that day, as
in steady daily operation (a first install would catch up on two weeks once); the first run is a
warm-up and is not counted.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import (Agent, Customer, Identity, MailConsent, Order, OrderLine, Product,  # noqa: E402
                        Subscription, Ticket)
from config import TestingConfig  # noqa: E402

JST = ZoneInfo("Asia/Tokyo")
FIRST_DAY = date(2026, 11, 2)
SPREAD_DAYS = 200
CHUNK = 20_000


def _insert(table, rows) -> None:
    for i in range(0, len(rows), CHUNK):
        db.session.execute(insert(table), rows[i:i + CHUNK])
    db.session.commit()


def generate(n: int, seed: int = 22) -> None:
    rnd = random.Random(seed)
    now = datetime.now(timezone.utc)
    _insert(Agent.__table__, [{"id": 1, "email": "boss@bench.test", "name": "監督", "role": "supervisor",
                               "password_hash": "", "active": True, "created_at": now}])
    _insert(Product.__table__, [{"id": i, "external_id": f"p{i}", "sku": "", "name": f"商品{i}", "variant": "",
                                 "family": "", "price": 3000, "active": True} for i in range(1, 21)])
    _insert(Customer.__table__, [{"id": i, "name": f"顧客{i}", "name_kana": "", "note": "", "created_at": now,
                                  "updated_at": now} for i in range(1, n + 1)])
    _insert(Identity.__table__, [{"customer_id": i, "kind": "email", "value": f"c{i}@bench.example",
                                  "display": "", "name": "", "bouncing": i % 97 == 0, "created_at": now}
                                 for i in range(1, n + 1)])
    orders, lines, subs, consents, tickets = [], [], [], [], []
    oid = 0
    for cid in range(1, n + 1):
        first = FIRST_DAY + timedelta(days=9) - timedelta(days=rnd.randrange(SPREAD_DAYS))
        product = rnd.randint(1, 20)
        count = rnd.choices((1, 2, 3), (55, 30, 15))[0]
        day = first
        for k in range(count):
            oid += 1
            orders.append({"id": oid, "external_id": f"o{oid}", "customer_id": cid, "total": 3000,
                           "ordered_at": datetime(day.year, day.month, day.day, 12, tzinfo=JST).astimezone(timezone.utc),
                           "status": "delivered", "created_at": now})
            lines.append({"order_id": oid, "product_id": product, "name": f"商品{product}", "quantity": 1,
                          "unit_price": 3000})
            day += timedelta(days=rnd.randint(20, 40))
        if rnd.random() < 0.4:
            subs.append({"external_id": f"s{cid}", "customer_id": cid, "product_id": product,
                         "status": rnd.choices(("active", "paused", "cancelled"), (80, 5, 15))[0], "cycle_days": 30,
                         "quantity": 1, "price": 2700, "deliveries": count, "started_on": first,
                         "next_ship_date": day, "version": 1, "created_at": now, "updated_at": now})
        if rnd.random() < 0.6:
            consents.append({"customer_id": cid, "consented_at": now - timedelta(days=300), "source": "checkout",
                             "unsubscribed_at": now if rnd.random() < 0.03 else None})
        if rnd.random() < 0.03:
            tickets.append({"customer_id": cid, "subject": "問い合わせ", "status": "open", "priority": "normal",
                            "channel": "email", "created_at": now, "updated_at": now, "last_activity_at": now,
                            "reopen_count": 0})
    for table, rows in ((Order.__table__, orders), (OrderLine.__table__, lines), (Subscription.__table__, subs),
                        (MailConsent.__table__, consents), (Ticket.__table__, tickets)):
        _insert(table, rows)


def plans() -> None:
    from app.followup import services

    boss = db.session.get(Agent, 1)
    care = services.save_plan(None, boss, name_ja="初回購入ケア", name_en="", trigger="first_delivered")
    for delay, kind, subject in ((3, "email", "{product}をお届けしました"), (5, "call", ""),
                                 (12, "email", "{product}を続けるコツ")):
        services.save_step(care, None, delay_days=delay, kind=kind, purpose="transactional", offer=False,
                           language="ja", subject=subject, body="{customer_name}\nあと{days_left}日分です。")
    offer = services.save_plan(None, boss, name_ja="2回目購入オファー", name_en="", trigger="second_order")
    services.save_step(offer, None, delay_days=2, kind="email", purpose="advertising", offer=True, language="ja",
                       subject="定期便のご案内", body="{customer_name}\n{product}の定期便は{next_shipment_date}から。")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tsunagu-bench-"))
    try:
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'bench.db'}",
                         INSTANCE_DIR=str(tmp), PUBLIC_BASE_URL="https://support.bench.example")
        with app.app_context():
            from app.followup import runner
            from app.followup.runner import run

            db.create_all()
            t0 = time.perf_counter()
            generate(args.customers)
            plans()
            print(f"SQLite, {args.customers:,} customers generated in {time.perf_counter() - t0:.1f} s", flush=True)
            walls, cpus, totals = [], [], Counter()
            day = FIRST_DAY
            for i in range(args.days + 1):
                runner.GRACE_DAYS = 0  # only the day's due steps: the steady state of daily runs
                w0, c0 = time.perf_counter(), time.process_time()
                counts = run(today=day)
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                if i:  # the first run is a warm-up
                    walls.append(wall)
                    cpus.append(cpu)
                    totals.update(counts)
                done = counts.get("sent", 0) + counts.get("task", 0)
                print(f"  {day}{'' if i else ' (warm-up, not counted)'}: {wall:.2f} s wall, {cpu:.2f} s CPU, {done} sent/tasks, "
                      f"{sum(counts.values()) - done} stopped/waiting", flush=True)
                day += timedelta(days=1)
            print(f"daily run: median {statistics.median(walls):.2f} s, p95 {percentile(walls, 0.95):.2f} s wall "
                  f"(CPU median {statistics.median(cpus):.2f} s); load average {os.getloadavg()[0]:.1f} on "
                  f"{os.cpu_count()} CPUs")
            print("totals:", dict(sorted(totals.items())))
            db.session.remove()
            db.engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
