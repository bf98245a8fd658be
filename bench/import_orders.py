"""Benchmark: import 100,000 orders from a generated Shift_JIS cart export.

    python bench/import_orders.py [--orders 100000] [--database-url URL] [--rerun]

Generates the CSV (Japanese cart headers, one row per order line, ~1.3 lines per order, 20,000
customers with email and phone), imports it into a fresh database (a temporary SQLite file unless
--database-url is given; its tables are created, so use an empty database) and prints rows/s,
orders/s and peak memory (the process's peak RSS, and how much the import added to it).
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HEADER = ["受注番号", "注文日時", "顧客番号", "氏名", "メールアドレス", "電話番号", "商品コード", "商品名", "数量",
          "単価", "合計金額", "対応状況", "クーポンコード"]
PRODUCTS = [("AO-30", "酵素青汁 30包", 3780), ("AO-60", "酵素青汁 60包", 6980), ("BS-01", "ボディソープ しっとり", 2480),
            ("BS-02", "ボディソープ さっぱり", 2480), ("CL-01", "クレンジングバーム", 3300), ("SP-01", "乳酸菌サプリ", 2980)]
SURNAMES = "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤".split()
GIVEN = "花子 太郎 優子 一郎 美咲 健太 陽子 翔太 恵 大輔".split()
STATUSES = ["発送済み"] * 6 + ["配達完了"] * 3 + ["新規受付", "キャンセル"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def generate(path: Path, orders: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    rows = 0
    with open(path, "w", encoding="cp932", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for n in range(1, orders + 1):
            c = rng.randrange(1, 20001)
            name = f"{SURNAMES[c % 10]} {GIVEN[(c // 10) % 10]}"
            lines = rng.sample(PRODUCTS, 1 if rng.random() < 0.7 else 2)
            qty = [rng.choice((1, 1, 1, 2)) for _ in lines]
            total = sum(q * p[2] for q, p in zip(qty, lines))
            when = f"2025/{1 + n % 12:02d}/{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}:00"
            for q, (code, label, price) in zip(qty, lines):
                writer.writerow([f"A{n:07d}", when, f"C{c:06d}", name, f"customer{c}@example.jp",
                                 f"090-{c // 10000:04d}-{c % 10000:04d}", code, label, q, f"{price:,}", f"{total:,}",
                                 rng.choice(STATUSES), ""])
                rows += 1
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rerun", action="store_true", help="Import the same file a second time (idempotency).")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tsunagu-bench-"))
    csv_path = work / "orders.csv"
    started = time.perf_counter()
    rows = generate(csv_path, args.orders)
    print(f"generated {args.orders:,} orders / {rows:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB, Shift_JIS) "
          f"in {time.perf_counter() - started:.1f} s")

    from app import create_app
    from app.commerce.imports import import_csv
    from app.commerce.upserts import Upserter
    from app.extensions import db
    from config import TestingConfig

    url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=str(work / "instance"))
    with app.app_context():
        db.create_all()
        upserter = Upserter()
        for code, label, price in PRODUCTS:
            name, _, variant = label.partition(" ")
            upserter.upsert_product(code, {"name": name, "variant": variant, "sku": code, "price": price})
        db.session.commit()
        runs = [("first import", True)] + ([("re-run (no changes)", False)] if args.rerun else [])
        for label, _ in runs:
            before, cpu = peak_rss_mb(), time.process_time()
            stats = import_csv("orders", str(csv_path), report_path=str(work / "report.csv"))
            cpu = time.process_time() - cpu
            print(f"{label}: {stats.summary()}")
            print(f"  {stats.rows / stats.seconds:,.0f} rows/s, {stats.records / stats.seconds:,.0f} orders/s "
                  f"(wall); {cpu:.0f} s CPU = {stats.rows / cpu:,.0f} rows/s of CPU; load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            print(f"  peak RSS {peak_rss_mb():.0f} MB (was {before:.0f} MB before the import)")
    print(f"database: {url.split('@')[-1]}; files in {work}")
    if not args.database_url:
        os.remove(work / "bench.db")


if __name__ == "__main__":
    main()
