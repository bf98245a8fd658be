"""A full reindex finishes the job: it supersedes the queue, keeps what arrives meanwhile, reports progress."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.extensions import db
from app.models import SearchQueueItem, Ticket
from app.search.indexer import drain, rebuild
from app.search.query import MessageFilters, search_messages
from app.search.reconcile import lag
from tests.factories import make_customer, make_ticket


def queued() -> int:
    return db.session.scalar(select(func.count(SearchQueueItem.id))) or 0


def ticket_ids(text: str, agent, **filters) -> set[int]:
    page = search_messages(agent, text, MessageFilters(**filters))
    assert not page.unavailable
    return {h.ticket.id for h in page.hits}


def in_other_thread(app, work):
    """Run `work()` in another thread with its own app context and session (another process's
    view of the database), and return its result."""
    out = {}

    def run():
        with app.app_context():
            out["value"] = work()
            db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    return out["value"]


def test_rows_queued_before_the_rebuild_are_gone_after_it(app, supervisor):
    first, _ = make_ticket("冷蔵庫で保管すべきか迷っています", subject="保管方法")
    second, _ = make_ticket("Can the gift wrapping be removed from my next box?")
    make_customer("宮崎 紗季", email="saki.m@example.net")
    assert queued() >= 2  # the ingests queued work; nobody drained it

    count = rebuild()

    assert count == 2 + 2 + 1  # two messages, their two customers, and 宮崎
    assert queued() == 0
    status = lag()
    assert status["state"] == "up to date" and not status["behind"] and status["reindex"] is None
    assert ticket_ids("保管", supervisor) == {first.id}
    assert ticket_ids("wrapping", supervisor) == {second.id}


def test_changes_made_during_the_rebuild_are_searchable_afterwards(app, supervisor):
    early, _ = make_ticket("定期コースの初回だけ試したいです", subject="お試し")
    for n in range(6):
        make_ticket(f"在庫の確認をお願いします ({n})")
    drain()
    seen = []

    def mid_rebuild(n: int) -> None:
        if seen:
            return
        # Another process, while the rebuild holds the writer: a new mail arrives, an already
        # read ticket is solved, and the worker's turn finds the writer busy.
        def meanwhile():
            ticket, _message = make_ticket("配達日時を土曜の午前に変えてほしい", subject="日時指定")
            solved = db.session.get(Ticket, early.id)
            solved.status = "solved"
            db.session.commit()
            from app import bus
            bus.publish("ticket.updated", ticket_id=solved.id, changes=["status"])
            return ticket.id, drain(), lag()

        seen.append(in_other_thread(app, meanwhile))

    rebuild(progress=mid_rebuild, batch=2)

    late_id, worker_turn, status_meanwhile = seen[0]
    assert worker_turn == {"busy": True}  # the worker did not fight the rebuild for the lock
    assert status_meanwhile["state"] == "reindexing"
    assert 0 < status_meanwhile["reindex"]["done"] < status_meanwhile["reindex"]["total"] == 14
    assert ticket_ids("土曜の午前", supervisor) == {late_id}
    assert ticket_ids("初回", supervisor, status="solved") == {early.id}
    assert ticket_ids("初回", supervisor, status="new") == set()
    assert queued() == 0 and lag()["state"] == "up to date"


def test_search_page_shows_a_reindex_in_progress(app, client, login_as, supervisor):
    for text in ("ポイントの有効期限はいつまでですか", "請求書を郵送してください", "Wrong colour delivered"):
        make_ticket(text)
    login_as(supervisor)
    pages = []

    def mid_rebuild(n: int) -> None:
        if not pages:
            pages.append(client.get("/search", query_string={"q": "請求書"}).get_data(as_text=True))

    rebuild(progress=mid_rebuild, batch=2)
    assert "data-search-lag" in pages[0] and "6" in pages[0]
    after = client.get("/search", query_string={"q": "請求書"}).get_data(as_text=True)
    assert "data-search-lag" not in after


def test_cli_reindex_prints_progress_and_leaves_the_index_up_to_date(app, runner):
    for text in ("箱が潰れて届きました", "解約ではなく休止にしたい", "Is the refill pouch recyclable?"):
        make_ticket(text)
    make_customer("大野 智美")
    assert queued() > 0

    result = runner.invoke(args=["search", "reindex", "--every", "0"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Indexing 7 customers and messages..."
    progress = [line for line in lines if "ETA" in line]
    assert progress and progress[-1].strip().startswith("7 / 7 documents (100%)")
    assert "/s, ETA 0m00s" in progress[-1]
    assert "Indexed 7 documents" in result.output
    assert lines[-1] == "Search index: up to date."
    status = runner.invoke(args=["search", "status"])
    assert '"state": "up to date"' in status.output and '"pending": 0' in status.output


def test_a_reindex_that_died_is_not_reported_as_running(app):
    import json
    import os
    import subprocess
    import time

    from app.search import index as idx
    from app.search.rebuild import PROGRESS_FILE

    make_ticket("途中で止まった再構築")
    rebuild()
    gone = subprocess.Popen(["true"])
    gone.wait()
    with open(os.path.join(idx.index_dir(), PROGRESS_FILE), "w", encoding="utf-8") as fh:
        json.dump({"pid": gone.pid, "started_at": time.time() - 30, "updated_at": time.time(),
                   "done": 1, "total": 2, "phase": "reading"}, fh)
    assert lag()["state"] == "up to date" and lag()["reindex"] is None
