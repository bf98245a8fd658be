"""Real-world mail through the real ingest path (Dovecot -> poller -> ingest): placeholder senders,
reused Message-IDs, mail from our own address, carrier replies to old mail, auto-reply prefixes
and bounces of our own replies (issue 17, items 2 and 11-15)."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from app.channels.email.mime import parse_message
from app.extensions import db
from app.ingest import ingest
from app.ingest.identity import own_addresses
from app.ingest.threading import normalise_subject, strip_reply_prefixes
from app.models import Customer, Identity, Message, OutboxItem, Ticket
from app.outbox import deliver_due
from app.tickets.services import ActionRefused, add_reply
from tests.email_helpers import configure, count, inbound, poll

JST = timezone(timedelta(hours=9))


def _b(text: str) -> str:
    return f"=?UTF-8?B?{base64.b64encode(text.encode()).decode()}?="


def mail(subject: str, body: str, *, sender: str = "hanako@example.jp", message_id: str | None = None,
         date: datetime | None = None, headers: str = "", charset: str = "utf-8") -> bytes:
    """One message written out by hand, the way a phone or PC mailer sends it."""
    date = date or datetime.now(JST) - timedelta(minutes=3)
    head = [f"From: {sender}", "To: support@tsunagu.test", f"Subject: {_b(subject)}",
            f"Date: {format_datetime(date.astimezone(JST))}"]
    if message_id:
        head.append(f"Message-ID: {message_id}")
    head += ["MIME-Version: 1.0", f"Content-Type: text/plain; charset={charset}",
             "Content-Transfer-Encoding: base64"]
    text = "\r\n".join(head) + ("\r\n" + headers.strip("\r\n") if headers else "") + "\r\n\r\n"
    return text.encode() + base64.encodebytes(body.encode(charset)).replace(b"\n", b"\r\n")


def _ticket_of(external_id: str) -> Ticket:
    return db.session.get(Ticket, inbound(external_id).ticket_id)


# --- item 2: never merge customers on a placeholder ------------------------------------------

def test_unreadable_senders_never_share_a_customer_and_cannot_be_replied_to(app, dovecot, agent):
    configure(app, dovecot)
    # No usable address in any sender header: the parser falls back to its placeholder.
    dovecot.deliver(mail("お届け先の変更", "引っ越しました。新しい住所は…", sender="鈴木 一郎",
                         message_id="<noaddr-1@carrier.example>"))
    dovecot.deliver(mail("Refund for a broken mug", "The mug arrived in pieces.",
                         sender="undisclosed-recipients:;", message_id="<noaddr-2@pc.example>"))
    dovecot.deliver(mail("Re: お届け先の変更", "もう一人の差出人不明さん", sender="<@>",
                         message_id="<noaddr-3@carrier.example>"))
    poll(app)
    messages = [inbound(f"<noaddr-{i}@{host}>") for i, host in
                ((1, "carrier.example"), (2, "pc.example"), (3, "carrier.example"))]
    assert all(m.meta.get("sender_missing") for m in messages)
    assert len({m.customer_id for m in messages}) == 3  # three strangers, three customers
    assert len({m.ticket_id for m in messages}) == 3
    # No identity holds the placeholder: nothing can be matched (or replied to) through it.
    assert count(Identity, Identity.value.like("%.invalid")) == 0

    with pytest.raises(ActionRefused) as refused:
        add_reply(agent, messages[1].ticket, "Sorry to hear that.", confirmed=True)
    assert "address" in str(refused.value)
    assert count(OutboxItem) == 0


def test_a_legacy_placeholder_identity_is_never_sent_to(app, smtp_server, agent):
    """Customers merged on the placeholder by earlier versions keep the identity: the outbox refuses it."""
    configure(app, None, smtp_server)
    customer = Customer(name="")
    db.session.add(customer)
    db.session.add(Identity(customer=customer, kind="email", value="unknown-sender@invalid.invalid"))
    db.session.commit()
    ticket = db.session.get(Ticket, ingest(parse_message(mail("件名", "本文", sender="x@example.jp",
                                                                message_id="<legacy@x>"))).ticket_id)
    ticket.customer_id = customer.id
    db.session.commit()
    message = Message(ticket_id=ticket.id, customer_id=customer.id, channel="email", direction="out",
                      body_text="ご連絡ありがとうございます。", subject="Re: 件名")
    db.session.add(message)
    db.session.add(OutboxItem(message=message, channel="email", status="queued",
                              next_attempt_at=datetime.now(timezone.utc)))
    db.session.commit()
    assert deliver_due() == {"failed": 1}
    assert smtp_server.messages == []
    item = db.session.scalar(select(OutboxItem))
    assert "could not be read" in item.last_error


# --- item 11: a reused Message-ID ------------------------------------------------------------

def test_a_reused_message_id_with_other_content_is_kept_as_its_own_message(app, dovecot):
    configure(app, dovecot)
    reused = "<20250301.0001@bulk-mailer.example>"
    first = mail("定期便の配送日について", "次回は3月20日にお願いします。", sender="aoki@example.jp",
                 message_id=reused)
    second = mail("Invoice for order 5521", "Could you send me a PDF invoice?",
                  sender="Olivia Brown <olivia@example.com>", message_id=reused)
    dovecot.deliver(first)
    poll(app)
    dovecot.deliver(second)
    third = mail("Coupon not applied", "My code SPRING10 did not work.", sender="liam@example.org",
                 message_id=reused)
    dovecot.deliver(third)
    poll(app)

    stored = db.session.scalars(select(Message).where(Message.direction == "in").order_by(Message.id)).all()
    assert len(stored) == 3
    assert [m.subject for m in stored] == ["定期便の配送日について", "Invoice for order 5521", "Coupon not applied"]
    assert stored[1].sender == "Olivia Brown" and "PDF invoice" in stored[1].body_text
    assert stored[0].external_id == reused
    assert len({m.external_id for m in stored}) == 3
    for later in stored[1:]:
        assert later.external_id != reused and later.meta["external_id_reused"] == reused
        assert later.parse_error is None
    assert len({m.customer_id for m in stored}) == 3

    # Re-polled (the same bytes again, e.g. a copy in another folder): nothing doubles.
    for raw in (first, second, third):
        dovecot.deliver(raw)
    [result] = poll(app)
    assert (result.fetched, result.created) == (3, 0)
    assert count(Message, Message.direction == "in") == 3


def test_a_reused_message_id_goes_through_ingest_alone_too(app):
    """The one-message path (the poller's fallback) keeps the other message as well."""
    reused = "<same@mua.example>"
    ingest(parse_message(mail("ポイントの失効", "ポイントはいつ消えますか", sender="kato@example.jp",
                              message_id=reused)))
    other = mail("Change my plan", "Please switch me to the monthly box.", sender="noah@example.net",
                 message_id=reused)
    result = ingest(parse_message(other))
    again = ingest(parse_message(other))
    message = db.session.get(Message, result.message_id)
    assert result.status == "created" and message.subject == "Change my plan"
    assert message.meta["external_id_reused"] == reused and message.external_id != reused
    assert again.status == "duplicate" and again.message_id == result.message_id


def test_a_customer_reusing_the_message_id_of_our_sent_mail_is_kept(app, smtp_server, agent):
    configure(app, None, smtp_server)
    first = ingest(parse_message(mail("Where is my parcel?", "Tracking shows nothing.", sender="zoe@example.com",
                                      message_id="<z1@example.com>")))
    ticket = db.session.get(Ticket, first.ticket_id)
    add_reply(agent, ticket, "It left our warehouse today.", confirmed=True)
    assert deliver_due() == {"sent": 1}
    ours = message_from_bytes(smtp_server.messages[-1].data, policy=policy.default)["Message-ID"]
    # A broken mailer copies our Message-ID into its own, different message.
    result = ingest(parse_message(mail("Re: Where is my parcel?", "Got it, thanks!", sender="zoe@example.com",
                                       message_id=ours)))
    stored = db.session.get(Message, result.message_id)
    assert result.status == "created" and stored.direction == "in" and stored.body_text.startswith("Got it")
    assert stored.meta["external_id_reused"] == ours and stored.ticket_id == ticket.id
    # Our reply itself coming back through a list that rewrote its From is still our copy.
    sent = smtp_server.messages[-1].data
    head, body = sent.split(b"\r\n\r\n", 1)
    head = b"\r\n".join(b"From: Shop via list <shop-list@lists.example>" if line.startswith(b"From:") else line
                         for line in head.split(b"\r\n"))
    echoed = ingest(parse_message(head + b"\r\n\r\n" + body))
    assert echoed.status == "duplicate" and count(Message) == 3


# --- item 12: mail from our own address ----------------------------------------------------

def test_mail_from_our_own_address_is_flagged_and_never_replied_to(app, dovecot, smtp_server, agent, client,
                                                                    login_as):
    configure(app, dovecot, smtp_server, MAIL_FROM_NAME="つなぐ商店", EMAIL_AUTO_ACK=True)
    # e.g. a campaign sent from our address by another tool, copied into the support inbox
    dovecot.deliver(mail("【つなぐ商店】春の新商品のお知らせ", "新しい紅茶が入荷しました。",
                         sender="つなぐ商店 <Support@Tsunagu.test>", message_id="<campaign-7@mailtool.example>"))
    poll(app)
    campaign = inbound("<campaign-7@mailtool.example>")
    assert campaign.meta["own_address"] is True and campaign.auto_submitted
    ticket = campaign.ticket
    assert "own-address" in [t.name for t in ticket.tags]
    # not an ordinary customer named after the shop
    assert ticket.customer.name != "つなぐ商店"
    assert count(OutboxItem) == 0  # never acknowledged
    login_as(agent)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'class="ingest-note"' in page.split(f'id="m{campaign.id}"')[1].split("</article>")[0]

    with pytest.raises(ActionRefused) as refused:
        add_reply(agent, ticket, "ありがとうございます", confirmed=True)
    assert "our own address" in str(refused.value)

    # An outbound row that reached the outbox anyway (e.g. queued by an older version) fails
    # with a clear reason instead of mailing ourselves.
    message = Message(ticket_id=ticket.id, customer_id=ticket.customer_id, channel="email", direction="out",
                      body_text="テスト", subject="Re: x")
    db.session.add(message)
    db.session.add(OutboxItem(message=message, channel="email", status="queued",
                              next_attempt_at=datetime.now(timezone.utc)))
    db.session.commit()
    assert deliver_due() == {"failed": 1} and smtp_server.messages == []
    assert "our own address" in db.session.scalar(select(OutboxItem)).last_error


def test_our_own_mail_citing_a_ticket_joins_it_quietly(app, dovecot, smtp_server, agent):
    configure(app, dovecot, smtp_server)
    dovecot.deliver(mail("解約の手続き", "来月で解約したいです。", sender="mori@example.jp", message_id="<mori-1@example.jp>"))
    poll(app)
    ticket = _ticket_of("<mori-1@example.jp>")
    ticket.status = "solved"
    db.session.commit()
    # A colleague answered from a desktop mail client with Bcc to the support inbox.
    dovecot.deliver(mail("Re: 解約の手続き", "承知しました。手続きいたします。",
                         sender="Support <support@tsunagu.test>", message_id="<desk-1@tsunagu.test>",
                         headers="In-Reply-To: <mori-1@example.jp>"))
    # Someone forging our From with a guessed ticket number joins nothing.
    dovecot.deliver(mail(f"Re: 解約の手続き [#{ticket.id}]", "口座を変更してください",
                         sender="support@tsunagu.test", message_id="<forged@elsewhere.example>"))
    poll(app)
    copy = inbound("<desk-1@tsunagu.test>")
    assert copy.ticket_id == ticket.id and copy.customer_id == ticket.customer_id
    assert copy.meta["own_address"] is True
    db.session.refresh(ticket)
    assert ticket.status == "solved"  # our own mail does not reopen the customer's ticket
    forged = inbound("<forged@elsewhere.example>")
    assert forged.ticket_id != ticket.id and forged.meta["own_address"] is True
    assert count(Ticket) == 2


def test_every_configured_mailbox_counts_as_our_own_address(app):
    configure(app, None, MAIL_FROM="Tsunagu Support <support@tsunagu.test>",
              EMAIL_MAILBOXES=[{"key": "returns", "host": "imap.example", "user": "Returns@Tsunagu.test"},
                               {"key": "plain", "host": "imap.example", "user": "tsunagu"}],
              IMAP_USER="info@tsunagu.test")
    assert own_addresses() == {"support@tsunagu.test", "returns@tsunagu.test", "info@tsunagu.test"}
    result = ingest(parse_message(mail("返品受付", "返品を受け付けました", sender="returns@tsunagu.test",
                                       message_id="<r1@tsunagu.test>")))
    assert db.session.get(Message, result.message_id).meta["own_address"] is True


# --- item 13: carrier replies to old mail ---------------------------------------------------

def test_carrier_replies_to_old_mail_thread_by_their_own_date(app, dovecot):
    configure(app, dovecot)
    sent = datetime.now(JST) - timedelta(days=90)
    dovecot.deliver(mail("お届け日の変更について", "次回のお届けを一週間遅らせてください。", sender="user@docomo.ne.jp",
                         message_id="<old-1@docomo.ne.jp>", date=sent))
    dovecot.deliver(mail("Re: お届け日の変更について", "やはり二週間でお願いします。", sender="user@docomo.ne.jp",
                         message_id="<old-2@docomo.ne.jp>", date=sent + timedelta(days=3)))
    poll(app)
    # A month later (by its own date) the same subject is a new matter, not the old thread.
    dovecot.deliver(mail("Re: お届け日の変更について", "また変更をお願いしたいです。", sender="user@docomo.ne.jp",
                         message_id="<old-3@docomo.ne.jp>", date=sent + timedelta(days=40)))
    poll(app)
    assert _ticket_of("<old-2@docomo.ne.jp>").id == _ticket_of("<old-1@docomo.ne.jp>").id
    assert _ticket_of("<old-3@docomo.ne.jp>").id != _ticket_of("<old-1@docomo.ne.jp>").id


def test_carrier_replies_thread_in_one_imported_batch_and_one_by_one(app, dovecot):
    configure(app, dovecot)
    sent = datetime.now(JST) - timedelta(days=400)
    dovecot.deliver(mail("Question about my subscription", "Can I skip June?", sender="emma@ezweb.ne.jp",
                         message_id="<h1@ezweb.ne.jp>", date=sent))
    dovecot.deliver(mail("RE: Question about my subscription", "And July too, please.", sender="emma@ezweb.ne.jp",
                         message_id="<h2@ezweb.ne.jp>", date=sent + timedelta(days=1)))
    poll(app)
    assert _ticket_of("<h2@ezweb.ne.jp>").id == _ticket_of("<h1@ezweb.ne.jp>").id
    result = ingest(parse_message(mail("Re: Question about my subscription", "Thanks!", sender="emma@ezweb.ne.jp",
                                       message_id="<h3@ezweb.ne.jp>", date=sent + timedelta(days=2))))
    assert result.ticket_id == _ticket_of("<h1@ezweb.ne.jp>").id


def test_same_subject_with_other_order_numbers_or_coupons_stays_apart(app, dovecot):
    configure(app, dovecot)
    dovecot.deliver(mail("商品について", "注文番号：A-10021 の商品が届きません。", sender="ito@softbank.ne.jp",
                         message_id="<o1@softbank.ne.jp>"))
    poll(app)
    dovecot.deliver(mail("Re: 商品について", "注文番号 A-10021 の件、まだ届きません。\r\n> 注文番号：A-10021",
                         sender="ito@softbank.ne.jp", message_id="<o2@softbank.ne.jp>"))
    dovecot.deliver(mail("Re: 商品について", "別の注文番号：Ａ－１０３５５ も確認をお願いします。\r\n> 注文番号：A-10021",
                         sender="ito@softbank.ne.jp", message_id="<o3@softbank.ne.jp>"))
    dovecot.deliver(mail("Coupon", "Coupon code SPRING10 was rejected at checkout.", sender="ava@example.com",
                         message_id="<c1@example.com>"))
    poll(app)
    dovecot.deliver(mail("Re: Coupon", "Also the coupon code WINTER25 from last year?", sender="ava@example.com",
                         message_id="<c2@example.com>"))
    dovecot.deliver(mail("Re: Coupon", "Tried SPRING10 again, still rejected.", sender="ava@example.com",
                         message_id="<c3@example.com>"))
    poll(app)
    first = _ticket_of("<o1@softbank.ne.jp>").id
    assert _ticket_of("<o2@softbank.ne.jp>").id == first
    assert _ticket_of("<o3@softbank.ne.jp>").id != first
    coupon = _ticket_of("<c1@example.com>").id
    assert _ticket_of("<c2@example.com>").id != coupon
    assert _ticket_of("<c3@example.com>").id == coupon


@pytest.mark.parametrize("text, found", [
    ("Invoice for order 5521", {"order": {"5521"}}),
    ("ご注文No.１２３４５について", {"order": {"12345"}}),
    ("Order #A-77 shipped, order status unknown", {"order": {"A77"}}),
    ("クーポンコードWELCOME5が使えません", {"coupon": {"WELCOME5"}}),
    ("割引コード「NEW-2025」", {"coupon": {"NEW2025"}}),
    ("the coupon was rejected; orders 2 and 3", {}),
    ("ありがとう\n> 注文番号：A-10021\n", {}),
    ("了解です\n-----Original Message-----\nOrder number 991", {}),
])
def test_order_numbers_and_coupon_codes_named_in_a_message(text, found):
    from app.ingest.threading import markers

    assert markers(text) == found


# --- item 14: auto-reply prefixes -----------------------------------------------------------

@pytest.mark.parametrize("subject", [
    "自動返信: 定期便のお休み", "自動返信：定期便のお休み", "【自動返信】定期便のお休み", "不在通知: 定期便のお休み",
    "Auto: 定期便のお休み", "Automatic reply: 定期便のお休み", "Out of Office: 定期便のお休み",
    "Out of Office AutoReply: 定期便のお休み", "AW: WG: 定期便のお休み", "SV: 定期便のお休み",
    "Réf. : 定期便のお休み", "Re: 自動応答: 定期便のお休み", "Réponse automatique : 定期便のお休み",
])
def test_auto_reply_prefixes_are_stripped(subject):
    assert strip_reply_prefixes(subject) == "定期便のお休み"
    assert normalise_subject(subject) == normalise_subject("定期便のお休み")


def test_auto_replies_thread_instead_of_opening_tickets(app, dovecot):
    configure(app, dovecot)
    dovecot.deliver(mail("Pause my tea subscription", "Please pause it for August.", sender="sato@example.co.jp",
                         message_id="<p1@example.co.jp>"))
    poll(app)
    for i, prefix in enumerate(("Automatic reply: ", "自動返信: ", "不在通知：", "Out of Office: ")):
        dovecot.deliver(mail(prefix + "Pause my tea subscription", "I am away until Monday. 不在にしております。",
                             sender="sato@example.co.jp", message_id=f"<ooo{i}@example.co.jp>",
                             headers="Auto-Submitted: auto-replied"))
    poll(app)
    ticket = _ticket_of("<p1@example.co.jp>")
    assert {m.external_id for m in ticket.messages} == {"<p1@example.co.jp>"} | {
        f"<ooo{i}@example.co.jp>" for i in range(4)}
    assert count(Ticket) == 1 and ticket.subject == "Pause my tea subscription"


# --- item 15: bounces attach to the ticket of the bounced message -------------------------

def _reply_and_send(app, agent, smtp_server, external_id: str, text: str) -> tuple[Ticket, str]:
    ticket = _ticket_of(external_id)
    add_reply(agent, ticket, text, confirmed=True)
    assert deliver_due() == {"sent": 1}
    sent = message_from_bytes(smtp_server.messages[-1].data, policy=policy.default)
    return ticket, sent["Message-ID"]


def _postfix_dsn(recipient: str, original_id: str) -> bytes:
    return f"""Return-Path: <>
From: MAILER-DAEMON@mx.example.co.jp (Mail Delivery System)
To: support@tsunagu.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-{recipient.split('@')[0]}@mx.example.co.jp>
Date: {format_datetime(datetime.now(JST))}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="=_dsn_b"

--=_dsn_b
Content-Type: text/plain; charset=us-ascii

<{recipient}>: host mx.example.co.jp said: 550 5.1.1 Mailbox does not exist

--=_dsn_b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.co.jp

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1

--=_dsn_b
Content-Type: text/rfc822-headers

From: support@tsunagu.test
To: {recipient}
Subject: Re: something
Message-ID: {original_id}

--=_dsn_b--
""".replace("\n", "\r\n").encode()


def _carrier_bounce(original_id: str, recipient: str) -> bytes:
    """A bounce without a delivery-status part: Japanese text plus the original as message/rfc822."""
    note = base64.encodebytes("以下のメールは宛先不明のため配信できませんでした。\r\n".encode("iso2022_jp")).decode()
    return f"""From: Mail Administrator <postmaster@mail.carrier.example>
To: support@tsunagu.test
Subject: {_b('配信エラーのお知らせ')}
Message-ID: <err-{recipient.split('@')[0]}@mail.carrier.example>
Date: {format_datetime(datetime.now(JST))}
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

--XX
Content-Type: text/plain; charset=ISO-2022-JP
Content-Transfer-Encoding: base64

{note}
--XX
Content-Type: message/rfc822

From: support@tsunagu.test
To: {recipient}
Subject: Re: x
Message-ID: {original_id}
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Thank you for your message.

--XX--
""".replace("\n", "\r\n").encode()


def test_a_bounce_of_our_reply_shows_in_that_ticket(app, dovecot, smtp_server, agent, client, login_as):
    configure(app, dovecot, smtp_server)
    dovecot.deliver(mail("ギフトの宛先", "友人に送りたいです。", sender="gift@example.jp", message_id="<g1@example.jp>"))
    dovecot.deliver(mail("Box arrived damaged", "Photos attached later.", sender="kim@carrier.example",
                         message_id="<k1@carrier.example>"))
    poll(app)
    ticket, sent_id = _reply_and_send(app, agent, smtp_server, "<g1@example.jp>", "承知しました。")
    other, other_id = _reply_and_send(app, agent, smtp_server, "<k1@carrier.example>", "We are sorry.")
    tickets, customers = count(Ticket), count(Customer)

    dovecot.deliver(_postfix_dsn("gift@example.jp", sent_id))
    dovecot.deliver(_carrier_bounce(other_id, "kim@carrier.example"))
    poll(app)
    dsn = inbound("<dsn-gift@mx.example.co.jp>")
    assert dsn.ticket_id == ticket.id and dsn.customer_id == ticket.customer_id
    assert dsn.auto_submitted and dsn.meta["bounce_of"] == sent_id
    carrier = inbound("<err-kim@mail.carrier.example>")
    assert carrier.ticket_id == other.id and carrier.meta["bounce_of"] == other_id
    assert "配信できませんでした" in carrier.body_text
    # no ticket or customer for MAILER-DAEMON / postmaster
    assert (count(Ticket), count(Customer)) == (tickets, customers)
    assert count(Identity, Identity.value.like("mailer-daemon%")) == 0
    # the existing bounce handling still marks the address
    assert db.session.scalar(select(Identity).where(Identity.value == "gift@example.jp")).bouncing
    # shown on the ticket page, saying what it is
    assert dsn in db.session.get(Ticket, ticket.id).messages
    login_as(agent)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert f'id="m{dsn.id}"' in page and "Mailbox does not exist" in page
    assert sent_id.strip("<>") in page.split(f'id="m{dsn.id}"')[1].split("</article>")[0]

    # A "report" citing the customer's own Message-ID (not one we sent) joins nothing.
    dovecot.deliver(_postfix_dsn("spoof@example.jp", "<g1@example.jp>"))
    poll(app)
    assert inbound("<dsn-spoof@mx.example.co.jp>").ticket_id != ticket.id
