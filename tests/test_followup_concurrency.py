"""Two follow-up runs at once (two workers): every step still reaches each customer exactly once."""
from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.followup.runner import run
from app.models import FollowupSend, Message, OutboxItem, Task
from tests.followup_helpers import buyer, plan_with, product

TODAY = date(2026, 11, 9)


def _together(app, n):
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def go(i):
        with app.app_context():
            try:
                barrier.wait()
                results[i] = run(today=TODAY)
            except Exception as exc:  # reported by the test
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_two_concurrent_runs_send_each_step_once(app, supervisor):
    item = product("玄米こうじ甘酒")
    names = ["青木 遥", "石井 蓮", "上田 凛", "遠藤 湊", "岡本 紬", "加藤 陽翔", "木村 結菜", "工藤 大和",
             "小林 葵", "斎藤 悠真", "清水 芽依", "鈴木 颯", "高橋 杏", "田中 樹", "中村 心春"]
    for name in names:
        buyer(name, [date(2026, 11, 4)], item=item)
    plan_with(supervisor, "first_delivered", [
        {"delay_days": 3, "subject": "甘酒のお礼", "body": "{customer_name}\nありがとうございます。"},
        {"delay_days": 2, "kind": "call", "body": "{customer_name}にお電話"}])
    results = _together(app, 2)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.get("sent", 0) for r in results) == len(names)
    assert sum(r.get("task", 0) for r in results) == len(names)
    assert db.session.scalar(select(func.count(Message.id))) == len(names)
    assert db.session.scalar(select(func.count(OutboxItem.id))) == len(names)
    assert db.session.scalar(select(func.count(Task.id))) == len(names)
    assert db.session.scalar(select(func.count(FollowupSend.id))) == 2 * len(names)


def test_a_run_that_died_mid_batch_leaves_nothing_half_done(app, supervisor):
    """A crash mid-run never leaves a send row without its mail (or a mail without its row); the next
    run sends the rest, and nobody gets a step twice."""
    for name in ("森 陽菜", "山口 朝陽", "吉田 紗良"):
        buyer(name, [date(2026, 11, 4)])
    plan_with(supervisor, "first_delivered", [{"delay_days": 3, "subject": "お礼", "body": "ありがとうございます"}])
    from app.followup import runner

    original = runner._send_mail
    calls = []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("worker killed")
        return original(*args, **kwargs)

    runner._send_mail = dying
    try:
        try:
            run(today=TODAY)
        except KeyboardInterrupt:
            db.session.rollback()
    finally:
        runner._send_mail = original
    kept = db.session.scalars(select(FollowupSend)).all()
    assert len(kept) < 3
    assert {s.message_id for s in kept} == set(db.session.scalars(select(Message.id)))
    assert all(s.message_id for s in kept)
    assert run(today=TODAY) == {"sent": 3 - len(kept)}
    assert db.session.scalar(select(func.count(Message.id))) == 3
    assert db.session.scalar(select(func.count(FollowupSend.id))) == 3
