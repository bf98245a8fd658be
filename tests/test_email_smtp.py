"""Outbound email through the outbox to a real SMTP server (aiosmtpd): headers, charsets, retries."""
from __future__ import annotations

from email import message_from_bytes, policy
from email.utils import make_msgid

from sqlalchemy import select

from app.channels.email.charsets import decode_header
from app.extensions import db
from app.models import Message, OutboxItem, utcnow
from app.outbox import deliver_due, enqueue, retry
from tests.data.mail import samples
from tests.email_helpers import configure, inbound, poll
from tests.factories import make_ticket
from tests.servers import free_port


def queue_reply(body: str = "ご連絡ありがとうございます。\n解約を承りました。", *, subject: str = "Re: 解約について",
                thread_key: str | None = "auto", meta: dict | None = None) -> Message:
    """An agent's reply as the reply service will create it: an outbound Message + outbox row."""
    ticket, first = make_ticket("解約したいです", channel="email", sender="Hanako@Example.jp", name="山田 花子",
                                subject="解約について", external_id="<in-1@example.jp>", thread_key="<in-1@example.jp>",
                                reply_to_keys=("<older@example.jp>",))
    message = Message(ticket_id=ticket.id, customer_id=ticket.customer_id, channel="email", direction="out",
                      subject=subject, body_text=body, meta=meta or {},
                      thread_key=make_msgid(domain="tsunagu.test") if thread_key == "auto" else thread_key,
                      reply_to_keys=["<older@example.jp>", first.thread_key])
    db.session.add(message)
    enqueue(message)
    db.session.commit()
    return message


def received(smtp_server, n: int = 1):
    messages = smtp_server.wait_for(n)
    assert len(messages) == n
    return messages


def test_utf8_reply_headers_and_body_as_received(app, smtp_server):
    configure(app, smtp=smtp_server, MAIL_FROM_NAME="つなぐ商店 サポート")
    reply = queue_reply()
    assert deliver_due() == {"sent": 1}
    [got] = received(smtp_server)
    assert got.mail_from == "support@tsunagu.test" and got.rcpt_tos == ["hanako@example.jp"]
    assert got.data.isascii()  # base64 body, encoded-word headers: 7-bit clean
    mail = message_from_bytes(got.data, policy=policy.default)
    assert mail["Subject"] == f"Re: 解約について [#{reply.ticket_id}]"
    assert mail["Message-ID"] == reply.thread_key
    assert mail["In-Reply-To"] == "<in-1@example.jp>"
    assert mail["References"] == "<older@example.jp> <in-1@example.jp>"
    assert mail["From"].addresses[0].display_name == "つなぐ商店 サポート"
    assert mail["To"].addresses[0].display_name == "山田 花子"
    assert mail.get_content_charset() == "utf-8"
    # Text is sent in canonical form (CRLF line ends, RFC 2045) inside the base64.
    assert mail.get_content().replace("\r\n", "\n") == "ご連絡ありがとうございます。\n解約を承りました。\n"
    db.session.expire_all()
    item = db.session.scalar(select(OutboxItem))
    assert item.status == "sent" and item.result["charset"] == "utf-8"
    assert db.session.get(Message, reply.id).external_id == reply.thread_key


def test_iso_2022_jp_when_configured_keeps_cp50220_characters(app, smtp_server):
    configure(app, smtp=smtp_server, SMTP_CHARSET="iso-2022-jp", MAIL_FROM_NAME="つなぐ商店 サポート")
    subject = f"Re: {samples.CP50220_TEXT}のお届けについて、長い件名でも途中で壊れないことを確かめます"
    reply = queue_reply(f"{samples.CP50220_TEXT}\nﾊﾝｶｸもどうぞ", subject=subject)
    assert deliver_due() == {"sent": 1}
    [got] = received(smtp_server)
    head, body = got.data.split(b"\r\n\r\n", 1)
    assert b'Content-Type: text/plain; charset="ISO-2022-JP"' in head
    assert b"Content-Transfer-Encoding: 7bit" in head
    assert got.data.isascii() and all(len(line) <= 78 for line in got.data.split(b"\r\n"))
    assert b"utf-8" not in got.data.lower()  # old clients get JIS in every header too
    assert body.startswith(samples.CP50220_JIS + b"\r\n")
    assert "ハンカクもどうぞ".encode("iso2022_jp") in body  # half-width kana widened, as CP50220 does
    mail = message_from_bytes(got.data, policy=policy.compat32)
    assert mail["Subject"].count("=?ISO-2022-JP?B?") >= 2  # folded over several self-contained words
    assert decode_header(mail["Subject"]) == f"{subject} [#{reply.ticket_id}]"
    assert decode_header(mail["From"]) == "つなぐ商店 サポート <support@tsunagu.test>"
    assert decode_header(mail["To"]) == "山田 花子 <hanako@example.jp>"
    assert mail["In-Reply-To"] == "<in-1@example.jp>"


