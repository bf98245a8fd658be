"""Search backends side by side: Whoosh vs PostgreSQL on the same generated corpus and machine.

Run from the repository root, with the virtualenv active (root or a user that can run postgres):

    nice -n 10 python bench/search_backends.py --messages 100000
    nice -n 10 python bench/search_backends.py --messages 1000000 --customers 100000
    python bench/search_backends.py --messages 100000 --rum --trgm   # + the index alternatives

A private PostgreSQL 15 cluster is initdb'd in a temporary directory under /tmp (or pass
--database-url), filled with bench/search_bench.py's corpus (imported, not copied), then:
- indexing: Whoosh's `rebuild()` and the PostgreSQL backend's `rebuild()` (what `flask search
  reindex` runs on each), documents per second of wall, process CPU and PostgreSQL server CPU;
- index size: the Whoosh directory vs the two tables with their indexes;
- the same 50 mixed queries (search_bench.run_queries: messages with filters, customers, as a
  supervisor and a team agent), p50/p95 wall and CPU, for each backend;
- recall: for every distinct query of the mix, the *whole* hit set (not one page) of each
  backend, as supervisor and as agent; any difference is listed;
- --rum / --trgm: the newest-first page of each message query with a RUM index ordering by
  time inside the index (postgresql-15-rum), and pg_trgm LIKE on the raw text, vs the GIN plan.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.search_bench import (QUERIES_CUSTOMERS, QUERIES_MESSAGES, fill_database,  # noqa: E402
                                percentile, run_queries)


def server_cpu(pid: int) -> float:
    """CPU seconds of the postmaster and its children (backends, autovacuum, checkpointer)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def start_postgres(workdir: str):
    from tests.servers.postgres import PostgresServer

    bindir = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
    base = Path(tempfile.mkdtemp(prefix="pg-", dir=workdir))
    server = PostgresServer(bindir, base)
    server.initdb()
    with open(server.datadir / "postgresql.conf", "a") as conf:
        conf.write("shared_buffers = 256MB\nmaintenance_work_mem = 256MB\nwork_mem = 16MB\n")
    server.start()
    return server


def timed(fn, pid: int):
    start, cpu, server = time.perf_counter(), time.process_time(), server_cpu(pid)
    out = fn()
    return out, {"seconds": round(time.perf_counter() - start, 1), "cpu_s": round(time.process_time() - cpu, 1),
                 "server_cpu_s": round(server_cpu(pid) - server, 1)}


def mixed_queries():
    """The distinct (kind, text, filters) of run_queries' mix."""
    from app.search.query import MessageFilters
    from datetime import date

    filters = [MessageFilters(), MessageFilters(status="open"), MessageFilters(channel="email", sort="newest"),
               MessageFilters(date_from=date(2025, 2, 1), date_to=date(2025, 3, 1))]
    out = []
    for i in range(50):
        if i % 3 == 2:
            out.append(("customer", QUERIES_CUSTOMERS[i % len(QUERIES_CUSTOMERS)], None))
        else:
            out.append(("message", QUERIES_MESSAGES[i % len(QUERIES_MESSAGES)], filters[i % 4]))
    return out


def whoosh_hits(agent, kind, text, filters) -> set[int]:
    from app.search import docsets, index as idx
    from app.search.docsets import restrict
    from app.search.query import customer_query, message_query, visibility_group

    with idx.searcher() as searcher:
        if kind == "customer":
            query = customer_query(text)
            return {hit["obj_id"] for hit in searcher.search(query, limit=None)} if query else set()
        query = message_query(text)
        groups = filters.groups()
        visible = visibility_group(agent)
        if visible is not None:
            groups.append(visible)
        found = searcher.search(restrict(query, docsets.allowed(searcher, groups)), limit=None)
        return {hit["obj_id"] for hit in found}


def pg_hits(agent, kind, text, filters) -> set[int]:
    from app.search.pg.search import all_customer_ids, all_message_ids
    from app.search.query import customer_query, message_query

    if kind == "customer":
        query = customer_query(text)
        return all_customer_ids(query) if query else set()
    return all_message_ids(agent, message_query(text), filters)


def recall(app) -> dict:
    from app.extensions import db
    from app.models import Agent

    people = [db.session.get(Agent, 1), db.session.get(Agent, 2)]
    compared, differences = 0, []
    seen = set()
    for kind, text, filters in mixed_queries():
        key = (kind, text, repr(filters))
        if key in seen:
            continue
        seen.add(key)
        for agent in people:
            app.config["SEARCH_BACKEND"] = "whoosh"
            w = whoosh_hits(agent, kind, text, filters)
            app.config["SEARCH_BACKEND"] = "postgres"
            p = pg_hits(agent, kind, text, filters)
            compared += 1
            if w != p:
                differences.append({"kind": kind, "query": text, "filters": repr(filters), "agent": agent.id,
                                    "whoosh": len(w), "postgres": len(p), "only_whoosh": sorted(w - p)[:5],
                                    "only_postgres": sorted(p - w)[:5]})
            db.session.rollback()
    return {"hit_sets_compared": compared, "identical": compared - len(differences), "differences": differences}


def table_mb() -> float:
    from sqlalchemy import text
    from app.extensions import db
    from app.search.pg import schema

    return round(sum(db.session.scalar(text("SELECT pg_total_relation_size(:t)"), {"t": t})
                     for t in schema.TABLES) / 2**20, 1)


