"""Stop conditions, consent and the shared frequency cap, checked before every follow-up step."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.followup import services
from app.followup.runner import run
from app.models import Event, FollowupSend, Identity, Message, Tag, Ticket
from tests.followup_helpers import buyer, plan_with, product, subscribe

TODAY = date(2026, 11, 9)
NOTE = {"delay_days": 3, "subject": "ご愛用ありがとうございます", "body": "{customer_name}\n{product}の使い方のコツ"}
OFFER = {"delay_days": 3, "purpose": "advertising", "offer": True, "subject": "定期便のご案内",
         "body": "{customer_name}\n2回目以降は10%オフでお届けします。"}


def _sends():
    return {s.customer_id: (s.status, s.reason) for s in db.session.scalars(select(FollowupSend))}


def _open_ticket(customer, status="open", tag=None):
    ticket = Ticket(customer_id=customer.id, subject="届いた箱が潰れていました", status=status, channel="email")
    if tag:
        ticket.tags.append(Tag(name=tag))
    db.session.add(ticket)
    db.session.commit()
    return ticket


def test_an_open_ticket_makes_the_step_wait_until_it_is_solved(app, supervisor):
    customer = buyer("待機 する人", [date(2026, 11, 4)])
    ticket = _open_ticket(customer)
    plan_with(supervisor, "first_delivered", [NOTE])
    assert run(today=TODAY) == {"wait:open_ticket": 1}
    assert _sends() == {}
    ticket.status = "solved"
    db.session.commit()
    assert run(today=date(2026, 11, 10)) == {"sent": 1}


def test_a_recent_complaint_holds_the_step_even_when_solved(app, supervisor):
    customer = buyer("苦情 のお客様", [date(2026, 11, 4)])
    _open_ticket(customer, status="solved", tag="クレーム")
    plan_with(supervisor, "first_delivered", [NOTE])
    assert run(today=TODAY) == {"wait:complaint": 1}


def test_cancelled_bounced_and_unsubscribed_customers_are_stopped_for_good(app, supervisor):
    item = product()
    cancelled = buyer("解約 済み", [date(2026, 11, 4)], item=item)
    subscribe(cancelled, item, status="cancelled")
    bounced = buyer("不達 アドレス", [date(2026, 11, 4)], item=item)
    db.session.scalars(select(Identity).where(Identity.customer_id == bounced.id)).one().bouncing = True
    db.session.commit()
    gone = buyer("配信 停止", [date(2026, 11, 4)], item=item)
    services.unsubscribe(gone.id)
    fine = buyer("普通 の人", [date(2026, 11, 4)], item=item)
    plan_with(supervisor, "first_delivered", [NOTE])
    counts = run(today=TODAY)
    assert counts == {"stop:cancelled": 1, "stop:bounced": 1, "stop:unsubscribed": 1, "sent": 1}
    assert _sends() == {cancelled.id: ("stopped", "cancelled"), bounced.id: ("stopped", "bounced"),
                        gone.id: ("stopped", "unsubscribed"), fine.id: ("sent", "")}
    assert run(today=date(2026, 11, 10)) == {}


def test_advertising_needs_consent_and_offers_wait_for_the_second_purchase(app, supervisor):
    app.config.update(SHOP_NAME="株式会社まるやま本舗", SHOP_ADDRESS="大阪府大阪市北区梅田1-2-3",
                      SHOP_CONTACT="0120-000-111")
    first_timer = buyer("初回 のみ", [date(2026, 11, 4)])
    services.record_consent(first_timer, "checkout")
    no_consent = buyer("同意 なし", [date(2026, 10, 1), date(2026, 11, 4)])
    repeat = buyer("リピーター 様", [date(2026, 10, 1), date(2026, 11, 4)])
    services.record_consent(repeat, "checkout")
    plan_with(supervisor, "first_delivered", [OFFER])
    plan_with(supervisor, "second_order", [OFFER], name_ja="2回目購入オファー")
    counts = run(today=TODAY)
    assert counts == {"wait:before_second_purchase": 1, "stop:no_consent": 1, "sent": 1}
    sent = db.session.scalars(select(FollowupSend).where(FollowupSend.status == "sent")).one()
    assert sent.customer_id == repeat.id
    message = db.session.get(Message, sent.message_id)
    headers = message.meta["extra_headers"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<http") and "/u/" in headers["List-Unsubscribe"]
    assert "/u/" in message.body_text
    assert "株式会社まるやま本舗" in message.body_text and "大阪府大阪市北区梅田1-2-3" in message.body_text


def test_one_plan_per_week_across_plans(app, supervisor):
    customer = buyer("頻度 上限", [date(2026, 10, 1), date(2026, 11, 4)])
    plan_with(supervisor, "second_order", [NOTE], name_ja="2回目お礼")
    plan_with(supervisor, "first_delivered", [{**NOTE, "delay_days": 0}], name_ja="初回")
    # the first plan's step came due long ago (lapsed); the second-order thanks is due today
    counts = run(today=TODAY)
    assert counts == {"sent": 1}
    other = plan_with(supervisor, "second_order", [{**NOTE, "delay_days": 2}], name_ja="別プラン")
    assert run(today=TODAY) == {"wait:frequency_cap": 1}
    assert other.id and _sends()[customer.id][0] == "sent"


def test_two_steps_of_the_same_plan_are_not_capped(app, supervisor):
    buyer("同じ プラン", [date(2026, 11, 4)])
    plan_with(supervisor, "first_delivered", [NOTE, {**NOTE, "delay_days": 2, "subject": "その後いかがですか"}])
    assert run(today=TODAY) == {"sent": 2}


def test_unsubscribe_is_immediate_and_recorded(app, supervisor):
    customer = buyer("すぐ 停止", [date(2026, 11, 4)])
    assert services.unsubscribe(customer.id) is True
    assert services.unsubscribe(customer.id) is False  # idempotent
    consent = services.consent_of(customer.id)
    assert consent.unsubscribed_at is not None and not consent.advertising_allowed
    kinds = db.session.scalars(select(Event.kind).where(Event.customer_id == customer.id)).all()
    assert kinds == ["followup.unsubscribed"]