def test_per_message_charset_and_emoji_fallback_to_utf8(app, smtp_server):
    configure(app, smtp=smtp_server)
    queue_reply("よろしくお願いします", meta={"mail_charset": "iso-2022-jp"})
    queue_reply("ありがとうございます🙇", meta={"mail_charset": "iso-2022-jp"})
    assert deliver_due() == {"sent": 2}
    charsets = sorted(message_from_bytes(m.data, policy=policy.default).get_content_charset()
                      for m in received(smtp_server, 2))
    assert charsets == ["iso-2022-jp", "utf-8"]


def test_smtp_refusing_then_accepting_delivers_exactly_once(app, smtp_server):
    configure(app, smtp=smtp_server)
    reply = queue_reply()
    smtp_server.fail_next(1, code=451, text="4.3.0 try again later")
    assert deliver_due() == {"queued": 1}
    item = db.session.scalar(select(OutboxItem))
    assert item.last_error == "451 4.3.0 try again later" and item.next_attempt_at > utcnow()
    assert deliver_due() == {}  # backing off: not due yet
    item.next_attempt_at = utcnow()
    db.session.commit()
    assert deliver_due() == {"sent": 1}
    assert deliver_due() == {}
    [got] = received(smtp_server)
    assert message_from_bytes(got.data, policy=policy.default)["Message-ID"] == reply.thread_key


def test_permanent_refusal_fails_visibly_and_the_agent_can_retry(app, smtp_server):
    configure(app, smtp=smtp_server)
    queue_reply()
    smtp_server.fail_next(1, code=550, text="5.1.1 no such user", stage="RCPT")
    assert deliver_due() == {"failed": 1}
    item = db.session.scalar(select(OutboxItem))
    assert item.status == "failed" and item.last_error == "550 5.1.1 no such user"
    assert smtp_server.messages == []
    retry(item.id)
    assert deliver_due() == {"sent": 1}
    assert len(received(smtp_server)) == 1


def test_header_injection_is_refused_and_nothing_is_sent(app, smtp_server):
    configure(app, smtp=smtp_server)
    queue_reply(subject="Re: hi\r\nBcc: victim@example.com")
    assert deliver_due() == {"failed": 1}
    assert "header injection" in db.session.scalar(select(OutboxItem)).last_error
    assert smtp_server.messages == []


def test_smtp_down_is_temporary(app, smtp_server):
    configure(app, smtp=smtp_server, SMTP_PORT=free_port())
    queue_reply()
    assert deliver_due() == {"queued": 1}
    assert "SMTP connection failed" in db.session.scalar(select(OutboxItem)).last_error


def test_missing_message_id_is_generated_and_the_customer_reply_threads_back(app, smtp_server, dovecot):
    configure(app, dovecot, smtp_server)
    reply = queue_reply(thread_key=None)
    assert deliver_due() == {"sent": 1}
    [got] = received(smtp_server)
    message_id = message_from_bytes(got.data, policy=policy.default)["Message-ID"]
    db.session.expire_all()
    stored = db.session.get(Message, reply.id)
    assert stored.thread_key == message_id == stored.external_id and message_id.endswith("@tsunagu.test>")

    # The customer answers with a new subject; In-Reply-To alone brings it to the ticket.
    dovecot.deliver(samples.simple("お返事です", "承知しました", sender="hanako@example.jp",
                                   message_id="<answer@example.jp>", extra_headers={"In-Reply-To": message_id}))
    poll(app)
    assert inbound("<answer@example.jp>").ticket_id == reply.ticket_id
