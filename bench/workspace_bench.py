"""Benchmark of the agent workspace: the inbox's views, the ticket page of a customer with 1,000
timeline entries and the customer page, at 1,000,000 messages / 300,000 tickets with 40,000 of
them unsolved and again with 1,000, side by side in one run, on SQLite and PostgreSQL.

    python bench/workspace_bench.py                      # both backends, full size, 50 requests
    python bench/workspace_bench.py --backend sqlite --customers 10000 --messages 100000 \
        --tickets 30000 --open 4000 --compare-open 100 --runs 30
    nice -n 10 python bench/workspace_bench.py --backend sqlite --sqlite-file /tmp/ws.db  # keep / reuse

Data are bulk-inserted with SQLAlchemy Core executemany (no ORM objects): 4 teams, agents,
customers with an email identity each, --tickets tickets (70 % of them in a team) carrying the
messages (3 or 4 each) spread over a year, exactly --open of them unsolved (drawn over the whole
year, as after a history import; 1 in 8 a cancellation request), the rest solved or closed. Customer
#1 gets 950 messages over 40 tickets plus 50 status events (1,000 timeline entries), some
queued/failed outbox rows and long quoted email bodies. PostgreSQL runs in a private throwaway
cluster started the way the tests start it (tests/servers/postgres.py).

Timed through the Flask test client: the ticket page (the customer's newest ticket: the newest 50
entries, older ones load on scroll), the customer page, and the inbox as a supervisor (all
unsolved, and a Next page from the middle of the list) and as an agent of team 1 (their team's
view, "mine", one channel, the cancellation requests); then --compare-open: all but that many
unsolved tickets are solved and every page is timed again. Median and p95 over --runs requests
after two warm-ups, of wall time and of the web process's CPU time, and the PostgreSQL server's
CPU per request. Target: p95 < 50 ms of CPU, and the inbox at 40,000 unsolved within 1.2x of 1,000.
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
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, inspect, text  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.services import create_agent  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Agent, Customer, Event, Identity, Message, OutboxItem, Team, Ticket  # noqa: E402
from app.tickets.keyset import Cursor  # noqa: E402
from config import TestingConfig  # noqa: E402

END = datetime(2026, 11, 23, tzinfo=timezone.utc)
START = END - timedelta(days=365)
CHUNK = 20_000
N_TEAMS = 4
PASSWORD = "bench-password-123"
TARGET_TICKETS, TARGET_MESSAGES, TARGET_EVENTS = 40, 950, 50
QUOTE = ("\n\nOn 2026/10/01 10:00, Shop <support@shop.example> wrote:\n"
         + "> いつもご利用ありがとうございます。次回のお届けについてご案内いたします。\n" * 40)


def _insert(table, rows) -> None:
    for i in range(0, len(rows), CHUNK):
        db.session.execute(insert(table), rows[i:i + CHUNK])
    db.session.commit()


def generate(n_customers: int, n_messages: int, n_tickets: int = 0, n_open: int = 0, seed: int = 5) -> int:
    """Fill the database; returns the id of the target customer's newest ticket.

    With `n_tickets`, the messages are spread over that many tickets (3 or 4 each); with `n_open`,
    exactly that many tickets (drawn over the whole year, as after a history import) are unsolved,
    the rest solved or closed (3 % cancellation requests); the unsolved are listed in the
    table bench_open so set_open() can close all but some of them and reopen them later."""
    rnd = random.Random(seed)
    now = END
    n_agents = 20
    _insert(Team.__table__, [{"id": i, "name": f"チーム{i}"} for i in range(1, N_TEAMS + 1)])
    _insert(Agent.__table__, [{"id": i, "email": f"a{i}@bench.test", "name": f"担当{i:02d}", "role": "agent",
                               "password_hash": "", "active": True, "created_at": now,
                               "team_id": 1 + i % N_TEAMS}
                              for i in range(2, n_agents + 2)])
    _insert(Customer.__table__, [{"id": i, "name": f"顧客 {i}", "name_kana": "", "note": "", "created_at": now,
                                  "updated_at": now} for i in range(1, n_customers + 1)])
    _insert(Identity.__table__, [{"id": i, "customer_id": i, "kind": "email", "value": f"c{i}@example.jp",
                                  "display": f"c{i}@example.jp", "name": "", "bouncing": False,
                                  "created_at": now} for i in range(1, n_customers + 1)])
    span = (END - START).total_seconds()
    channels = ["email", "email", "email", "x", "phone", "web"]
    tickets, per_ticket = [], 4
    n_tickets = n_tickets or (n_messages - TARGET_MESSAGES) // per_ticket + TARGET_TICKETS
    per_ticket_avg = (n_messages - TARGET_MESSAGES) / max(1, n_tickets - TARGET_TICKETS)
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
                        "team_id": None if target or rnd.random() < 0.3 else rnd.randint(1, N_TEAMS),
                        "created_at": created, "updated_at": created,
                        "last_activity_at": created + timedelta(hours=per_ticket * 6 if not target else 24 * 8),
                        "reopen_count": 0, "intent": None, "intent_reason": None, "intent_at": None})
    opened = _choose_open(rnd, tickets, n_open) if n_open else []
    t0 = time.perf_counter()
    _insert(Ticket.__table__, tickets)
    print(f"  {len(tickets)} tickets inserted in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    mid, batch, outbox = 0, [], []
    carry = 0.0
    for t in tickets:
        carry += per_ticket_avg
        count = TARGET_MESSAGES // TARGET_TICKETS + (1 if t["id"] <= TARGET_MESSAGES % TARGET_TICKETS else 0) \
            if t["id"] <= TARGET_TICKETS else int(carry)
        carry -= count if t["id"] > TARGET_TICKETS else 0
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
    db.session.execute(text("CREATE TABLE bench_open (rank INTEGER PRIMARY KEY, ticket_id INTEGER, status VARCHAR(10))"))
    _insert_raw("INSERT INTO bench_open (rank, ticket_id, status) VALUES (:rank, :ticket_id, :status)",
                [{"rank": i, "ticket_id": t["id"], "status": t["status"]} for i, t in enumerate(opened)])
    if db.engine.dialect.name == "postgresql":  # ids were given: move the sequences past them
        for table in ("agents", "teams", "tickets", "messages", "customers", "identities"):
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return TARGET_TICKETS


def _insert_raw(sql: str, rows) -> None:
    for i in range(0, len(rows), CHUNK):
        db.session.execute(text(sql), rows[i:i + CHUNK])
    db.session.commit()


def _choose_open(rnd: random.Random, tickets: list[dict], n_open: int) -> list[dict]:
    """Make exactly `n_open` of the (non-target) tickets unsolved, the others solved or closed;
    3 % of all are cancellation requests (run() makes 1 in 8 of the unsolved ones so)."""
    pool = [t for t in tickets if t["id"] > TARGET_TICKETS]
    opened = rnd.sample(pool, min(n_open, len(pool)))
    for t in pool:
        t["status"] = "solved" if rnd.random() < 0.5 else "closed"
        if rnd.random() < 0.03:
            t.update(intent="cancellation", intent_reason="price", intent_at=t["created_at"])
    for t in opened:
        t["status"] = rnd.choices(["new", "open", "pending"], [25, 50, 25])[0]
    return opened


def set_open(n_open: int) -> int:
    """Leave the first `n_open` of bench_open unsolved (their generated status) and solve the
    rest; returns how many tickets are unsolved now. ANALYZE so plans see the new shape."""
    db.session.execute(text("CREATE INDEX IF NOT EXISTS ix_bench_open_ticket ON bench_open (ticket_id, status)"))
    db.session.execute(text("UPDATE tickets SET status = (SELECT status FROM bench_open WHERE ticket_id = tickets.id) "
                            "WHERE id IN (SELECT ticket_id FROM bench_open WHERE rank < :n)"), {"n": n_open})
    db.session.execute(text("UPDATE tickets SET status = 'solved' "
                            "WHERE id IN (SELECT ticket_id FROM bench_open WHERE rank >= :n)"), {"n": n_open})
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    if db.engine.dialect.name == "sqlite":  # both counts are timed on an emptied write-ahead log
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    else:  # as autovacuum would: the flip leaves 39,000 dead row versions in every ticket index
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE tickets"))
    return db.session.scalar(text("SELECT count(*) FROM tickets WHERE status IN ('new', 'open', 'pending')"))


def _stats(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return statistics.median(samples), samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]


class ServerCPU:
    """CPU seconds used so far by a PostgreSQL cluster's processes (postmaster and backends)."""

    def __init__(self, postmaster_pid: Optional[int]):
        self.pid = postmaster_pid
        self.tick = os.sysconf("SC_CLK_TCK")

    def __call__(self) -> float:
        if self.pid is None:
            return 0.0
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(entry) == self.pid or int(fields[1]) == self.pid:  # fields[1]: ppid
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / self.tick


