"""Search over a Japanese + English corpus: expected hits, authorisation, indexing guarantees."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from app import bus
from app.extensions import db
from app.models import Customer, Identity, Order, SearchQueueItem, Team
from app.search import index as idx
from app.search.indexer import drain, enqueue, rebuild
from app.search.query import MessageFilters, search_customers, search_messages
from app.search.reconcile import lag, reconcile
from tests.factories import make_agent, make_ticket
from tests.search_backends import app, search_backend  # noqa: F401  (both backends)


def index_all() -> None:
    """Drain the queue and finish any backfill, as the worker would over a few turns."""
    for _ in range(50):
        result = drain()
        if not result.get("queue") and not result.get("backfilling"):
            return
    raise AssertionError("the index never caught up")


def add_customer(name: str, kana: str = "", phone: str | None = None, email: str | None = None,
                 handle: str | None = None, orders: tuple[str, ...] = ()) -> Customer:
    customer = Customer(name=name, name_kana=kana)
    db.session.add(customer)
    db.session.flush()
    if phone:
        db.session.add(Identity(customer_id=customer.id, kind="phone", value=phone))
    if email:
        db.session.add(Identity(customer_id=customer.id, kind="email", value=email))
    if handle:
        db.session.add(Identity(customer_id=customer.id, kind="x", value=str(9000 + customer.id),
                                display=handle))
    for external_id in orders:
        db.session.add(Order(external_id=external_id, customer_id=customer.id,
                             ordered_at=datetime(2025, 4, 1, tzinfo=timezone.utc)))
    db.session.commit()
    enqueue([("customer", customer.id)])
    return customer


@pytest.fixture
def corpus(app):
    """Two teams' tickets in Japanese and English, and a handful of customers."""
    team_a, team_b = Team(name="A"), Team(name="B")
    db.session.add_all([team_a, team_b])
    db.session.commit()
    c = {
        "hanako": add_customer("山田 花子", "ヤマダ ハナコ", phone="+819012345678", email="hanako@example.jp",
                               handle="@hanako_beauty", orders=("ORD-2025-000123",)),
        "test": add_customer("ﾃｽﾄ 太郎", "", email="test-taro@example.jp"),
        "sato": add_customer("佐藤 健一", "さとう けんいち", phone="+81352223333"),
        "smith": add_customer("John Smith", "", email="john.smith@example.com"),
    }
    t = {}
    t["skin"], t["skin_msg"] = make_ticket("この化粧水は肌にあわなくて、赤くなってしまいました。", subject="返品について",
                                           sender="hanako@example.jp", created_at=datetime(2025, 4, 2, 1, tzinfo=timezone.utc))
    t["late"], t["late_msg"] = make_ticket("注文した商品が届いていません。確認をお願いします。", subject="配送について",
                                           created_at=datetime(2025, 4, 20, 1, tzinfo=timezone.utc))
    t["other"], t["other_msg"] = make_ticket("届きましたが、いい感じです。明日また連絡します。", subject="お礼",
                                             channel="email", created_at=datetime(2025, 5, 1, 1, tzinfo=timezone.utc))
    t["english"], t["english_msg"] = make_ticket("The parcel never arrived and I am running out of cream.",
                                                 subject="Delivery problem")
    t["secret"], t["secret_msg"] = make_ticket("チームBだけの秘密の案件です。解約の相談。", subject="極秘の解約相談")
    t["skin"].team_id = team_a.id
    t["secret"].team_id = team_b.id
    db.session.commit()
    enqueue([("ticket", t["skin"].id), ("ticket", t["secret"].id)])
    index_all()
    return {"customers": c, "tickets": t, "team_a": team_a, "team_b": team_b}


def names(text: str, agent) -> list[str]:
    hits, unavailable = search_customers(agent, text)
    assert not unavailable
    return [h.customer.name for h in hits]


def ticket_ids(text: str, agent, **filters) -> set[int]:
    page = search_messages(agent, text, MessageFilters(**filters))
    assert not page.unavailable
    return {h.ticket.id for h in page.hits}


def test_customer_names_in_kanji_kana_and_half_width(corpus, supervisor):
    for query in ["山田", "山田花子", "山田 花子", "やまだ", "ヤマダ", "ﾔﾏﾀﾞ", "ﾊﾅｺ", "花"]:
        assert names(query, supervisor) == ["山田 花子"], query


