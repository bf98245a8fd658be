"""The follow-up runner: due steps sent once, through the outbox, with business-day delays."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.followup.runner import run
from app.models import FollowupSend, Message, OutboxItem, Task
from tests.followup_helpers import buyer, plan_with, product, subscribe

THANKS = {"delay_days": 3, "subject": "{product}のご購入ありがとうございました",
          "body": "{customer_name}\n\n{product}はいかがでしょうか。あと{days_left}日分ございます。"}
CALL = {"delay_days": 5, "kind": "call", "body": "{customer_name}へアフターケアのお電話（{product}の飲み方）"}


def test_a_due_thank_you_goes_through_the_outbox_once(app, supervisor):
    item = product("なめらか豆乳ローション")
    customer = buyer("佐々木 美穂", [date(2026, 11, 4)], item=item)
    plan = plan_with(supervisor, "first_delivered", [THANKS])

    assert run(today=date(2026, 11, 6)) == {}  # Thu 5, Fri 6: only two business days yet
    counts = run(today=date(2026, 11, 9))  # Monday: the third business day
    assert counts == {"sent": 1}
    send = db.session.scalars(select(FollowupSend)).one()
    assert (send.plan_id, send.customer_id, send.status) == (plan.id, customer.id, "sent")
    message = db.session.get(Message, send.message_id)
    assert message.direction == "out" and message.channel == "email" and message.customer_id == customer.id
    assert message.subject == "なめらか豆乳ローションのご購入ありがとうございました"
    assert message.body_text.startswith("佐々木 美穂 様\n")
    assert "List-Unsubscribe" not in (message.meta.get("extra_headers") or {})  # transactional
    assert db.session.scalar(select(OutboxItem.status).where(OutboxItem.message_id == message.id)) == "queued"
    assert message.ticket.customer_id == customer.id

    assert run(today=date(2026, 11, 9)) == {}
    assert run(today=date(2026, 11, 10)) == {}
    assert db.session.scalar(select(func.count(Message.id))) == 1


def test_delays_skip_weekends_and_japanese_holidays(app, supervisor):
    buyer("大野 拓海", [date(2026, 11, 2)])  # Monday; Tue 3 Nov is 文化の日
    plan_with(supervisor, "first_delivered", [{**THANKS, "delay_days": 1}])
    assert run(today=date(2026, 11, 3)) == {}
    assert run(today=date(2026, 11, 4)) == {"sent": 1}


def test_a_call_step_becomes_a_task_due_today(app, supervisor):
    item = product("国産大麦若葉青汁")
    customer = buyer("藤井 さくら", [date(2026, 11, 4)], item=item)
    plan_with(supervisor, "first_delivered", [CALL])
    assert run(today=date(2026, 11, 11)) == {"task": 1}
    task = db.session.scalars(select(Task)).one()
    assert task.customer_id == customer.id and task.kind == "follow_up" and task.done_at is None
    assert task.note == "藤井 さくら 様へアフターケアのお電話（国産大麦若葉青汁の飲み方）"
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_second_order_plan_starts_on_the_second_order(app, supervisor):
    once = buyer("一度 だけ", [date(2026, 10, 20)])
    twice = buyer("二度目 さん", [date(2026, 9, 1), date(2026, 11, 2)], status="ordered")
    plan_with(supervisor, "second_order", [{**THANKS, "delay_days": 2}])
    assert run(today=date(2026, 11, 5)) == {"sent": 1}
    assert db.session.scalars(select(FollowupSend.customer_id)).all() == [twice.id]
    assert once.id != twice.id


def test_nth_delivery_plan(app, supervisor):
    item = product()
    third = buyer("三回目 の方", [date(2026, 8, 1)], item=item)
    subscribe(third, item, deliveries=3, last_ship=date(2026, 11, 2))
    second = buyer("二回目 の方", [date(2026, 9, 1)], item=item)
    subscribe(second, item, deliveries=2, last_ship=date(2026, 11, 2))
    plan_with(supervisor, "nth_delivery", [{**THANKS, "delay_days": 1}], trigger_n=3)
    assert run(today=date(2026, 11, 5)) == {"sent": 1}
    assert db.session.scalars(select(FollowupSend.customer_id)).all() == [third.id]


def test_a_step_long_overdue_lapses_instead_of_arriving_late(app, supervisor):
    buyer("昔の 注文", [date(2026, 6, 1)])
    plan_with(supervisor, "first_delivered", [THANKS])
    assert run(today=date(2026, 11, 9)) == {}


def test_variables_in_english(app, supervisor):
    item = product("Black vinegar drink")
    customer = buyer("Emma Clarke", [date(2026, 11, 4)], item=item)
    subscribe(customer, item, next_ship=date(2026, 11, 30))
    plan_with(supervisor, "first_delivered", [{"delay_days": 3, "language": "en", "subject": "Thanks",
                                               "body": "Dear {customer_name}, {product} ships again on "
                                                       "{next_shipment_date} ({days_left} days left)."}])
    run(today=date(2026, 11, 9))
    body = db.session.scalars(select(Message.body_text)).one()
    assert body.startswith("Dear Emma Clarke, Black vinegar drink ships again on November 30, 2026 (21 days left).")