def timed(client, path: str, runs: int, server_cpu: ServerCPU) -> tuple[list, list, float]:
    """Wall times and this process's CPU times of `runs` requests, and the database server's mean
    CPU per request (PostgreSQL; 0 for SQLite), in ms.

    CPU time is what the request costs the web process whatever else the machine runs (with SQLite
    that includes the queries; with PostgreSQL the server's share is the last figure: clock ticks
    of 10 ms, so only a mean over the runs is meaningful)."""
    for _ in range(2):  # warm-up (query plans, page cache, template compilation)
        assert client.get(path).status_code == 200
    wall, cpu = [], []
    s0 = server_cpu()
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.get(path)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert response.status_code == 200, response.status_code
    return wall, cpu, (server_cpu() - s0) * 1000 / runs


def _agent(email: str, role: str, team_id: Optional[int]) -> Agent:
    agent = db.session.scalar(db.select(Agent).where(Agent.email == email))
    if agent is None:
        agent = create_agent(email, PASSWORD, role=role, name="計測 " + role)
        agent.team_id = team_id
        db.session.commit()
    return agent


def _deep_cursor() -> str:
    """The cursor of the middle row of the unsolved list: a Next link deep in the backlog."""
    n = db.session.scalar(text("SELECT count(*) FROM tickets WHERE status IN ('new', 'open', 'pending')"))
    row = db.session.execute(db.select(Ticket.last_activity_at, Ticket.id)
                             .where(Ticket.status.in_(("new", "open", "pending")))
                             .order_by(Ticket.last_activity_at.desc(), Ticket.id.desc())
                             .offset(max(0, n // 2)).limit(1)).first()
    return Cursor(row[0], row[1]).token() if row else ""


def _views(ticket_id: int, entries: int) -> list[tuple[str, str, str]]:
    """(name, who, path) of each timed page."""
    return [(f"ticket page ({entries} entries)", "agent", f"/tickets/{ticket_id}"),
            ("customer page", "agent", "/customers/1"),
            ("inbox: all (supervisor)", "supervisor", "/"),
            ("inbox: deep Next page (supervisor)", "supervisor", "/?page=400&after={deep}"),
            ("inbox: team (agent of team 1)", "agent", "/"),
            ("inbox: mine", "agent", "/?mine=1"),
            ("inbox: channel x", "agent", "/?channel=x"),
            ("inbox: cancellation requests", "agent", "/?flagged=1")]


def run(url: str, args, reuse: bool = False, server_cpu: Optional[ServerCPU] = None) -> dict:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=tempfile.mkdtemp(),
                     SEARCH_INDEX_DIR=tempfile.mkdtemp())
    server_cpu = server_cpu or ServerCPU(None)
    results: dict = {}
    with app.app_context():
        if reuse:  # data made by an older checkout: today's indexes
            wanted = {index.name for index in Ticket.__table__.indexes}
            for name in {ix["name"] for ix in inspect(db.engine).get_indexes("tickets")} - wanted:
                db.session.execute(text(f"DROP INDEX {name}"))
            db.session.commit()
            for index in Ticket.__table__.indexes:
                index.create(db.engine, checkfirst=True)
        else:
            db.drop_all()
            db.create_all()
            t0 = time.perf_counter()
            generate(args.customers, args.messages, args.tickets, args.open)
            print(f"  generated in {time.perf_counter() - t0:.1f} s", flush=True)
        ticket_id = TARGET_TICKETS
        agents = {"agent": _agent("bench@bench.test", "agent", 1),
                  "supervisor": _agent("boss@bench.test", "supervisor", None)}
        # The timed agent takes over agent #2's tickets (1 in 20 of the assigned) and 1 in 16 of the
        # unsolved (by rank, so "mine" has full pages at 1,000 unsolved too).
        db.session.execute(text("UPDATE tickets SET assignee_id = :me WHERE assignee_id = 2 OR id IN "
                                "(SELECT ticket_id FROM bench_open WHERE rank % 16 = 1)"),
                           {"me": agents["agent"].id})
        # One unsolved ticket in 8 is a cancellation request, at every open count (by rank), so
        # their list has full pages at 1,000 unsolved too.
        db.session.execute(text("UPDATE tickets SET intent = 'cancellation', intent_reason = 'price', "
                                "intent_at = created_at WHERE id IN (SELECT ticket_id FROM bench_open "
                                "WHERE rank % 8 = 0) AND intent IS NULL"))
        db.session.commit()
        entries = db.session.scalar(text("SELECT count(*) FROM messages WHERE customer_id = 1")) + \
            db.session.scalar(text("SELECT count(*) FROM events WHERE customer_id = 1"))
        clients = {}
        for who, agent in agents.items():
            clients[who] = app.test_client()
            assert clients[who].post("/login", data={"email": agent.email, "password": PASSWORD}).status_code == 302
        # A B A B: both open counts in each of --rounds rounds, so a change of the machine's load
        # during the run weighs on both; the figures are over all rounds' requests.
        samples: dict = {}
        for _ in range(args.rounds):
            for n_open in [args.open, args.compare_open] if args.compare_open else [args.open]:
                actual = set_open(n_open)
                deep = _deep_cursor()
                print(f"  {actual} unsolved tickets; customer #1 has {entries} timeline entries", flush=True)
                db.session.remove()
                for name, who, path in _views(ticket_id, entries):
                    wall, cpu, server = timed(clients[who], path.format(deep=deep), args.runs, server_cpu)
                    got = samples.setdefault((actual, name), ([], [], []))
                    got[0].extend(wall), got[1].extend(cpu), got[2].append(server)
                    print(f"    {name}: CPU median {statistics.median(cpu):.1f} ms", flush=True)
        print("  over all rounds:", flush=True)
        for (actual, name), (wall, cpu, server) in samples.items():
            results[(actual, name)] = r = _stats(wall) + _stats(cpu) + (statistics.mean(server),)
            print(f"    {actual} unsolved, {name}: median {r[0]:.1f} ms, p95 {r[1]:.1f} ms (CPU median "
                  f"{r[2]:.1f} ms, p95 {r[3]:.1f} ms; database server CPU {r[4]:.1f} ms/request)", flush=True)
        set_open(args.open)  # leave the data as generated for the next --sqlite-file run
        _print_ratios(results)
        db.session.remove()
        db.engine.dispose()
    return results


def _print_ratios(results: dict) -> None:
    """Each page's CPU median at the largest open count over its median at the smallest."""
    counts = sorted({n for n, _ in results})
    if len(counts) < 2:
        return
    low, high = counts[0], counts[-1]
    print(f"  CPU median ratio, {high} / {low} unsolved (web process + database server):", flush=True)
    for (n, name), r in results.items():
        if n == high and (low, name) in results:
            base = results[(low, name)]
            print(f"    {name}: {(r[2] + r[4]) / (base[2] + base[4]):.2f}x "
                  f"({r[2] + r[4]:.1f} / {base[2] + base[4]:.1f} ms)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--tickets", type=int, default=300_000, help="tickets the messages are spread over")
    parser.add_argument("--open", type=int, default=40_000, help="unsolved tickets (new, open or pending)")
    parser.add_argument("--compare-open", type=int, default=1_000,
                        help="then solve all but this many and time again in the same run (0: skip)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of --open and --compare-open")
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
            run(server.create_database("tsunagu_bench"), args, server_cpu=ServerCPU(server.proc.pid))


if __name__ == "__main__":
    main()