def test_half_width_katakana_and_hiragana_find_the_same_name(corpus, supervisor):
    assert names("テスト", supervisor) == names("てすと", supervisor) == names("ﾃｽﾄ", supervisor) == ["ﾃｽﾄ 太郎"]
    assert names("サトウ", supervisor) == ["佐藤 健一"]  # kana stored as hiragana


def test_phone_numbers_in_every_common_format(corpus, supervisor):
    for query in ["09012345678", "090-1234-5678", "+81 90-1234-5678", "+819012345678",
                  "０９０－１２３４－５６７８", "(090) 1234-5678", "5678", "0901"]:
        assert names(query, supervisor) == ["山田 花子"], query


def test_landline_and_order_numbers_emails_and_handles(corpus, supervisor):
    assert names("03-5222-3333", supervisor) == ["佐藤 健一"]
    assert names("ORD-2025-000123", supervisor) == ["山田 花子"]
    assert names("ord-2025-000123", supervisor) == ["山田 花子"]
    assert names("hanako@example.jp", supervisor) == ["山田 花子"]
    assert names("@hanako", supervisor) == ["山田 花子"]  # as you type
    assert names("john.smith@example.com", supervisor) == ["John Smith"]
    assert names("smi", supervisor) == ["John Smith"]  # prefix of the last word


def test_japanese_phrases_are_phrases_not_bags_of_bigrams(corpus, supervisor):
    t = corpus["tickets"]
    assert ticket_ids("届いて", supervisor) == {t["late"].id}  # not 届きました…いい…連絡して
    assert ticket_ids("届いていません", supervisor) == {t["late"].id}
    assert ticket_ids("肌", supervisor) == {t["skin"].id}  # a single kanji works
    assert ticket_ids("解約", supervisor) == {t["secret"].id}
    assert ticket_ids("返品", supervisor) == {t["skin"].id}  # subject


def test_conjugated_query_finds_another_spelling_and_form(corpus, supervisor):
    page = search_messages(supervisor, "肌に合わない")
    assert [h.ticket.id for h in page.hits] == [corpus["tickets"]["skin"].id]
    assert "<mark>肌にあわな</mark>" in str(page.hits[0].snippet)


def test_english_is_stemmed_and_phrases_work(corpus, supervisor):
    english = corpus["tickets"]["english"].id
    assert ticket_ids("run", supervisor) == {english}
    assert ticket_ids("ARRIVE", supervisor) == {english}
    assert ticket_ids('"running out"', supervisor) == {english}
    assert ticket_ids('"out running"', supervisor) == set()


def test_filters_channel_status_agent_dates(corpus, supervisor):
    t = corpus["tickets"]
    assert ticket_ids("届", supervisor, channel="email") == {t["other"].id}
    assert ticket_ids("届", supervisor, date_from=date(2025, 4, 15), date_to=date(2025, 4, 30)) == {t["late"].id}
    t["late"].status, t["late"].assignee_id = "pending", supervisor.id
    db.session.commit()
    enqueue([("ticket", t["late"].id)])
    index_all()
    assert ticket_ids("届", supervisor, status="pending") == {t["late"].id}
    assert ticket_ids("届", supervisor, agent_id=supervisor.id) == {t["late"].id}


def test_no_hits_across_authorisation_boundaries(corpus, supervisor):
    t = corpus["tickets"]
    agent_a = make_agent("agent", team_id=corpus["team_a"].id)
    agent_b = make_agent("agent", team_id=corpus["team_b"].id)
    assert ticket_ids("解約", agent_a) == set()
    assert ticket_ids("秘密", agent_a) == set()
    assert ticket_ids("秘密", agent_b) == {t["secret"].id}
    assert ticket_ids("秘密", supervisor) == {t["secret"].id}
    assert ticket_ids("肌", agent_b) == set()
    # Assigned to an agent of team A: visible to them, still invisible to the rest of team A.
    t["secret"].assignee_id = agent_a.id
    db.session.commit()
    enqueue([("ticket", t["secret"].id)])
    index_all()
    assert ticket_ids("秘密", agent_a) == {t["secret"].id}
    assert ticket_ids("秘密", make_agent("agent", team_id=corpus["team_a"].id)) == set()


