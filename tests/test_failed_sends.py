"""A reply that did not reach the customer cannot be missed: it does not answer the ticket for the
SLA, reopens the ticket, turns its inbox row red (with a filter and a count), alerts its author
live, and is never labelled "sent". Real SMTP (aiosmtpd) and the local X v2 server deliver or refuse.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app import outbox
from app.extensions import db, socketio
from app.models import Event, Message, OutboxItem, SLAPolicy, Ticket, TicketSLA, utcnow
from app.tickets.services import add_reply, mark_delivery_handled
from tests.email_helpers import configure
from tests.factories import PASSWORD, make_agent, make_ticket
from tests.xserver import x_app, xserver  # noqa: F401


@pytest.fixture
def conversation(x_app, xserver):
    """A customer's public complaint polled into a ticket: (ticket, their post)."""
    from app.channels.x.poller import poll_mentions

    user = xserver.add_user("小林 美咲", "misaki_kb")
    post = xserver.add_post(user, "@tsunagu_shop 先週頼んだ抹茶がまだ来ない…")
    assert poll_mentions(x_app.config, force=True).created == 1
    return db.session.scalar(select(Ticket)), post


def _policy():
    db.session.add(SLAPolicy(name="一次返信30分", first_response_minutes=30, business_hours=False,
                             pause_when_pending=True))
    db.session.commit()


def _mail_ticket(text="注文した茶葉がまだ届いていません", sender="kyoko.hasegawa@example.net"):
    return make_ticket(text, channel="email", sender=sender, name="長谷川 京子", subject="配送状況の確認",
                       created_at=datetime.now(timezone.utc) - timedelta(minutes=12))[0]


def _fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def _item_of(message_id: int) -> OutboxItem:
    db.session.expire_all()
    return db.session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id))


def test_refused_mail_reopens_the_ticket_and_does_not_answer_it(app, agent, smtp_server):
    configure(app, smtp=smtp_server)
    _policy()
    ticket = _mail_ticket()
    reply = add_reply(agent, ticket, "お調べしますので少々お待ちください。", status_after="pending")
    queued = _fresh(Ticket, ticket.id)
    assert queued.status == "pending" and queued.first_response_at is None  # queued is not answered
    smtp_server.fail_next(1, code=550, text="5.1.1 mailbox unavailable", stage="RCPT")

    assert outbox.deliver_due() == {"failed": 1}

    ticket = _fresh(Ticket, ticket.id)
    assert ticket.status == "open" and ticket.first_response_at is None
    clock = db.session.get(TicketSLA, ticket.id)
    assert clock.replies == 0 and clock.first_response_seconds is None
    assert clock.state in ("ok", "at_risk") and clock.due_rule == "first_response"  # running, not paused
    reopened = db.session.scalar(select(Event).where(Event.ticket_id == ticket.id, Event.kind == "ticket.status")
                                 .order_by(Event.id.desc()))
    assert reopened.data["new"] == "open" and reopened.data["why"] == "delivery failed"
    assert reopened.data["message_id"] == reply.id


def test_the_answer_counts_from_its_delivery(app, agent, smtp_server):
    configure(app, smtp=smtp_server)
    _policy()
    ticket = _mail_ticket("定期便の住所を変更したいです", sender="tomo.sato@example.org")
    reply = add_reply(agent, ticket, "新しいご住所を承りました。", status_after="solved")
    assert db.session.get(TicketSLA, ticket.id).replies == 0

    assert outbox.deliver_due()["sent"] >= 1  # the reply (and the satisfaction survey it solved)

    ticket = _fresh(Ticket, ticket.id)
    item = _item_of(reply.id)
    assert ticket.first_response_at == item.sent_at and ticket.status == "solved"
    clock = db.session.get(TicketSLA, ticket.id)
    assert clock.replies == 1 and clock.state == "met" and not clock.breached


def test_a_failed_x_post_is_not_a_first_response(app, agent, conversation, xserver):
    _policy()
    ticket, _latest = conversation
    xserver.script("POST", "/2/tweets$", 403, body={"title": "Forbidden", "status": 403,
                                                    "detail": "You are not allowed to reply to this post."})
    add_reply(agent, ticket, "ご迷惑をおかけしております。DMでご連絡いたします。", status_after="pending")

    assert outbox.deliver_due() == {"failed": 1}

    ticket = _fresh(Ticket, ticket.id)
    assert ticket.status == "open" and ticket.first_response_at is None
    assert db.session.get(TicketSLA, ticket.id).replies == 0


