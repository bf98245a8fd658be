"""Benchmark of the supervisor report over 300,000 tickets and 1,000,000 messages.

    python bench/reports_bench.py                 # SQLite and PostgreSQL, 300k tickets, 20 runs
    python bench/reports_bench.py --backend sqlite --tickets 30000 --messages 100000 --runs 5
    python bench/reports_bench.py --keep /tmp/reports-bench   # build once, reuse on later runs

Data are bulk-inserted with SQLAlchemy Core executemany (no ORM objects): customers, agents,
tags, tickets spread over one year, messages (3-4 per ticket), per-ticket SLA rows as the bus
subscribers store them, ticket tags. PostgreSQL runs in a private throwaway cluster started the
way the tests start it (tests/servers/postgres.py). Timed: the main report (sla_report, grouped by
agent) over the whole year and over the default four weeks, and the whole report page's figures
(every section) over the whole year; median and p95 over --runs runs after one warm-up, each case
without the weekly rollup (raw rows, the previous path) and with it, alternately in the same run;
wall time, this process's CPU and (PostgreSQL) the server backend's CPU.
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
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Agent, Customer, Message, Tag, Ticket, TicketSLA, ticket_tags  # noqa: E402
from config import TestingConfig  # noqa: E402

JST = ZoneInfo("Asia/Tokyo")
END = datetime(2026, 11, 23, tzinfo=JST)
START = END - timedelta(days=365)
CHUNK = 20_000


def _chunks(rows, size=CHUNK):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def _insert(table, rows) -> None:
    for chunk in _chunks(rows):
        db.session.execute(insert(table), chunk)
    db.session.commit()


def generate(n_tickets: int, n_messages: int, seed: int = 8) -> None:
    rnd = random.Random(seed)
    now = datetime.now(timezone.utc)
    n_customers, n_agents = max(n_tickets // 6, 10), 25
    _insert(Agent.__table__, [{"id": i, "email": f"a{i}@bench.test", "name": f"担当{i:02d}", "role": "agent",
                               "password_hash": "", "active": True, "created_at": now} for i in range(1, n_agents + 1)])
    _insert(Customer.__table__, [{"id": i, "name": f"顧客{i}", "name_kana": "", "note": "", "created_at": now,
                                  "updated_at": now} for i in range(1, n_customers + 1)])
    tag_names = ["配送", "解約", "スキップ", "返品", "VIP", "請求", "商品"]
    _insert(Tag.__table__, [{"id": i, "name": n} for i, n in enumerate(tag_names, 1)])
    channels, priorities = ["email", "x", "phone", "api", "web"], ["low", "normal", "normal", "high", "urgent"]
    span = (END - START).total_seconds()
    tickets, slas, links = [], [], []
    for tid in range(1, n_tickets + 1):
        created = (START + timedelta(seconds=rnd.random() * span)).astimezone(timezone.utc)
        status = rnd.choices(["solved", "closed", "open", "pending", "new"], [55, 30, 7, 5, 3])[0]
        channel, priority = rnd.choice(channels), rnd.choice(priorities)
        assignee = rnd.randint(1, n_agents) if rnd.random() > 0.05 else None
        fr = int(rnd.lognormvariate(8, 1.2)) if status != "new" else None
        res = int(fr * rnd.uniform(1.5, 20)) if fr and status in ("solved", "closed") else None
        replies = rnd.randint(1, 4) if fr else 0
        tickets.append({"id": tid, "customer_id": rnd.randint(1, n_customers), "subject": "お問い合わせ",
                        "status": status, "priority": priority, "channel": channel, "assignee_id": assignee,
                        "created_at": created, "updated_at": created, "last_activity_at": created,
                        "reopen_count": 1 if rnd.random() < 0.06 else 0,
                        "first_response_at": created + timedelta(seconds=fr) if fr else None,
                        "solved_at": created + timedelta(seconds=res) if res else None})
        slas.append({"ticket_id": tid, "created_at": created, "channel": channel, "priority": priority,
                     "assignee_id": assignee, "status": status, "state": "met" if res else "ok",
                     "breached": rnd.random() < 0.12, "has_target": True,
                     "first_response_seconds": fr, "first_response_business_seconds": int(fr * 0.4) if fr else None,
                     "next_response_seconds": int(fr * 1.3) if fr and replies > 1 else None,
                     "next_response_business_seconds": int(fr * 0.5) if fr and replies > 1 else None,
                     "resolution_seconds": res, "resolution_business_seconds": int(res * 0.35) if res else None,
                     "replies": replies, "reopen_count": tickets[-1]["reopen_count"], "updated_at": now})
        if rnd.random() < 0.35:
            links.append({"ticket_id": tid, "tag_id": rnd.randint(1, len(tag_names))})
    t0 = time.perf_counter()
    _insert(Ticket.__table__, tickets)
    _insert(TicketSLA.__table__, slas)
    _insert(ticket_tags, links)
    print(f"  tickets + sla rows + tags inserted in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    mid = 0
    batch = []
    per_ticket = n_messages / n_tickets
    for t in tickets:
        count = int(per_ticket) + (1 if rnd.random() < per_ticket - int(per_ticket) else 0)
        for k in range(count):
            mid += 1
            if mid > n_messages:
                break
            at = t["created_at"] + timedelta(minutes=30 * k)
            batch.append({"id": mid, "ticket_id": t["id"], "customer_id": t["customer_id"], "channel": t["channel"],
                          "direction": "in" if k % 2 == 0 else "out", "external_id": f"m{mid}",
                          "reply_to_keys": [], "sender": "", "subject": "", "body_text": "お世話になっております。" * 3,
                          "created_at": at, "received_at": at, "content_hash": "", "auto_submitted": False,
                          "meta": {}})
        if len(batch) >= CHUNK:
            db.session.execute(insert(Message.__table__), batch)
            batch = []
    if batch:
        db.session.execute(insert(Message.__table__), batch)
    db.session.commit()
    print(f"  {mid if mid <= n_messages else n_messages} messages inserted in {time.perf_counter() - t0:.1f} s", flush=True)
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    if db.engine.dialect.name == "sqlite":  # fold the bulk load's WAL into the database file
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.commit()
    else:  # set the visibility map so index-only scans need not visit the heap
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def _backend_cpu() -> float:
    """CPU seconds used so far by this session's PostgreSQL backend process (0 on SQLite)."""
    if db.engine.dialect.name != "postgresql":
        return 0.0
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fns: dict[str, object], runs: int) -> dict[str, dict[str, float]]:
    """Median and p95 (ms) of wall time, this process's CPU and the PostgreSQL backend's CPU, of
    each function, run in turn `runs` times after one warm-up, so variants are compared under the
    same load.

    On a shared machine wall time includes waiting for a core; for SQLite, which runs inside this
    process, process CPU is what the report itself costs; for PostgreSQL add the server backend's."""
    samples = {name: {"wall": [], "cpu": [], "server": []} for name in fns}
    for fn in fns.values():
        fn()  # warm-up (query plans, page cache)
    for _ in range(runs):
        for name, fn in fns.items():
            t0, c0, s0 = time.perf_counter(), time.process_time(), _backend_cpu()
            fn()
            samples[name]["wall"].append((time.perf_counter() - t0) * 1000)
            samples[name]["cpu"].append((time.process_time() - c0) * 1000)
            samples[name]["server"].append((_backend_cpu() - s0) * 1000)

    def p95(values):
        values = sorted(values)
        return values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]

    return {name: {f"{k}_{stat}": fn(v) for k, v in d.items() for stat, fn in
                   (("median", statistics.median), ("p95", p95))} for name, d in samples.items()}


