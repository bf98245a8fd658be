"""CSV import of cart exports: Shift_JIS and UTF-8, header mapping, bad rows, re-runs, the CLI."""
from __future__ import annotations

import csv
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from app.commerce.imports import ImportFailed, detect_encoding, import_csv
from app.extensions import db
from app.models import Customer, Identity, Order, OrderLine, Subscription
from tests.factories import make_ticket
from tests.retention_helpers import make_product

ORDER_HEADER = ["受注番号", "注文日時", "顧客番号", "氏名", "メールアドレス", "電話番号", "商品コード", "商品名",
                "数量", "単価", "合計金額", "対応状況", "備考"]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def write_csv(path, header, rows, encoding):
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def products(app):
    a = make_product(name="酵素青汁", variant="30包")
    a.sku = "AO-30"
    b = make_product(name="ボディソープ", variant="しっとり")
    b.sku = "BS-01"
    db.session.commit()
    return a, b


def order_rows():
    return [
        ["A-1001", "2025/04/01 10:15:00", "C-1", "山田 花子", "hanako@example.jp", "090-1234-5678", "AO-30",
         "酵素青汁 30包", "2", "3,780", "￥7,560", "発送済み", "①お急ぎ～"],
        ["A-1002", "2025年4月2日 9:00", "C-2", "佐藤 太郎", "taro@example.jp", "", "AO-30", "", "1", "3780",
         "8,760", "新規受付", ""],
        ["A-1002", "2025年4月2日 9:00", "C-2", "佐藤 太郎", "taro@example.jp", "", "BS-01", "ボディソープ",
         "1", "4,980", "8,760", "新規受付", ""],
        ["A-1003", "2025/04/03", "", "", "", "", "NOPE-9", "謎の商品", "1", "100", "100", "", ""],
        ["A-1004", "昨日", "C-3", "", "c3@example.jp", "", "AO-30", "", "1", "3780", "3780", "", ""],
        ["A-1005", "2025/04/05 12:00", "C-3", "", "c3@example.jp", "", "NOPE-9", "", "1", "100", "100", "", ""],
        ["A-1006", "2025/04/06 08:30", "C-4", "鈴木 一郎", "not-an-email", "", "AO-30", "", "1", "3780", "3780",
         "配達完了", ""],
        ["A-1007", "2025/04/07 08:30", "C-5", "高橋", "ok@example.jp", "", "AO-30", "", "0", "3780", "0", "", ""],
    ]


def test_detects_encodings():
    assert detect_encoding("受注番号,注文日時\n".encode("cp932")) == "cp932"
    assert detect_encoding("受注番号,注文日時\n".encode("utf-8")) == "utf-8"
    assert detect_encoding("\ufeff受注番号\n".encode("utf-8")) == "utf-8-sig"


def test_shift_jis_orders_with_bad_rows_reported_and_good_rows_kept(app, products, tmp_path):
    ticket, _ = make_ticket("質問", sender="hanako@example.jp")  # the support customer is the buyer
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, order_rows(), "cp932")
    stats = import_csv("orders", path)
    assert stats.encoding == "cp932"
    assert (stats.records, stats.created, stats.failed) == (2, 2, 5)
    assert stats.rows == 8 and stats.ignored_columns == ["備考"]
    with open(stats.report_path, encoding="utf-8") as f:
        report = list(csv.DictReader(f))
    by_row = {int(r["row"]): r["error"] for r in report}
    assert set(by_row) == {5, 6, 7, 8, 9}
    assert "customer" in by_row[5]  # A-1003 has no customer
    assert "ordered_at" in by_row[6]  # 昨日
    assert "unknown product 'NOPE-9'" in by_row[7]
    assert "email" in by_row[8]
    assert "quantity" in by_row[9]
    first = db.session.scalar(select(Order).where(Order.external_id == "A-1001"))
    assert first.customer_id == ticket.customer_id and first.total == 7560 and first.status == "shipped"
    assert first.ordered_at == datetime(2025, 4, 1, 1, 15, tzinfo=timezone.utc)  # 10:15 JST
    second = db.session.scalar(select(Order).where(Order.external_id == "A-1002"))
    assert [ln.unit_price for ln in second.lines] == [3780, 4980] and second.total == 8760
    assert db.session.get(Customer, ticket.customer_id).external_id == "C-1"
    phone = db.session.scalar(select(Identity.value).where(Identity.kind == "phone"))
    assert phone == "+819012345678"
    # no half-written customer for the rejected rows
    assert db.session.scalar(select(func.count()).select_from(Customer).where(Customer.external_id == "C-3")) == 0


