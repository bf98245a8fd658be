"""Mail loops against real Dovecot and SMTP servers: a runaway auto-responder that sends no
Auto-Submitted/Precedence headers, and mail that comes from our own address."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import Message, OutboxItem, Ticket
from app.outbox import deliver_due
from tests.data.mail import samples
from tests.email_helpers import configure, count, poll

ROBOT = "robot@partner.example"


def _robot_mail(i: int, sent: datetime) -> bytes:
    """What a misconfigured auto-responder sends: a new subject each time, no auto headers."""
    raw = samples.simple(f"Ticket #{1000 + i} received", f"Your request {i} has been logged.", sender=ROBOT,
                         message_id=f"<loop{i}@partner.example>")
    # Spread over the last minutes (the Date header is the message's time in Tsunagu).
    date = format_datetime(sent.astimezone(timezone(timedelta(hours=9)))).encode()
    head, body = raw.split(b"\n\n", 1)
    head = b"\n".join(line if not line.startswith(b"Date:") else b"Date: " + date for line in head.split(b"\n"))
    return head + b"\n\n" + body


def test_a_runaway_auto_responder_is_rate_limited_and_acknowledged_once(app, dovecot, smtp_server):
    configure(app, dovecot, smtp_server, EMAIL_AUTO_ACK=True, EMAIL_BATCH_SIZE=20)
    limit = app.config["TICKET_FLOOD_LIMIT"]
    start = datetime.now(timezone.utc) - timedelta(minutes=9, seconds=30)
    for i in range(50):  # 50 messages within 10 minutes, one every 11 seconds
        dovecot.deliver(_robot_mail(i, start + timedelta(seconds=11 * i)))
    [result] = poll(app)
    assert (result.fetched, result.created) == (50, 50)

    inbound = db.session.scalars(select(Message).where(Message.direction == "in")).all()
    assert len(inbound) == 50 and len({m.external_id for m in inbound}) == 50  # all kept, none doubled
    tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert len(tickets) == limit  # the first `limit` start tickets; the other 45 join the latest
    assert db.session.scalar(select(func.count()).select_from(Message)
                             .where(Message.ticket_id == tickets[-1].id, Message.direction == "in")) == 50 - limit + 1

    # No acknowledgement storm: one acknowledgement for the sender in the window, then silence.
    assert count(OutboxItem) == 1
    assert deliver_due() == {"sent": 1}
    [ack] = smtp_server.messages
    assert ack.rcpt_tos == [ROBOT] and b"Auto-Submitted: auto-replied" in ack.data

    # The responder answers our acknowledgement, too (it ignores Auto-Submitted): still no new ack.
    dovecot.deliver(samples.simple("Re: received", "Your request has been logged.", sender=ROBOT,
                                   message_id="<loop-answer@partner.example>"))
    poll(app)
    assert count(OutboxItem) == 1 and count(Ticket) == limit and deliver_due() == {}


def test_a_new_sender_is_not_held_back_by_someone_elses_loop(app, dovecot):
    configure(app, dovecot)
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    for i in range(12):
        dovecot.deliver(_robot_mail(i, start + timedelta(seconds=i)))
    dovecot.deliver(samples.simple("解約について", "解約したいです", sender="hanako@example.jp",
                                   message_id="<human@example.jp>"))
    dovecot.deliver(samples.simple("配送について", "届きません", sender="hanako@example.jp",
                                   message_id="<human2@example.jp>"))
    poll(app)
    human = db.session.scalars(select(Message).where(Message.sender.like("%hanako%"))).all()
    assert len(human) == 2 and len({m.ticket_id for m in human}) == 2  # two real tickets, as always
    assert count(Ticket) == app.config["TICKET_FLOOD_LIMIT"] + 2


def test_mail_from_our_own_address_is_never_acknowledged_and_never_loops(app, dovecot, smtp_server):
    configure(app, dovecot, smtp_server, EMAIL_AUTO_ACK=True)
    own = app.config["MAIL_FROM"]
    # e.g. a forwarding rule or a Bcc-to-self sending our own mail back into the inbox
    for i in range(8):
        dovecot.deliver(samples.simple(f"転送 {i}", f"自分宛て {i}", sender=own, message_id=f"<self{i}@tsunagu.test>"))
    poll(app)
    assert count(Message, Message.direction == "in") == 8
    assert count(OutboxItem) == 0 and deliver_due() == {}
    assert count(Ticket) <= app.config["TICKET_FLOOD_LIMIT"]

    # A customer's mail is acknowledged; the acknowledgement, looped back into the inbox as sent
    # (our own Message-ID), is recognised as ours: no new message, no ticket, no second ack.
    dovecot.deliver(samples.simple("質問", "教えてください", sender="taro@example.jp", message_id="<taro@example.jp>"))
    poll(app)
    assert deliver_due() == {"sent": 1}
    [ack] = smtp_server.messages
    tickets, messages = count(Ticket), count(Message)
    dovecot.deliver(ack.data)
    [result] = poll(app)
    assert result.fetched == 1 and result.created == 0
    assert (count(Ticket), count(Message), count(OutboxItem)) == (tickets, messages, 1)
    assert deliver_due() == {} and len(smtp_server.messages) == 1
