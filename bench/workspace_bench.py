"""Benchmark of the agent workspace: the ticket page of a customer with 1,000 timeline entries and
the inbox, over 100,000 customers and 1,000,000 messages, on SQLite and PostgreSQL.

    python bench/workspace_bench.py                      # both backends, full size, 50 requests
    python bench/workspace_bench.py --backend sqlite --customers 10000 --messages 100000 --runs 30

Data are bulk-inserted with SQLAlchemy Core executemany (no ORM objects): agents, customers with
an email identity each, tickets (one per ~4 messages, statuses as in a live shop: most solved or
closed, about 8% open), messages spread over a year. Customer #1 gets 950 messages over 40
tickets plus 50 status events (1,000 timeline entries), some queued/failed outbox rows and long
quoted email bodies. PostgreSQL runs in a private throwaway cluster started the way the tests
start it (tests/servers/postgres.py). Timed through the Flask test client, logged in as an agent:
GET /tickets/<id> (the customer's newest ticket; the page shows the newest 50 entries, older ones
load on scroll), GET / (the inbox with counts) and GET /customers/1; median and p95 over --runs
requests after two warm-ups. Target: p95 < 100 ms.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.services import create_agent  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Agent, Customer, Event, Identity, Message, OutboxItem, Ticket  # noqa: E402
from config import TestingConfig  # noqa: E402

END = datetime(2026, 11, 23, tzinfo=timezone.utc)
START = END - timedelta(days=365)
CHUNK = 20_000
PASSWORD = "bench-password-123"
TARGET_TICKETS, TARGET_MESSAGES, TARGET_EVENTS = 40, 950, 50
QUOTE = ("\n\nOn 2026/10/01 10:00, Shop <support@shop.example> wrote:\n"
         + "> いつもご利用ありがとうございます。次回のお届けについてご案内いたします。\n" * 40)


def _insert(table, rows) -> None:
    for i in range(0, len(rows), CHUNK):
        db.session.execute(insert(table), rows[i:i + CHUNK])
    db.session.commit()


def generate(n_customers: int, n_messages: int, seed: int = 5) -> int:
    """Fill the database; returns the id of the target customer's newest ticket."""
    rnd = random.Random(seed)
    now = END
    n_agents = 20
    _insert(Agent.__table__, [{"id": i, "email": f"a{i}@bench.test", "name": f"担当{i:02d}", "role": "agent",
                               "password_hash": "", "active": True, "created_at": now}
                              for i in range(2, n_agents + 2)])
    _insert(Customer.__table__, [{"id": i, "name": f"顧客 {i}", "name_kana": "", "note": "", "created_at": now,
                                  "updated_at": now} for i in range(1, n_customers + 1)])
    _insert(Identity.__table__, [{"id": i, "customer_id": i, "kind": "email", "value": f"c{i}@example.jp",
                                  "display": f"c{i}@example.jp", "name": "", "bouncing": False,
                                  "created_at": now} for i in range(1, n_customers + 1)])
    span = (END - START).total_seconds()
    channels = ["email", "email", "email", "x", "phone", "web"]
    tickets, per_ticket = [], 4
    n_tickets = (n_messages - TARGET_MESSAGES) // per_ticket + TARGET_TICKETS
    for tid in range(1, n_tickets + 1):
        target = tid <= TARGET_TICKETS
        created = START + timedelta(seconds=(tid / n_tickets if target else rnd.random()) * span)
        # As in a live shop: recent tickets are in every state, older ones are mostly done.
        recent = (END - created).days < 14
        status = "open" if target and tid == TARGET_TICKETS else rnd.choices(
            ["solved", "closed", "open", "pending", "new"], [40, 10, 25, 15, 10] if recent else [45, 53, 1, 1, 0])[0]
        tickets.append({"id": tid, "customer_id": 1 if target else rnd.randint(2, n_customers),
                        "subject": f"お問い合わせ {tid}", "status": status, "priority": "normal",
                        "channel": "email" if target else rnd.choice(channels),
                        "assignee_id": rnd.randint(2, n_agents + 1) if rnd.random() < 0.7 else None,
                        "created_at": created, "updated_at": created,
                        "last_activity_at": created + timedelta(hours=per_ticket * 6 if not target else 24 * 8),
                        "reopen_count": 0})
    t0 = time.perf_counter()
    _insert(Ticket.__table__, tickets)
    print(f"  {len(tickets)} tickets inserted in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    mid, batch, outbox = 0, [], []
    for t in tickets:
        count = TARGET_MESSAGES // TARGET_TICKETS + (1 if t["id"] <= TARGET_MESSAGES % TARGET_TICKETS else 0) \
            if t["id"] <= TARGET_TICKETS else per_ticket
        for k in range(count):
            mid += 1
            at = t["created_at"] + timedelta(minutes=20 * k)
            direction = ("in", "out", "in", "internal")[k % 4]
            body = "お世話になっております。定期便のお届け日を変更したいです。" * 2
            if t["customer_id"] == 1 and direction == "in" and k % 8 == 2:
                body += QUOTE
            batch.append({"id": mid, "ticket_id": t["id"], "customer_id": t["customer_id"], "channel": t["channel"],
                          "direction": direction, "external_id": f"m{mid}", "reply_to_keys": [],
                          "author_id": 2 if direction != "in" else None, "sender": "", "subject": t["subject"],
                          "body_text": body, "created_at": at, "received_at": at, "content_hash": "",
                          "auto_submitted": False, "meta": {}})
            if t["customer_id"] == 1 and direction == "out":
                status = "failed" if k % 9 == 1 else ("queued" if k % 5 == 1 else "sent")
                outbox.append({"message_id": mid, "channel": t["channel"], "status": status, "attempts": 1,
                               "next_attempt_at": at, "last_error": "550 mailbox unavailable" if status == "failed"
                               else None, "result": {}, "created_at": at})
        if len(batch) >= CHUNK:
            db.session.execute(insert(Message.__table__), batch)
            batch = []
    if batch:
        db.session.execute(insert(Message.__table__), batch)
    db.session.commit()
    _insert(OutboxItem.__table__, outbox)
    _insert(Event.__table__, [{"customer_id": 1, "ticket_id": 1 + (i % TARGET_TICKETS), "kind": "ticket.status",
                               "actor_id": 2, "data": {"field": "status", "old": "open", "new": "pending"},
                               "note": "", "created_at": START + timedelta(days=i * 7)}
                              for i in range(TARGET_EVENTS)])
    print(f"  {mid} messages inserted in {time.perf_counter() - t0:.1f} s", flush=True)
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return TARGET_TICKETS


def _stats(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]


def timed(client, path: str, runs: int) -> tuple[float, float, float, float]:
    """(median, p95) of wall time, then (median, p95) of this process's CPU time, in ms.

    CPU time is what the request costs the web process whatever else the machine runs (with SQLite
    that includes the queries; with PostgreSQL the server's share is only in the wall time)."""
    for _ in range(2):  # warm-up (query plans, page cache, template compilation)
        assert client.get(path).status_code == 200
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.get(path)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert response.status_code == 200, response.status_code
    return _stats(wall) + _stats(cpu)


def run(url: str, args, reuse: bool = False) -> dict[str, tuple[float, ...]]:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=tempfile.mkdtemp(),
                     SEARCH_INDEX_DIR=tempfile.mkdtemp())
    results = {}
    with app.app_context():
        if reuse:
            ticket_id = TARGET_TICKETS
            agent = db.session.scalar(db.select(Agent).where(Agent.email == "bench@bench.test"))
        else:
            db.drop_all()
            db.create_all()
            t0 = time.perf_counter()
            ticket_id = generate(args.customers, args.messages)
            print(f"  generated in {time.perf_counter() - t0:.1f} s", flush=True)
            agent = create_agent("bench@bench.test", PASSWORD, role="agent", name="計測 太郎")
        entries = db.session.scalar(text("SELECT count(*) FROM messages WHERE customer_id = 1")) + \
            db.session.scalar(text("SELECT count(*) FROM events WHERE customer_id = 1"))
        print(f"  customer #1 has {entries} timeline entries", flush=True)
        client = app.test_client()
        assert client.post("/login", data={"email": agent.email, "password": PASSWORD}).status_code == 302
        db.session.remove()
        for name, path in ((f"ticket page (customer with {entries} entries)", f"/tickets/{ticket_id}"),
                           ("inbox", "/"), ("customer page", "/customers/1")):
            results[name] = timed(client, path, args.runs)
            print(f"  {name}: median {results[name][0]:.1f} ms, p95 {results[name][1]:.1f} ms "
                  f"(CPU median {results[name][2]:.1f} ms, p95 {results[name][3]:.1f} ms)", flush=True)
        db.session.remove()
        db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--sqlite-file", help="keep the SQLite database here; reused if it exists")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        tmp = Path(tempfile.mkdtemp(prefix="tsunagu-bench-"))
        path = Path(args.sqlite_file) if args.sqlite_file else tmp / "bench.db"
        print(f"SQLite ({path})", flush=True)
        try:
            run(f"sqlite:///{path.resolve()}", args, reuse=bool(args.sqlite_file) and path.exists())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.backend in ("postgresql", "both"):
        from bench.servers import private_postgres

        with private_postgres() as server:
            print(f"PostgreSQL (private cluster on port {server.port})", flush=True)
            run(server.create_database("tsunagu_bench"), args)


if __name__ == "__main__":
    main()
