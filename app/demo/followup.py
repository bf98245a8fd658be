"""Demo follow-up plans: first-purchase care and the second-purchase offer, with history.

The plans are replayed over the last weeks of the demo shop's orders, so steps were already sent
(their mail stands in the customers' timelines as delivered) and a few after-care calls are due
today; most earlier calls were done by the demo agents.
"""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from app.extensions import db
from app.followup import services
from app.followup.runner import run
from app.models import Agent, Customer, Event, FollowupSend, OutboxItem, Task, utcnow
from app.sla.business_time import default_calendar

REPLAY_DAYS = 21

FIRST_PURCHASE = [
    {"delay_days": 3, "kind": "email", "purpose": "transactional", "subject": "{product}をお届けしました",
     "body": "{customer_name}\n\nこのたびは{product}をお買い上げいただき、誠にありがとうございます。\n"
             "お気づきの点がございましたら、このメールにそのままご返信ください。"},
    {"delay_days": 5, "kind": "call", "purpose": "transactional", "subject": "",
     "body": "{customer_name}へアフターケアのお電話。{product}の飲み方・量に迷いがないか伺う。"},
    {"delay_days": 12, "kind": "email", "purpose": "transactional", "subject": "{product}を続けるコツ",
     "body": "{customer_name}\n\n{product}は毎日同じ時間にお召し上がりいただくと続けやすくなります。\n"
             "お手元の分はあと{days_left}日分ほどです。"},
]
SECOND_PURCHASE = [
    {"delay_days": 2, "kind": "email", "purpose": "advertising", "offer": True,
     "subject": "2回目のご購入ありがとうございます：定期便のご案内",
     "body": "{customer_name}\n\nいつも{product}をご愛用いただきありがとうございます。\n"
             "定期便なら毎回10%オフ、次回お届けは{next_shipment_date}を予定しております。"},
    {"delay_days": 4, "kind": "note", "purpose": "transactional", "subject": "",
     "body": "{customer_name}へ手書きのお礼状を同梱（{product}の次回お届け分に）。"},
]


def _plan(supervisor: Agent, name_ja: str, name_en: str, trigger: str, steps: list[dict]):
    plan = services.save_plan(None, supervisor, name_ja=name_ja, name_en=name_en, trigger=trigger)
    for spec in steps:
        services.save_step(plan, None, language="ja", offer=spec.get("offer", False),
                           **{k: v for k, v in spec.items() if k != "offer"})
    return plan


def seed_followup(seed: int = 7, now: datetime | None = None) -> int:
    """Seed the two plans and replay them; returns the number of steps sent or tasks made."""
    if db.session.scalar(select(FollowupSend.id).limit(1)) is not None:
        return 0
    rng = random.Random(f"{seed}:followup")
    now = now or utcnow()
    supervisor = db.session.scalars(select(Agent).where(Agent.role == "supervisor").order_by(Agent.id)).first()
    agents = list(db.session.scalars(select(Agent).where(Agent.role == "agent").order_by(Agent.id)))
    if supervisor is None:
        return 0
    _plan(supervisor, "初回購入ケア", "First-purchase care", "first_delivered", FIRST_PURCHASE)
    _plan(supervisor, "2回目購入オファー", "Second-purchase offer", "second_order", SECOND_PURCHASE)
    for customer_id in db.session.scalars(select(Customer.id).order_by(Customer.id)):
        if rng.random() < 0.6:  # opted in at checkout
            services._consent_row(customer_id).consented_at = now - timedelta(days=rng.randint(30, 400))
    db.session.commit()
    calendar = default_calendar()
    today = calendar.local_date(now)
    total = 0
    for back in range(REPLAY_DAYS, -1, -1):
        day: date = today - timedelta(days=back)
        stamp = min(datetime.combine(day, time(10, rng.randint(0, 59)), calendar.zone), now)
        total += sum(n for key, n in run(today=day, now=stamp).items() if key in ("sent", "task"))
    # the demo's mail is history, not something to deliver to made-up addresses
    for item in db.session.scalars(select(OutboxItem).where(OutboxItem.status == "queued")):
        item.status, item.attempts, item.sent_at = "sent", 1, item.created_at
        item.message.author_id = supervisor.id  # sent under the supervisor's plan
    end_of_yesterday = datetime.combine(today, time(0), calendar.zone)
    for task in db.session.scalars(select(Task).where(Task.kind == "follow_up", Task.done_at.is_(None),
                                                      Task.due_at < end_of_yesterday)):
        if rng.random() < 0.75:
            agent = rng.choice(agents) if agents else supervisor
            skipped = rng.random() < 0.2
            task.done_at = min(task.due_at + timedelta(hours=rng.randint(1, 6)), now)
            db.session.add(Event(customer_id=task.customer_id, actor_id=agent.id,
                                 kind="followup.task_skipped" if skipped else "followup.task_done",
                                 data={"task_id": task.id}, created_at=task.done_at,
                                 note="お電話2回不在のため見送り" if skipped else "飲み方のご質問に回答、継続意向あり"))
    db.session.commit()
    return total