def prepare_rollup() -> None:
    """Create the rollup tables and triggers on kept data made before they existed; rebuild."""
    from app.reports import rollup
    from app.reports.rollup_ddl import create_triggers

    db.create_all()  # only the missing tables
    create_triggers(db.session.connection())
    db.session.commit()
    t0 = time.perf_counter()
    cells = rollup.rebuild()
    print(f"  rollup rebuilt in {time.perf_counter() - t0:.1f} s: {cells} cells", flush=True)
    if db.engine.dialect.name == "postgresql":
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE sla_week_rollup"))
            conn.execute(text("VACUUM ANALYZE sla_rollup_deltas"))


def run(url: str, args, done: Optional[Path] = None) -> dict[str, dict[str, float]]:
    """Time the reports with and without the rollup; `done` marks kept data already generated."""
    from app.reports import figures, metrics
    from app.reports.metrics import Filters, sla_report

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=tempfile.mkdtemp())
    results = {}
    with app.app_context():
        if done is None or not done.exists():
            db.drop_all()
            db.create_all()
            t0 = time.perf_counter()
            generate(args.tickets, args.messages)
            print(f"  generated in {time.perf_counter() - t0:.1f} s", flush=True)
            if done is not None:
                done.write_text("ok")
        else:
            print(f"  reusing the data of {done.parent}", flush=True)
        prepare_rollup()
        year = Filters(start=START, end=END + timedelta(days=1))
        month = Filters(start=END - timedelta(days=27), end=END + timedelta(days=1))

        def both(fn):
            def raw():
                metrics.USE_ROLLUP = False
                try:
                    return fn()
                finally:
                    metrics.USE_ROLLUP = True
            return {"raw": raw, "rollup": fn}

        for group_by in ("agent", "week"):
            a, b = both(lambda: sla_report(year, group_by))["raw"](), sla_report(year, group_by)
            print(f"  one year by {group_by}: {a['total']['tickets']} tickets, {len(a['groups'])} groups; "
                  f"rollup == raw: {a == b}", flush=True)

        def page():
            sla_report(year, "agent")
            figures.backlog_by_age(f=year)
            figures.volume_heatmap(year)
            figures.save_rates(year)
            figures.coupon_spend(year)
            figures.satisfaction(year)

        for name, fn in (("sla_report, one year (all tickets), by agent", lambda: sla_report(year, "agent")),
                         ("sla_report, one year, by week", lambda: sla_report(year, "week")),
                         ("sla_report, default 4 weeks, by agent", lambda: sla_report(month, "agent")),
                         ("whole report page figures, one year", page)):
            pair = results[name] = timed(both(fn), args.runs)
            for variant, r in pair.items():
                server = (f", server backend CPU median {r['server_median']:.0f} / p95 {r['server_p95']:.0f} ms"
                          if db.engine.dialect.name == "postgresql" else "")
                print(f"  {name} [{variant}]: median {r['wall_median']:.0f} ms, p95 {r['wall_p95']:.0f} ms "
                      f"(process CPU median {r['cpu_median']:.0f} / p95 {r['cpu_p95']:.0f} ms{server})", flush=True)
            ratio = pair["rollup"]["wall_median"] / pair["raw"]["wall_median"]
            print(f"    rollup/raw wall median ratio {ratio:.2f}; load average {os.getloadavg()[0]:.1f} "
                  f"on {os.cpu_count()} CPUs", flush=True)
        db.session.remove()
        db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=300_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="keep the generated databases in this directory and "
                        "reuse them on later runs with the same --tickets/--messages")
    args = parser.parse_args()
    keep = args.keep.resolve() / f"{args.tickets}-{args.messages}" if args.keep else None
    if args.backend in ("sqlite", "both"):
        tmp = keep or Path(tempfile.mkdtemp(prefix="tsunagu-bench-"))
        tmp.mkdir(parents=True, exist_ok=True)
        print(f"SQLite ({tmp / 'bench.db'})", flush=True)
        try:
            run(f"sqlite:///{tmp / 'bench.db'}", args, tmp / "sqlite.done" if keep else None)
        finally:
            if not keep:
                shutil.rmtree(tmp, ignore_errors=True)
    if args.backend in ("postgresql", "both"):
        if keep:
            with kept_postgres(keep / "pg") as server:
                print(f"PostgreSQL (kept cluster {keep / 'pg'} on port {server.port})", flush=True)
                done = keep / "pg" / "generated.done"
                url = server.url("tsunagu_bench") if done.exists() else server.create_database("tsunagu_bench")
                run(url, args, done)
        else:
            from bench.servers import private_postgres

            with private_postgres() as server:
                print(f"PostgreSQL (private cluster on port {server.port})", flush=True)
                run(server.create_database("tsunagu_bench"), args)


@contextmanager
def kept_postgres(base: Path):
    """A PostgreSQL cluster in `base`, created on first use and started again on later runs."""
    from tests.servers import ensure_installed
    from tests.servers.postgres import PostgresServer

    initdb = ensure_installed("/usr/lib/postgresql/*/bin/initdb")
    base.mkdir(parents=True, exist_ok=True)
    server = PostgresServer(Path(initdb).parent, base)
    if not (base / "data" / "PG_VERSION").exists():
        server.initdb()
    else:  # a new free port each run: the last `port` line of the file wins
        with open(base / "data" / "postgresql.conf", "a") as conf:
            conf.write(f"port = {server.port}\n")
    server.start()
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":
    main()