def test_rerunning_the_same_file_changes_nothing(app, products, tmp_path):
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, order_rows(), "cp932")
    import_csv("orders", path)
    snapshot = (count(Order), count(OrderLine), count(Customer), count(Identity))
    stats = import_csv("orders", path)
    assert (stats.created, stats.updated, stats.unchanged, stats.failed) == (0, 0, 2, 5)
    assert (count(Order), count(OrderLine), count(Customer), count(Identity)) == snapshot


def test_split_order_rows_are_reported(app, products, tmp_path):
    rows = [r for r in order_rows() if r[0] in ("A-1001", "A-1002")]
    rows = [rows[1], rows[0], rows[2]]  # A-1002 lines separated by A-1001
    stats = import_csv("orders", write_csv(tmp_path / "o.csv", ORDER_HEADER, rows, "utf-8"))
    assert stats.failed == 1 and stats.records == 2


def test_missing_required_columns_stop_before_anything(app, tmp_path):
    path = write_csv(tmp_path / "o.csv", ["注文日時", "数量"], [["2025/04/01", "1"]], "utf-8")
    with pytest.raises(ImportFailed, match="external_id"):
        import_csv("orders", path)


def test_utf8_bom_subscriptions_and_customers(app, products, tmp_path):
    customers = write_csv(tmp_path / "c.csv", ["顧客番号", "お名前", "フリガナ", "メールアドレス", "電話番号"],
                          [["C-10", "田中 優子", "タナカ ユウコ", "yuko@example.jp", "03-1234-5678"],
                           ["C-11", "伊藤", "", "bad@", ""]], "utf-8-sig")
    stats = import_csv("customers", customers)
    assert (stats.encoding, stats.created, stats.failed) == ("utf-8-sig", 1, 1)
    subs = write_csv(tmp_path / "s.csv",
                     ["定期ID", "顧客番号", "メールアドレス", "商品コード", "数量", "お届け周期", "次回お届け予定日",
                      "前回お届け日", "お届け回数", "ステータス"],
                     [["T-1", "C-10", "yuko@example.jp", "AO-30", "1", "45日", "2025/05/10", "2025/03/26", "7", "継続"],
                      ["T-2", "C-10", "", "AO-30", "1", "2ヶ月", "", "", "1", "休止中"],
                      ["T-3", "C-10", "", "AO-30", "1", "毎週", "", "", "1", "継続"]], "utf-8")
    stats = import_csv("subscriptions", subs)
    assert (stats.created, stats.failed) == (2, 1)
    t1 = db.session.scalar(select(Subscription).where(Subscription.external_id == "T-1"))
    assert (t1.cycle_days, t1.next_ship_date, t1.deliveries, t1.status) == (45, date(2025, 5, 10), 7, "active")
    assert t1.customer.name == "田中 優子"
    t2 = db.session.scalar(select(Subscription).where(Subscription.external_id == "T-2"))
    assert (t2.cycle_days, t2.status) == (60, "paused")


def test_cli_with_progress_bar(app, runner, products, tmp_path):
    path = write_csv(tmp_path / "orders.csv", ORDER_HEADER, order_rows()[:3], "cp932")
    result = runner.invoke(args=["import", "orders", path, "--report", str(tmp_path / "bad.csv")])
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output and "Importing orders" in result.output
    assert (tmp_path / "bad.csv").exists()
    result = runner.invoke(args=["import", "orders", str(tmp_path / "missing.csv")])
    assert result.exit_code != 0