def test_a_stale_index_cannot_leak_a_message(corpus, supervisor):
    """Moved to team B, not yet re-indexed: the database re-check still hides it from team A."""
    t = corpus["tickets"]
    agent_a = make_agent("agent", team_id=corpus["team_a"].id)
    assert ticket_ids("肌", agent_a) == {t["skin"].id}
    t["skin"].team_id = corpus["team_b"].id
    db.session.commit()  # no enqueue: the index still says team A
    assert ticket_ids("肌", agent_a) == set()


@pytest.mark.whoosh_only
def test_bus_events_queue_work_after_commit_and_quiet_changes_do_not(app):
    ticket, message = make_ticket("新しいお問い合わせ")  # message.ingested
    kinds = set(db.session.execute(select(SearchQueueItem.kind, SearchQueueItem.obj_id)))
    assert ("message", message.id) in kinds
    db.session.execute(SearchQueueItem.__table__.delete())
    db.session.commit()
    bus.publish("ticket.updated", ticket_id=ticket.id, changes=["reply"])
    assert db.session.scalar(select(func.count(SearchQueueItem.id))) == 0
    bus.publish("ticket.updated", ticket_id=ticket.id, changes=["status"])
    bus.publish("customer.updated", customer_id=ticket.customer_id)
    assert set(db.session.execute(select(SearchQueueItem.kind, SearchQueueItem.obj_id))) == {
        ("ticket", ticket.id), ("customer", ticket.customer_id)}


def test_merged_customer_leaves_the_index(corpus, supervisor):
    hanako, test = corpus["customers"]["hanako"], corpus["customers"]["test"]
    test.merged_into_id = hanako.id
    db.session.commit()
    bus.publish("customer.merged", source_id=test.id, target_id=hanako.id)
    index_all()
    assert names("テスト", supervisor) == []


@pytest.mark.whoosh_only
def test_reindex_equals_incremental(corpus, supervisor):
    queries = ["山田", "ﾃｽﾄ", "090-1234-5678", "届いて", "肌", "run", "解約", "ORD-2025-000123"]

    def snapshot():
        with idx.open_index().searcher() as searcher:
            docs = sorted((d["doc_id"], d["kind"]) for d in searcher.all_stored_fields())
        return docs, [(names(q, supervisor), ticket_ids(q, supervisor)) for q in queries]

    incremental = snapshot()
    assert rebuild() == len(incremental[0])
    assert snapshot() == incremental


@pytest.mark.whoosh_only
def test_lag_indicator_and_reconciliation_of_lost_events(corpus, supervisor):
    assert lag()["pending"] == 0 and not lag()["behind"]
    customer = Customer(name="鈴木 一郎")  # committed, but its event was "lost"
    db.session.add(customer)
    db.session.commit()
    assert names("鈴木", supervisor) == []
    assert reconcile()["missing"] == 1
    status = lag()
    assert status["pending"] == 1 and status["behind"] and status["oldest_age_seconds"] >= 0
    index_all()
    assert names("鈴木", supervisor) == ["鈴木 一郎"]


@pytest.mark.whoosh_only
def test_a_second_writer_makes_the_worker_skip_its_turn(corpus):
    ticket, message = make_ticket("ロック中に届いたメール")
    writer = idx.open_index().writer()
    try:
        assert drain() == {"busy": True}
        assert db.session.scalar(select(func.count(SearchQueueItem.id))) > 0
    finally:
        writer.cancel()
    index_all()
    assert db.session.scalar(select(func.count(SearchQueueItem.id))) == 0


@pytest.mark.whoosh_only
def test_killed_with_pending_work_leaves_the_queue_for_the_next_drain(app, corpus, supervisor):
    ticket, message = make_ticket("停電で止まったときのメール")
    script = textwrap.dedent(f"""
        import os, signal
        from app import create_app
        from config import TestingConfig
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI={app.config['SQLALCHEMY_DATABASE_URI']!r},
                         SEARCH_INDEX_DIR={app.config['SEARCH_INDEX_DIR']!r},
                         INSTANCE_DIR={app.config['INSTANCE_DIR']!r})
        with app.app_context():
            import app.search.indexer as indexer
            real = indexer.documents.message_document
            def die(row):
                real(row)
                os.kill(os.getpid(), signal.SIGKILL)  # mid-drain, writer lock held
            indexer.documents.message_document = die
            indexer.drain()
    """)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(SearchQueueItem.id))) > 0
    assert ticket_ids("停電", supervisor) == set()
    index_all()  # the lock died with the process
    assert ticket_ids("停電", supervisor) == {ticket.id}