def alternatives(use_rum: bool, use_trgm: bool) -> dict:
    """Newest-first page of each message query: GIN vs RUM (order in the index) vs pg_trgm LIKE."""
    from sqlalchemy import text
    from app.extensions import db
    from app.search.pg.search import to_tsquery_text
    from app.search.query import message_query

    out: dict = {}
    queries = list(dict.fromkeys(QUERIES_MESSAGES))
    plans = {"gin": "SELECT message_id FROM search_pg_messages WHERE terms @@ CAST(:q AS tsquery) "
                    "ORDER BY created_at DESC LIMIT 20"}
    if use_rum:
        start = time.perf_counter()
        db.session.execute(text("CREATE EXTENSION IF NOT EXISTS rum"))
        db.session.execute(text("CREATE INDEX IF NOT EXISTS bench_rum ON search_pg_messages USING rum "
                                "(terms rum_tsvector_addon_ops, created_at) WITH (attach = 'created_at', to = 'terms')"))
        db.session.commit()
        out["rum_build_s"] = round(time.perf_counter() - start, 1)
        out["rum_mb"] = round(db.session.scalar(text("SELECT pg_relation_size('bench_rum')")) / 2**20, 1)
        plans["rum"] = ("SELECT message_id FROM search_pg_messages WHERE terms @@ CAST(:q AS tsquery) "
                        "ORDER BY created_at <=> '2100-01-01'::timestamptz LIMIT 20")
    if use_trgm:
        start = time.perf_counter()
        db.session.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        db.session.execute(text("CREATE INDEX IF NOT EXISTS bench_trgm ON messages USING gin (body_text gin_trgm_ops)"))
        db.session.commit()
        out["trgm_build_s"] = round(time.perf_counter() - start, 1)
        out["trgm_mb"] = round(db.session.scalar(text("SELECT pg_relation_size('bench_trgm')")) / 2**20, 1)
        plans["trgm"] = ("SELECT id FROM messages WHERE body_text ILIKE :like ORDER BY created_at DESC LIMIT 20")
    for name, sql in plans.items():
        times = []
        for _ in range(2):  # the second round is the warm one that is kept
            times = []
            for q in queries:
                query = message_query(q)
                params = {"q": to_tsquery_text(query), "like": f"%{q.strip(chr(34))}%"}
                start = time.perf_counter()
                db.session.execute(text(sql), params).all()
                times.append((time.perf_counter() - start) * 1000)
            db.session.rollback()
        out[name] = {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 0.95), 1),
                     "max_ms": round(max(times), 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=None, help="default: messages / 10")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="an empty PostgreSQL database instead of a private cluster")
    parser.add_argument("--rum", action="store_true", help="also time a RUM index (postgresql-15-rum)")
    parser.add_argument("--trgm", action="store_true", help="also time pg_trgm LIKE on the raw text")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (and stop nothing)")
    parser.add_argument("--postgres-only", action="store_true", help="skip Whoosh (and the recall check)")
    args = parser.parse_args()
    args.customers = args.customers or max(1, args.messages // 10)

    from sqlalchemy import text

    from app import create_app
    from app.extensions import db
    from app.search.pg import schema
    from config import TestingConfig

    workdir = tempfile.mkdtemp(prefix="pgsearch-bench-", dir="/tmp")
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
    server = None if args.database_url else start_postgres(workdir)
    url = args.database_url or server.url("postgres")
    pid = server.proc.pid if server else 0
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=f"{workdir}/instance",
                     SEARCH_INDEX_DIR=f"{workdir}/index")
    result: dict = {"messages": args.messages, "customers": args.customers, "cpus": os.cpu_count(),
                    "loadavg_start": os.getloadavg()}
    try:
        with app.app_context():
            db.create_all()
            with db.engine.begin() as conn:
                schema.create(conn)
            start = time.perf_counter()
            fill_database(args.messages, args.customers, args.seed)  # Core inserts: no hook runs
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            result["db_fill_s"] = round(time.perf_counter() - start, 1)

            from app.search.indexer import rebuild as whoosh_rebuild, total_documents
            from app.search.pg.writer import rebuild as pg_rebuild

            total = total_documents()
            app.config["SEARCH_BACKEND"] = "whoosh"
            count, result["whoosh_index"] = timed(whoosh_rebuild, pid) if not args.postgres_only else (1, {"seconds": 1})
            result["whoosh_index"]["docs_per_s"] = round(count / result["whoosh_index"]["seconds"])
            if not args.postgres_only:
                result["whoosh_index"]["mb"] = round(sum(f.stat().st_size for f in Path(f"{workdir}/index").iterdir())
                                                     / 2**20, 1)
            app.config["SEARCH_BACKEND"] = "postgres"
            count, result["pg_index"] = timed(pg_rebuild, pid)
            result["pg_index"]["docs_per_s"] = round(count / result["pg_index"]["seconds"])
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE search_pg_messages"))
                conn.execute(text("VACUUM ANALYZE search_pg_customers"))
            result["pg_index"]["mb"] = table_mb()
            result["documents"] = total
            for name in ("postgres",) if args.postgres_only else ("whoosh", "postgres"):
                app.config["SEARCH_BACKEND"] = name
                before = server_cpu(pid)
                result[f"{name}_queries"] = run_queries(50)
                result[f"{name}_queries"]["server_cpu_s"] = round(server_cpu(pid) - before, 2)
            if not args.postgres_only:
                result["recall"] = recall(app)
            if args.rum or args.trgm:
                result["alternatives"] = alternatives(args.rum, args.trgm)
            db.session.remove()
            db.engine.dispose()
    finally:
        if server and not args.keep:
            server.stop()
        result["loadavg_end"] = os.getloadavg()
        if args.keep:
            result["workdir"] = workdir
            result["database_url"] = url
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
