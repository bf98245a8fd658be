"""Benchmark: LINE webhook events per second ingested end to end, on SQLite.

    python bench/line_webhook.py [--events 3000] [--per-delivery 5] [--database-url URL] [--without-subscribers]

Signed deliveries (tests/lineserver.py builds and signs them like LINE) are POSTed to /hooks/line
through the app's WSGI stack (signature check, JSON, profile look-up on the local Messaging API
server for users not yet known, ingest, subscribers). Events come from events/5 users, with
stickers and a few redeliveries (stored once) mixed in. Reports events/s (wall and per
CPU-second) and the median / p95 time per delivery.
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

from tests.lineserver import LineServer, line_config, sign  # noqa: E402

FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
GIVEN = ["花子", "太郎", "美咲", "翔", "陽菜", "蓮", "結衣", "大輝", "さくら", "健"]
TEXTS = ["次回のお届けを1週間遅らせたいです", "プロテインの味を変更できますか", "解約の手続きを教えてください",
         "請求額が先月と違います", "箱がつぶれて届きました", "ポイントはいつ付きますか？",
         "ありがとうございました！", "住所変更をお願いします"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def deliveries(server: LineServer, events: int, per_delivery: int, seed: int = 11) -> tuple[list[bytes], int]:
    """Signed bodies carrying `events` events; returns (bodies, unique events)."""
    rng = random.Random(seed)
    users = [server.add_user(f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}", n=i) for i in range(max(events // 5, 1))]
    made: list[dict] = []
    for i in range(events):
        uid = rng.choice(users)
        if made and rng.random() < 0.03:  # LINE redelivers an event it was unsure about
            earlier = dict(rng.choice(made))
            earlier["deliveryContext"] = {"isRedelivery": True}
            earlier.pop("replyToken", None)
            made.append(earlier)
        elif rng.random() < 0.1:
            made.append(server.event(uid, message={"type": "sticker", "packageId": "446", "stickerId": str(1988 + i % 20),
                                                   "stickerResourceType": "STATIC", "keywords": ["OK"]}))
        else:
            made.append(server.text(uid, f"{rng.choice(TEXTS)}（{i}）"))
    unique = len({e["webhookEventId"] for e in made})
    bodies = [server.delivery(*made[i:i + per_delivery]) for i in range(0, len(made), per_delivery)]
    return bodies, unique


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--per-delivery", type=int, default=5)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--without-subscribers", action="store_true",
                        help="detach the message.ingested handlers (SLA, intent, search, live) after the "
                             "warm-up, to measure the webhook + ingest path alone")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import db
    from app.models import Message, Ticket
    from config import TestingConfig

    tmp = Path(tempfile.mkdtemp(prefix="tsunagu-bench-line-"))
    server = LineServer()
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=args.database_url or f"sqlite:///{tmp / 'bench.db'}",
                     INSTANCE_DIR=str(tmp / "instance"), SEARCH_INDEX_DIR=str(tmp / "search"),
                     **line_config(server, LINE_HTTP_TIMEOUT=30))
    try:
        with app.app_context():
            db.create_all()
            bodies, unique = deliveries(server, args.events, args.per_delivery)
            total_events = sum(body.count(b'"webhookEventId"') for body in bodies)
            client = app.test_client()
            print(f"{total_events} events ({unique} unique) in {len(bodies)} deliveries, "
                  f"database {db.engine.url.render_as_string()}")
            # Warm-up (not timed): the first ingested text trains the intent model once per process.
            warm_uid = server.add_user("ウォームアップ", n=10**6)
            warm = server.delivery(server.text(warm_uid, "解約したいです"))
            t0 = time.perf_counter()
            client.post("/hooks/line", data=warm, content_type="application/json", headers={"X-Line-Signature": sign(warm)})
            print(f"warm-up delivery (intent model training etc.): {time.perf_counter() - t0:.1f} s, not counted")
            if args.without_subscribers:
                from app import bus

                bus._handlers.pop("message.ingested", None)
                bus._batch_handlers.pop("message.ingested", None)
            per_delivery: list[float] = []
            started, cpu = time.perf_counter(), time.process_time()
            for body in bodies:
                t0 = time.perf_counter()
                response = client.post("/hooks/line", data=body, content_type="application/json",
                                       headers={"X-Line-Signature": sign(body)})
                per_delivery.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.data[:300]
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            db.session.remove()
            stored = db.session.scalar(select(func.count()).select_from(Message))
            tickets = db.session.scalar(select(func.count()).select_from(Ticket))
            assert stored == unique + 1, (stored, unique)
            profiles = len(server.requests_to("GET", "/profile/"))
            print(f"end to end: {total_events / wall:.0f} events/s wall ({total_events} in {wall:.2f} s), "
                  f"{total_events / cpu:.0f} events per CPU-second")
            print(f"per delivery of {args.per_delivery}: median {statistics.median(per_delivery) * 1000:.1f} ms, "
                  f"p95 {pct(per_delivery, 0.95) * 1000:.1f} ms")
            print(f"stored {stored} messages in {tickets} tickets; {profiles} profile look-ups; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
