"""One demo customer who reaches the shop on every channel: an X post, an email and a phone call
about the same late delivery, three tickets in one timeline on the customer page.

Played after the planned conversations, through `ingest()` like every demo message, on a customer
the conversations left untouched (one with an email address and a phone number; an X account is
added when the plan gave them none).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Optional

from sqlalchemy import select

from app.demo import data
from app.extensions import db
from app.ingest import InboundMessage, Sender, ingest
from app.models import Customer, Identity, Ticket


def _untouched_customer() -> Optional[Customer]:
    """The first customer with an email address and a phone number and no ticket yet."""
    has = lambda kind: select(Identity.customer_id).where(Identity.kind == kind)  # noqa: E731
    return db.session.scalars(
        select(Customer).where(Customer.id.in_(has("email")), Customer.id.in_(has("phone")),
                               ~Customer.id.in_(select(Ticket.customer_id)))
        .order_by(Customer.id).limit(1)).first()


def _identity(customer: Customer, kind: str) -> Optional[Identity]:
    return next((i for i in customer.identities if i.kind == kind), None)


def _x_identity(customer: Customer, now: datetime) -> Identity:
    found = _identity(customer, "x")
    if found is None:
        found = Identity(kind="x", value=f"17{customer.id:08d}4455", display=f"@{customer.id:04d}_hana_tea",
                         name=customer.name.split(" ")[-1] + "🍵", created_at=now - timedelta(days=200))
        customer.identities.append(found)
        db.session.commit()
    return found


def play_cross_channel(now: datetime) -> Optional[int]:
    """Ingest the three messages; returns the customer's id (None when no customer fits)."""
    customer = _untouched_customer()
    if customer is None:
        return None
    email, phone, x = _identity(customer, "email"), _identity(customer, "phone"), _x_identity(customer, now)
    sei = customer.name.split(" ")[0]
    posted = now - timedelta(hours=30)
    post_id = str(int(posted.timestamp() * 1000) << 22)
    post_text = f"@{data.SHOP_X_HANDLE} 定期便、予定日を3日過ぎてもまだ届かないんですが…発送されてますか？😢"
    raw_post = {"data": {"id": post_id, "text": post_text, "author_id": x.value, "conversation_id": post_id,
                         "created_at": posted.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                         "in_reply_to_user_id": data.SHOP_X_ID},
                "includes": {"users": [{"id": x.value, "username": x.display.lstrip("@"), "name": x.name}]}}
    ingest(InboundMessage(
        channel="x", external_id=post_id, thread_key=post_id, sender=Sender("x", x.value, x.name, x.display),
        created_at=posted, body_text=post_text, raw=json.dumps(raw_post, ensure_ascii=False).encode(),
        raw_content_type="application/json", meta={"author_handle": x.display, "conversation_id": post_id}))

    mailed = now - timedelta(hours=26)
    msg_id = f"<{mailed:%Y%m%d%H%M%S}.crosschannel@mail.example>"
    subject = "定期便がまだ届きません"
    body = (f"お世話になっております。{customer.name}です。\n"
            "今月の定期便がお届け予定日を過ぎてもまだ届いておりません。\n"
            "追跡番号も記載がなく、発送されているのか分からず困っています。\n"
            "Xでも問い合わせましたが、念のためメールでもご連絡いたしました。\n"
            "ご確認のほど、よろしくお願いいたします。")
    mail = EmailMessage()
    mail["From"], mail["To"] = f"{customer.name} <{email.value}>", "support@midorido.example"
    mail["Subject"], mail["Message-ID"], mail["Date"] = subject, msg_id, format_datetime(mailed)
    mail.set_content(body)
    ingest(InboundMessage(
        channel="email", external_id=msg_id, thread_key=msg_id, sender=Sender("email", email.value, customer.name,
                                                                              email.value),
        created_at=mailed, subject=subject, body_text=body, match_subject=True, raw=mail.as_bytes(),
        raw_content_type="message/rfc822"))

    called = now - timedelta(hours=3)
    note = (f"【通話メモ】{sei}様より入電。定期便未着の件（X・メールでも連絡あり）。"
            "配送業者の持ち戻りを確認、明日午前に再配達を手配済み。お詫びとともにご案内し、ご了承いただいた。")
    ingest(InboundMessage(
        channel="phone", external_id=f"call-{called:%Y%m%d%H%M%S}-crosschannel",
        sender=Sender("phone", phone.display or phone.value, customer.name, phone.display or phone.value),
        created_at=called, body_text=note, meta={"direction": "inbound", "duration_seconds": 312}))
    return customer.id


#: Brand mentions the X keyword search found (nobody wrote to the shop: agents decide).
LISTENING = (
    ("midori_no_asa", "みどりの朝", "みどり堂の青汁、3か月続けたら朝の目覚めが違う気がする。粉っぽくないのがいい"),
    ("hadaka_skin", "はだか肌ログ", "みどり堂の化粧水、定期の2回目届いた。乾燥の季節に助かる…けど次回の発送日どこで確認するんだろ"),
    ("sumire_mama", "すみれママ👶", "みどり堂の乳酸菌サプリ、子どもが飲み込みにくいって。粒小さくならないかな"),
    ("ken_greens", "Ken (green juice)", "Trying the midorido aojiru trial — tastes better than expected, shipping took 4 days though"),
)


def seed_listening_and_failed_sends(now: datetime) -> None:
    """Posts for the listening screen, and two replies the mail server refused (red in the inbox)."""
    from app.models import Agent, ListeningPost
    from app.outbox.service import give_up
    from app.tickets.services import add_reply

    for n, (handle, name, text) in enumerate(LISTENING):
        post_id = f"1866{n:02d}{customer_seed(handle):010d}"
        db.session.add(ListeningPost(post_id=post_id, author_id=f"90{customer_seed(handle):08d}",
                                     author_handle=handle, author_name=name, text=text,
                                     url=f"https://x.com/{handle}/status/{post_id}", keywords=["みどり堂"],
                                     posted_at=now - timedelta(hours=2 + 7 * n)))
    db.session.commit()
    supervisor = db.session.scalar(select(Agent).where(Agent.email == "supervisor@demo.example"))
    tickets = db.session.scalars(select(Ticket).where(Ticket.channel == "email", Ticket.status == "open")
                                 .order_by(Ticket.id.desc()).limit(2))
    for ticket in list(tickets):
        message = add_reply(ticket.assignee or supervisor, ticket, f"{ticket.customer.name.split(' ')[0]}様\n\nお問い合わせありがとうございます。"
                                           "内容を確認のうえ、改めてご連絡いたします。", confirmed=True)
        give_up(message.outbox.id, "550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table")


def customer_seed(text: str) -> int:
    """A stable small number from a string (post ids that look real and never collide)."""
    return sum(ord(c) * (i + 7) for i, c in enumerate(text)) % 10_000_000_000