@pytest.mark.whoosh_only
def test_workers_starting_together_create_the_index_once(app):
    """Four worker processes find no index at the same instant: one creates it, the others open
    it (none overwrites it, none moves a half-made one aside as damaged)."""
    start = time.time() + 6  # every process has imported the app by then
    script = textwrap.dedent(f"""
        import time
        from app import create_app
        from config import TestingConfig
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI={app.config['SQLALCHEMY_DATABASE_URI']!r},
                         SEARCH_INDEX_DIR={app.config['SEARCH_INDEX_DIR']!r},
                         INSTANCE_DIR={app.config['INSTANCE_DIR']!r})
        with app.app_context():
            from app.search import index as idx
            time.sleep(max(0.0, {start} - time.time()))
            ix, created = idx.open_or_create()
            print("created" if created else "opened", ix.doc_count_all())
    """)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(4)]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, [err.decode()[-1500:] for _out, err in results]
    assert sorted(out.decode().split()[0] for out, _err in results) == ["created", "opened", "opened", "opened"]
    assert idx.index_exists()


@pytest.mark.whoosh_only
def test_a_corrupt_index_is_rebuilt_automatically(corpus, supervisor, client, login_as):
    login_as(supervisor)
    path = idx.index_dir()
    for toc_too in (False, True):  # segment files only, then the table of contents too
        for name in os.listdir(path):
            if "WRITELOCK" not in name and not name.endswith(".json") and (toc_too or not name.endswith(".toc")):
                with open(os.path.join(path, name), "wb") as fh:
                    fh.write(b"garbage")
        response = client.get("/search", query_string={"q": "肌"})
        assert response.status_code == 200  # the web process never writes: it says so instead
        assert search_messages(supervisor, "肌").unavailable
        index_all()  # the worker notices, recreates and backfills from the database
        assert ticket_ids("肌", supervisor) == {corpus["tickets"]["skin"].id}
        assert names("山田", supervisor) == ["山田 花子"]
        assert lag()["backfill_remaining"] == 0


@pytest.mark.whoosh_only
def test_missing_index_reports_unavailable_until_the_worker_builds_it(app, supervisor):
    make_ticket("インデックスがまだない")
    assert search_messages(supervisor, "インデックス").unavailable
    assert not lag()["available"]
    index_all()
    assert search_messages(supervisor, "インデックス").total == 1


def test_large_match_sets_come_newest_first_with_an_estimated_total(app, supervisor, monkeypatch):
    from app.search import query

    base = datetime(2025, 6, 1, tzinfo=timezone.utc)
    tickets = [make_ticket(f"解約の相談 {i}", created_at=base.replace(day=1 + i))[0] for i in range(12)]
    index_all()
    ranked = search_messages(supervisor, "解約", per_page=5)
    assert ranked.exact and ranked.total == 12
    monkeypatch.setattr(query, "RANK_LIMIT", 3)  # as if these were 100,000 matches
    first = search_messages(supervisor, "解約", per_page=5)
    second = search_messages(supervisor, "解約", per_page=5, page=2)
    newest = [t.id for t in reversed(tickets)]
    assert [h.ticket.id for h in first.hits] == newest[:5]
    assert [h.ticket.id for h in second.hits] == newest[5:10]
    assert first.total >= 12
    assert [h.ticket.id for h in search_messages(supervisor, "解約", MessageFilters(sort="newest"),
                                                 per_page=5).hits] == newest[:5]


def test_cached_filter_bitmaps_follow_a_reindexed_ticket(corpus, supervisor):
    """Filter bitmaps are cached per index segment: the re-indexed ticket's old document must not
    come back through them (excluded by the index itself, not only by the database re-check)."""
    t = corpus["tickets"]
    agent_b = make_agent("agent", team_id=corpus["team_b"].id)
    old_status = t["secret"].status
    assert search_messages(agent_b, "秘密").total == 1
    assert ticket_ids("秘密", supervisor, status=old_status) == {t["secret"].id}
    t["secret"].team_id = corpus["team_a"].id
    t["secret"].status = "solved" if old_status != "solved" else "pending"
    db.session.commit()
    enqueue([("ticket", t["secret"].id)])
    index_all()
    assert search_messages(agent_b, "秘密").total == 0
    assert ticket_ids("秘密", supervisor, status=old_status) == set()
    assert ticket_ids("秘密", supervisor, status=t["secret"].status) == {t["secret"].id}
