"""Benchmark: 10,000 X mentions from the local v2 server ingested end to end, on SQLite.

    python bench/x_mentions.py [--posts 10000] [--page-size 100] [--database-url URL]

It measures three rates over the same pages:
1. the server alone: raw HTTP GETs of every page (requests, no tweepy, no parsing);
2. the adapter: the real tweepy client + parsing into InboundMessages, without storing;
3. end to end: `poll_mentions` (fetch every page, ingest oldest first in page-sized batches through
   the one ingest path, since_id committed with the last batch), and reports posts/s, median/p95
   per page (fetch, ingest, both) and how close end to end gets to the server's own rate.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.xserver import BEARER, XServer, ago, x_config  # noqa: E402

FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
GIVEN = ["花子", "太郎", "美咲", "翔", "陽菜", "蓮", "結衣", "大輝", "さくら", "健"]
TEXTS = ["定期便の配送日を変更したいです", "つなぐ茶が届きません", "解約方法を教えてください",
         "次回のお届けをスキップできますか", "商品が破損していました", "支払い方法を変えたいです",
         "ありがとうございます、助かりました", "在庫はいつ戻りますか？"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def fill(server: XServer, posts: int, seed: int = 7) -> None:
    """`posts` mentions from posts/5 customers; about a third continue an earlier conversation."""
    rng = random.Random(seed)
    users = [server.add_user(f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}", f"cust{i:05d}")
             for i in range(max(posts // 5, 1))]
    last_by_user: dict[str, str] = {}
    for i in range(posts):
        user = rng.choice(users)
        parent = last_by_user.get(user) if rng.random() < 0.35 else None
        post = server.add_post(user, f"{rng.choice(TEXTS)} ({i})", reply_to=parent,
                               created_at=ago((posts - i) / 10))
        last_by_user[user] = post["id"]


def server_rate(server: XServer, page_size: int) -> tuple[int, float, list[float]]:
    session = requests.Session()
    url = f"{server.url}/2/users/{server.user_id}/mentions"
    params = {"max_results": page_size, "expansions": "author_id",
              "tweet.fields": "author_id,conversation_id,created_at,in_reply_to_user_id,referenced_tweets"}
    total, token, per_page = 0, None, []
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        body = session.get(url, params={**params, **({"pagination_token": token} if token else {})},
                           headers={"Authorization": f"Bearer {BEARER}"}, timeout=30).json()
        per_page.append(time.perf_counter() - t0)
        total += body["meta"]["result_count"]
        token = body["meta"].get("next_token")
        if not token:
            return total, time.perf_counter() - started, per_page


def adapter_rate(config: dict) -> tuple[int, float, list[float]]:
    from app.channels.x.adapter import XChannel

    adapter = XChannel(config)
    total, token, per_page = 0, None, []
    started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        page = adapter.fetch_mentions(None, token, config["X_PAGE_SIZE"])
        per_page.append(time.perf_counter() - t0)
        total += len(page.messages)
        token = page.next_token
        if not token:
            return total, time.perf_counter() - started, per_page


def line(label: str, posts: int, seconds: float, per_page: list[float]) -> str:
    return (f"{label:<34} {posts:>6} posts in {seconds:6.2f} s = {posts / seconds:8.0f} posts/s   "
            f"per page median {statistics.median(per_page) * 1000:6.1f} ms, p95 {pct(per_page, 0.95) * 1000:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--database-url", help="default: a fresh SQLite file (WAL) in a temp dir")
    parser.add_argument("--without-subscribers", action="store_true",
                        help="unsubscribe the message.ingested handlers (SLA, retention, search, live) "
                             "to measure the ingest path alone")
    args = parser.parse_args()

    from app import create_app
    from app.channels.x.poller import poll_mentions
    from app.extensions import db
    from app.models import Message, Ticket
    from config import TestingConfig
    from sqlalchemy import func, select

    tmp = Path(tempfile.mkdtemp(prefix="tsunagu-bench-x-"))
    server = XServer(reach=args.posts + 1)
    fill(server, args.posts)
    config = x_config(server, X_PAGE_SIZE=args.page_size, X_MAX_PAGES_PER_POLL=args.posts // args.page_size + 2,
                      X_MENTIONS_REACH=args.posts + 1, X_MONTHLY_READ_CAP=10 * args.posts, X_HTTP_TIMEOUT=60)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=args.database_url or f"sqlite:///{tmp / 'bench.db'}",
                     INSTANCE_DIR=str(tmp / "instance"), SEARCH_INDEX_DIR=str(tmp / "search"), **config)
    try:
        with app.app_context():
            db.create_all()
            print(f"{args.posts} mentions, pages of {args.page_size}, database {db.engine.url.render_as_string()}")
            n, secs, pages = server_rate(server, args.page_size)
            print(line("server alone (raw HTTP GET)", n, secs, pages))
            server_pps = n / secs
            n, secs, pages = adapter_rate(app.config)
            print(line("adapter (tweepy + parse)", n, secs, pages))

            if args.without_subscribers:
                from app import bus

                bus._handlers.pop("message.ingested", None)
            started, cpu = time.perf_counter(), time.process_time()
            report = poll_mentions(app.config, force=True)
            total, cpu = time.perf_counter() - started, time.process_time() - cpu
            db.session.remove()
            stored = db.session.scalar(select(func.count()).select_from(Message))
            tickets = db.session.scalar(select(func.count()).select_from(Ticket))
            assert report.status == "ok" and stored == args.posts, (report.status, report.detail, stored)
            print(line("end to end: fetch pages", report.fetched, sum(report.fetch_seconds), report.fetch_seconds))
            print(line("end to end: ingest batches", report.created, sum(report.ingest_seconds), report.ingest_seconds))
            both = [f + i for f, i in zip(report.fetch_seconds, report.ingest_seconds)]
            print(line("end to end: poll_mentions", report.created, total, both))
            print(f"stored {stored} messages in {tickets} tickets; since_id {report.since_id}; "
                  f"end to end is {report.created / total / server_pps:.1%} of the server's own rate; "
                  f"process CPU {cpu:.1f} s for {total:.1f} s wall ({report.created / cpu:.0f} posts per CPU-second; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
