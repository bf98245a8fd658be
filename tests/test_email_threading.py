"""Where inbound email lands: threads, carrier replies, auto-replies, bounces, acknowledgements."""
from __future__ import annotations

from email import message_from_bytes, policy

from sqlalchemy import select

from app.extensions import db
from app.models import Identity, Message, OutboxItem, Ticket
from app.outbox import deliver_due
from tests.data.mail import samples
from tests.email_helpers import configure, count, inbound, poll
from tests.factories import make_customer


def test_carrier_reply_without_in_reply_to_threads_by_subject(app, dovecot):
    configure(app, dovecot)
    dovecot.deliver(samples.simple("定期便のお届け日について", "来週に変更できますか", sender="user@docomo.ne.jp",
                                   message_id="<first@docomo.ne.jp>"))
    poll(app)
    for i, prefix in enumerate(("Re: ", "RE:", "返信: ", "Ｒｅ：", "Fwd: Re: ", "転送: ", "AW: ")):
        dovecot.deliver(samples.simple(f"{prefix}定期便のお届け日について", f"返事 {i}", sender="USER@docomo.ne.jp",
                                       message_id=f"<reply{i}@docomo.ne.jp>"))
    dovecot.deliver(samples.simple("Re: 定期便のお届け日について", "別の人", sender="other@au.com",
                                   message_id="<other@au.com>"))
    poll(app)
    ticket = inbound("<first@docomo.ne.jp>").ticket
    assert ticket.subject == "定期便のお届け日について"
    assert {m.external_id for m in ticket.messages} == {"<first@docomo.ne.jp>"} | {
        f"<reply{i}@docomo.ne.jp>" for i in range(7)}
    assert inbound("<other@au.com>").ticket_id != ticket.id  # never another customer's ticket


def test_references_and_ticket_token_thread_before_the_subject(app, dovecot):
    configure(app, dovecot)
    dovecot.deliver(samples.simple("返品したい", "箱が潰れていました", message_id="<a@example.jp>"))
    dovecot.deliver(samples.simple("別件です", "請求書をください", message_id="<b@example.jp>"))
    poll(app)
    first, second = inbound("<a@example.jp>"), inbound("<b@example.jp>")
    dovecot.deliver(samples.simple("全く違う件名", "追記です", message_id="<c@example.jp>",
                                   extra_headers={"References": "<zzz@x> <a@example.jp>"}))
    dovecot.deliver(samples.simple(f"Re: 件名を変えました [#{second.ticket_id}]", "token",
                                   message_id="<d@example.jp>"))
    poll(app)
    assert inbound("<c@example.jp>").ticket_id == first.ticket_id
    assert inbound("<c@example.jp>").reply_to_keys == ["<a@example.jp>", "<zzz@x>"]
    assert inbound("<d@example.jp>").ticket_id == second.ticket_id


def test_auto_replies_are_stored_but_never_acknowledged(app, dovecot, smtp_server):
    configure(app, dovecot, smtp_server, EMAIL_AUTO_ACK=True)
    dovecot.deliver(samples.eml("autoreply.eml"))
    dovecot.deliver(samples.simple("Newsletter", "sale", sender="news@shop.example",
                                   message_id="<bulk@x>", extra_headers={"Precedence": "bulk"}))
    dovecot.deliver(samples.simple("自動応答", "不在", sender="a@b.example", message_id="<xa@x>",
                                   extra_headers={"X-Autorespond": "yes"}))
    dovecot.deliver(samples.simple("Auto-Submitted: no は人間", "人です", sender="human@example.jp",
                                   message_id="<human@x>", extra_headers={"Auto-Submitted": "no"}))
    poll(app)
    ooo = inbound("<ooo-1@example.co.jp>")
    assert ooo.auto_submitted and ooo.subject == "不在のお知らせ (Out of office)" and "不在" in ooo.body_text
    assert inbound("<bulk@x>").auto_submitted and inbound("<xa@x>").auto_submitted
    assert not inbound("<human@x>").auto_submitted
    acks = db.session.scalars(select(Message).where(Message.direction == "out")).all()
    assert [m.ticket_id for m in acks] == [inbound("<human@x>").ticket_id]

    assert deliver_due() == {"sent": 1}
    [sent] = smtp_server.messages
    mail = message_from_bytes(sent.data, policy=policy.default)
    assert sent.rcpt_tos == ["human@example.jp"] and mail["Auto-Submitted"] == "auto-replied"
    assert f"[#{inbound('<human@x>').ticket_id}]" in mail["Subject"]
    assert mail["In-Reply-To"] == "<human@x>"
    assert f"受付番号は [#{inbound('<human@x>').ticket_id}]" in mail.get_content()

    # A second new ticket from the same customer within the window is not acknowledged again.
    dovecot.deliver(samples.simple("もう一件", "別の話", sender="human@example.jp", message_id="<human2@x>"))
    poll(app)
    assert count(OutboxItem) == 1


def test_acknowledgement_is_off_by_default(app, dovecot):
    configure(app, dovecot)
    dovecot.deliver(samples.simple("こんにちは", "質問です", message_id="<q@x>"))
    poll(app)
    assert count(Message, Message.direction == "out") == 0


def test_a_hard_bounce_marks_the_address_bouncing_and_is_not_acknowledged(app, dovecot):
    configure(app, dovecot, EMAIL_AUTO_ACK=True)
    customer = make_customer("消えた 宛先", email="gone@example.jp")
    dovecot.deliver(samples.eml("bounce.eml"))
    poll(app)
    bounce = inbound("<20250401010203.ABCDEF@mx.example.jp>")
    assert bounce.auto_submitted
    assert bounce.meta["bounce"]["hard"] == ["gone@example.jp"]
    assert bounce.meta["bounce"]["original_message_id"] == "<original-reply@tsunagu.test>"
    identity = db.session.scalar(select(Identity).where(Identity.value == "gone@example.jp"))
    assert identity.bouncing and identity.customer_id == customer.id
    assert count(Message, Message.direction == "out") == 0
    assert [a.filename for a in bounce.attachments] == ["attachment-1.txt"]
    assert db.session.get(Ticket, bounce.ticket_id).customer_id != customer.id