def test_unverified_needs_an_agent_and_marking_it_handled_answers(app, agent, conversation, xserver):
    _policy()
    ticket, _latest = conversation
    xserver.script("POST", "/2/tweets$", 503, after_create=True)  # posted, but the answer was lost
    xserver.script("GET", r"/2/users/\d+/tweets$", 404, times=50)
    reply = add_reply(agent, ticket, "発送状況を確認いたしました。", status_after="pending")
    assert outbox.deliver_due() == {"queued": 1}
    item = _item_of(reply.id)
    item.next_attempt_at = utcnow()
    db.session.commit()
    assert outbox.deliver_due() == {"unverified": 1}
    ticket = _fresh(Ticket, ticket.id)
    assert ticket.status == "open" and db.session.get(TicketSLA, ticket.id).replies == 0

    mark_delivery_handled(agent, _item_of(reply.id).id)

    item = _item_of(reply.id)
    ticket = db.session.get(Ticket, ticket.id)
    assert item.status == "handled" and ticket.first_response_at == item.sent_at
    assert db.session.get(TicketSLA, ticket.id).replies == 1
    assert outbox.deliver_due() == {} and len(xserver.our_posts()) == 1  # never posted twice
    handled = db.session.scalar(select(Event).where(Event.kind == "message.handled"))
    assert handled.actor_id == agent.id and handled.data["old"] == "unverified"


def test_inbox_shows_failed_tickets_in_red_with_a_filter_and_count(app, client, agent, login_as, smtp_server):
    configure(app, smtp=smtp_server)
    failing = _mail_ticket("ギフト包装はできますか", sender="gift.q@example.jp")
    fine = _mail_ticket("請求書を再発行してください", sender="invoice.q@example.jp")
    add_reply(agent, failing, "承知しました。", status_after="pending")
    add_reply(agent, fine, "再発行いたしました。", status_after="open")
    smtp_server.fail_next(1, code=554, text="5.7.1 rejected by policy", stage="RCPT")
    counts = outbox.deliver_due()
    assert counts == {"failed": 1, "sent": 1}
    failed_id = db.session.scalar(select(Message.ticket_id).join(OutboxItem).where(OutboxItem.status == "failed"))
    sent_id = ({failing.id, fine.id} - {failed_id}).pop()
    login_as(agent)

    page = client.get("/").get_data(as_text=True)
    assert f'delivery-problem" data-ticket-id="{failed_id}"' in page
    assert f'delivery-problem" data-ticket-id="{sent_id}"' not in page
    assert "data-failed-count>1<" in page and 'class="badge delivery-alert dl-failed"' in page

    only = client.get("/?delivery=failed&status=all").get_data(as_text=True)
    assert f'data-ticket-id="{failed_id}"' in only and f'data-ticket-id="{sent_id}"' not in only


def test_outbound_label_says_sent_only_once_delivered(app, client, agent, login_as, smtp_server):
    configure(app, smtp=smtp_server)
    ticket = _mail_ticket("返品の送り先を教えてください", sender="henpin@example.jp")
    add_reply(agent, ticket, "返品先は以下の通りです。", status_after="pending")
    login_as(agent)

    def direction_label():
        html = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
        entry = html.split('class="entry msg dir-out')[1]
        return entry.split('<span class="direction">')[1].split("</span>")[0]

    assert direction_label() == "Outgoing"  # queued: not "Sent"
    smtp_server.fail_next(1, code=550, text="5.1.1 unknown user", stage="RCPT")
    outbox.deliver_due()
    assert direction_label() == "Outgoing"  # failed
    outbox.retry(_item_of(db.session.scalar(select(Message.id).where(Message.direction == "out"))).id)
    outbox.deliver_due()
    assert direction_label() == "Sent"


def test_the_author_gets_a_live_alert_and_a_colleague_does_not(app, agent, smtp_server):
    configure(app, smtp=smtp_server)
    colleague = make_agent(name="松本 大輔")

    def connect(who):
        web = app.test_client()
        assert web.post("/login", data={"email": who.email, "password": PASSWORD}).status_code == 302
        return socketio.test_client(app, flask_test_client=web)

    mine, theirs = connect(agent), connect(colleague)
    ticket = _mail_ticket("解約の手続きについて", sender="kaiyaku.q@example.jp")
    reply = add_reply(agent, ticket, "手続きをご案内します。", status_after="pending")
    mine.get_received(), theirs.get_received()
    smtp_server.fail_next(1, code=550, text="5.1.1 gone", stage="RCPT")

    outbox.deliver_due()

    alerts = [e["args"][0] for e in mine.get_received() if e["name"] == "delivery.alert"]
    assert alerts == [{"ticket_id": ticket.id, "message_id": reply.id, "status": "failed"}]
    assert not [e for e in theirs.get_received() if e["name"] == "delivery.alert"]
    mine.disconnect(), theirs.disconnect()
