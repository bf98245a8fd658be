"""A shop's first day: its mailbox history imported from a real Dovecot, closed and silent.

Old mail (Date header AND arrival before the cutoff) is stored, threaded and searchable in closed
tickets; nothing live happens for it (no acknowledgement reaches aiosmtpd, no SLA clock, no
Socket.IO event, no cancellation alert). Mail after the cutoff in the same poll is handled as
usual; re-running or crashing mid-import loses and doubles nothing. The arrival time (IMAP
INTERNALDATE) is the Maildir file's mtime, set here the way a migration tool preserves it.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from app.auth.services import create_token
from app.channels import state as channel_state
from app.channels.email import poller as email_poller
from app.channels.email.history import Progress, is_history, parse_cutoff
from app.channels.email.imap import mailboxes
from app.channels.email.poller import poll_mailbox
from app.extensions import db, socketio
from app.models import ChannelState, Message, OutboxItem, RetentionCase, SearchQueueItem, Ticket, TicketSLA, utcnow
from app.outbox import deliver_due
from app.search.indexer import drain
from app.search.query import search_messages
from app.sla import live as sla_live
from tests.email_helpers import configure, count, inbound, mailbox_entry, poll
from tests.factories import PASSWORD, make_agent

JST = timezone(timedelta(hours=9))
CUTOFF = "2026-01-01"  # midnight in Tokyo: 2025-12-31 15:00 UTC
OLD = datetime(2025, 6, 2, 10, 15, tzinfo=JST)


class Killed(BaseException):
    """The process dying where it is raised (no `except Exception` absorbs it)."""


def _mail(subject: str, body: str, *, sender: str, message_id: str, sent: datetime,
          in_reply_to: str | None = None, name: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>" if name else sender
    msg["To"] = "support@tsunagu.test"
    msg["Subject"], msg["Message-ID"], msg["Date"] = subject, message_id, format_datetime(sent)
    if in_reply_to:
        msg["In-Reply-To"], msg["References"] = in_reply_to, in_reply_to
    msg.set_content(body)
    return msg.as_bytes()


def _deliver(dovecot, raw: bytes, arrived: datetime | None = None) -> None:
    """Into INBOX; `arrived` becomes the file's mtime, which Dovecot reports as INTERNALDATE."""
    name = dovecot.deliver(raw)
    if arrived is not None:
        path = dovecot.maildir / "new" / name
        os.utime(path, (arrived.timestamp(), arrived.timestamp()))


def _old(dovecot, subject, body, *, sender, message_id, sent, in_reply_to=None, name=""):
    _deliver(dovecot, _mail(subject, body, sender=sender, message_id=message_id, sent=sent,
                            in_reply_to=in_reply_to, name=name), arrived=sent + timedelta(minutes=2))


def _history_box(app):
    [box] = mailboxes(app.config)
    return box


def _old_mailbox(dovecot) -> list[str]:
    """Three old conversations: a thread by headers, a carrier reply without them, a cancellation."""
    _old(dovecot, "定期便のお届け日について", "来月のお届けを15日にずらせますか。", sender="mika@docomo.ne.jp",
         message_id="<h1@docomo.ne.jp>", sent=OLD, name="石田 美香")
    _old(dovecot, "Re: 定期便のお届け日について", "ご対応ありがとうございました。15日で大丈夫です。",
         sender="mika@docomo.ne.jp", message_id="<h2@docomo.ne.jp>", sent=OLD + timedelta(days=3),
         in_reply_to="<h1@docomo.ne.jp>")
    _old(dovecot, "ポイントが反映されていません", "先月の購入分のポイントが付いていないようです。",
         sender="kenji@ezweb.ne.jp", message_id="<h3@ezweb.ne.jp>", sent=OLD + timedelta(days=10))
    # A carrier reply (no In-Reply-To / References), five days later, same subject.
    _old(dovecot, "RE:ポイントが反映されていません", "確認できました。お手数をおかけしました。",
         sender="kenji@ezweb.ne.jp", message_id="<h4@ezweb.ne.jp>", sent=OLD + timedelta(days=15))
    _old(dovecot, "退会希望", "定期購入を解約したいです。手続きをお願いします。", sender="yuto@example.com",
         message_id="<h5@example.com>", sent=OLD + timedelta(days=40))
    return [f"<h{i}@{d}>" for i, d in [(1, "docomo.ne.jp"), (2, "docomo.ne.jp"), (3, "ezweb.ne.jp"),
                                      (4, "ezweb.ne.jp"), (5, "example.com")]]


def _supervisor_socket(app):
    boss = make_agent("supervisor", email="boss@tsunagu.test")
    web = app.test_client()
    assert web.post("/login", data={"email": boss.email, "password": PASSWORD}).status_code == 302
    sock = socketio.test_client(app, flask_test_client=web)
    assert sock.is_connected()
    sock.get_received()
    return boss, sock


def test_old_mail_is_stored_closed_threaded_searchable_and_nothing_live_happens(app, dovecot, smtp_server):
    configure(app, dovecot, smtp_server, EMAIL_AUTO_ACK=True, EMAIL_HISTORY_BEFORE=CUTOFF)
    ids = _old_mailbox(dovecot)
    boss, sock = _supervisor_socket(app)

    [result] = poll(app)
    assert (result.fetched, result.created, result.history) == (5, 5, 5)
    # Nothing live: no socket event, no acknowledgement queued or sent, no SLA clock, no alert.
    assert [e["name"] for e in sock.get_received()] == []
    assert count(OutboxItem) == 0 and count(Message, Message.direction == "out") == 0
    assert deliver_due() == {} and smtp_server.messages == []
    sla_live._job(app)  # the minute job creates clocks for open tickets that lack one
    assert count(TicketSLA) == 0
    assert count(RetentionCase) == 0

    tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert [t.status for t in tickets] == ["closed"] * 3
    assert all(t.intent is None and t.reopen_count == 0 for t in tickets)
    first, second = inbound(ids[0]), inbound(ids[1])
    assert first.ticket_id == second.ticket_id  # threading by In-Reply-To across old mail
    assert inbound(ids[2]).ticket_id == inbound(ids[3]).ticket_id  # and by subject, from the mail's date
    delivery = db.session.get(Ticket, first.ticket_id)
    assert delivery.created_at == OLD and delivery.closed_at == OLD + timedelta(days=3)
    assert delivery.last_activity_at == OLD + timedelta(days=3) and delivery.subject == "定期便のお届け日について"
    assert all(inbound(i).meta.get("history") for i in ids)

    # Searchable as usual: queued for the index after the commit, then found.
    queued = set(db.session.scalars(select(SearchQueueItem.obj_id).where(SearchQueueItem.kind == "message")))
    assert {inbound(i).id for i in ids} <= queued
    for _ in range(20):
        if not drain().get("queue"):
            break
    page = search_messages(boss, "ポイント")
    assert not page.unavailable
    assert {h.ticket.id for h in page.hits} == {inbound(ids[2]).ticket_id}


def test_mail_after_the_cutoff_in_the_same_poll_is_handled_live(app, dovecot, smtp_server):
    configure(app, dovecot, smtp_server, EMAIL_AUTO_ACK=True)
    app.config["EMAIL_MAILBOXES"] = [mailbox_entry(dovecot, history_before=CUTOFF)]  # per mailbox
    ids = _old_mailbox(dovecot)
    now = datetime.now(JST)
    # Today the customer answers the old thread; a stranger writes with a wrong clock (Date in 2024
    # but arrived now): both live, neither closed unseen.
    _deliver(dovecot, _mail("Re: 定期便のお届け日について", "やはり20日に変更できますか？", sender="mika@docomo.ne.jp",
                            message_id="<live1@docomo.ne.jp>", sent=now, in_reply_to="<h2@docomo.ne.jp>"))
    _deliver(dovecot, _mail("商品が破損していました", "箱がつぶれて瓶が割れていました。", sender="rin@example.org",
                            message_id="<live2@example.org>", sent=datetime(2024, 3, 3, 9, tzinfo=JST)))
    boss, sock = _supervisor_socket(app)

    [result] = poll(app)
    assert (result.fetched, result.created, result.history) == (7, 7, 5)
    old_ticket = db.session.get(Ticket, inbound(ids[1]).ticket_id)
    follow_up = db.session.get(Ticket, inbound("<live1@docomo.ne.jp>").ticket_id)
    # A reply to a closed conversation starts a follow-up linked to it, as for any closed ticket.
    assert old_ticket.status == "closed" and follow_up.status == "new"
    assert follow_up.previous_ticket_id == old_ticket.id
    wrong_clock = db.session.get(Ticket, inbound("<live2@example.org>").ticket_id)
    assert wrong_clock.status == "new" and not inbound("<live2@example.org>").meta.get("history")

    live_ids = {follow_up.id, wrong_clock.id}
    changed = {e["args"][0]["ticket_id"] for e in sock.get_received() if e["name"] == "inbox.changed"}
    assert changed == live_ids
    assert set(db.session.scalars(select(TicketSLA.ticket_id))) == live_ids
    acks = db.session.scalars(select(Message).where(Message.direction == "out")).all()
    assert sorted(m.ticket_id for m in acks) == sorted(live_ids)
    assert deliver_due() == {"sent": 2}
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == ["mika@docomo.ne.jp", "rin@example.org"]


def test_rerunning_the_import_and_a_later_normal_poll_double_nothing(app, dovecot):
    configure(app, dovecot, EMAIL_BATCH_SIZE=2, EMAIL_HISTORY_BEFORE=CUTOFF)
    ids = _old_mailbox(dovecot)
    [first] = poll(app)
    assert (first.created, first.history, first.batches) == (5, 5, 3)
    tickets_before = count(Ticket)

    [again] = poll(app)  # the cursor is at the end: nothing fetched
    assert (again.fetched, again.created) == (0, 0)
    state = db.session.scalar(select(ChannelState).where(ChannelState.channel == "email"))
    state.cursor = {}  # a lost cursor: the whole folder is read again
    db.session.commit()
    [replay] = poll(app)
    assert (replay.fetched, replay.created, replay.duplicates, replay.history) == (5, 0, 5, 0)
    assert count() == 5 and count(Ticket) == tickets_before

    # The shop goes live: the setting is dropped; the next poll goes on from the cursor.
    app.config["EMAIL_HISTORY_BEFORE"] = ""
    _deliver(dovecot, _mail("はじめまして", "新商品について教えてください。", sender="sora@example.jp",
                            message_id="<new@example.jp>", sent=datetime.now(JST)))
    [live] = poll(app)
    assert (live.fetched, live.created, live.history) == (1, 1, 0)
    assert db.session.get(Ticket, inbound("<new@example.jp>").ticket_id).status == "new"
    assert sorted(db.session.scalars(select(Message.external_id))) == sorted(ids + ["<new@example.jp>"])


def test_a_crash_in_the_middle_of_the_import_loses_and_doubles_nothing(app, dovecot, monkeypatch):
    configure(app, dovecot, EMAIL_BATCH_SIZE=2, EMAIL_HISTORY_BEFORE=CUTOFF)
    ids = _old_mailbox(dovecot)
    real_ingest_batch = email_poller.ingest_batch
    calls = []

    def dies_before_the_second_commit(msgs, advance_cursor=None):
        calls.append(len(msgs))

        def advance_then_die():
            advance_cursor()
            if len(calls) == 2:
                raise Killed("process killed before COMMIT of batch 2")

        return real_ingest_batch(msgs, advance_cursor=advance_then_die)

    monkeypatch.setattr(email_poller, "ingest_batch", dies_before_the_second_commit)
    box = _history_box(app)
    with pytest.raises(Killed):
        poll_mailbox(box)
    db.session.rollback()
    assert count() == 2
    state = db.session.scalar(select(ChannelState).where(ChannelState.channel == "email"))
    # A killed process cannot release its lease: leave it as a dead worker would, expired.
    state.lease_owner, state.lease_until = "dead-host:1:email-poll", utcnow() - timedelta(seconds=1)
    db.session.commit()
    monkeypatch.setattr(email_poller, "ingest_batch", real_ingest_batch)

    [resumed] = poll(app)
    assert (resumed.fetched, resumed.created, resumed.duplicates, resumed.history) == (3, 3, 0, 3)
    db.session.expire_all()
    assert sorted(db.session.scalars(select(Message.external_id))) == sorted(ids)
    assert [t.status for t in db.session.scalars(select(Ticket))] == ["closed"] * 3
    assert inbound(ids[2]).ticket_id == inbound(ids[3]).ticket_id  # threaded across the crash
    assert count(TicketSLA) == 0 and count(OutboxItem) == 0


def test_old_carrier_replies_about_different_orders_stay_apart(app, dovecot):
    configure(app, dovecot, EMAIL_HISTORY_BEFORE=CUTOFF)
    when = datetime(2025, 9, 9, 20, 5, tzinfo=JST)
    _old(dovecot, "返品について", "ご注文番号 A-20931 の化粧水を返品したいです。", sender="natsu@au.com",
         message_id="<r1@au.com>", sent=when)
    _old(dovecot, "Re:返品について", "注文番号A-20931の件、返送しました。", sender="natsu@au.com",
         message_id="<r2@au.com>", sent=when + timedelta(days=2))
    _old(dovecot, "Re:返品について", "別の注文 ご注文番号 B-77102 も返品できますか。", sender="natsu@au.com",
         message_id="<r3@au.com>", sent=when + timedelta(days=4))
    poll(app)
    assert inbound("<r1@au.com>").ticket_id == inbound("<r2@au.com>").ticket_id
    assert inbound("<r3@au.com>").ticket_id != inbound("<r1@au.com>").ticket_id
    assert [t.status for t in db.session.scalars(select(Ticket))] == ["closed", "closed"]


def test_cli_history_import_reports_progress_on_stderr(app, dovecot):
    configure(app, dovecot, EMAIL_BATCH_SIZE=2)
    _old_mailbox(dovecot)
    _deliver(dovecot, _mail("今日の問い合わせ", "在庫はありますか？", sender="aoi@example.jp",
                            message_id="<today@example.jp>", sent=datetime.now(JST)))
    result = app.test_cli_runner().invoke(args=["poll", "email", "--history-before", CUTOFF])
    assert result.exit_code == 0, result.output
    assert "6 fetched, 6 new" in result.stdout and "5 imported as history" in result.stdout
    assert "Importing history before 2025-12-31T15:00:00+00:00" in result.stderr
    assert "6 of 6 (100%), 5 as history" in result.stderr and "msg/s" in result.stderr
    assert db.session.get(Ticket, inbound("<today@example.jp>").ticket_id).status == "new"

    bad = app.test_cli_runner().invoke(args=["poll", "email", "--history-before", "先月"])
    assert bad.exit_code == 2 and "--history-before" in bad.output


def test_cli_import_fails_loudly_when_a_worker_holds_the_mailbox(app, dovecot):
    configure(app, dovecot)
    _old_mailbox(dovecot)
    box = _history_box(app)
    assert channel_state.acquire_lease("email", box.key, "worker-7:email-poll", seconds=300)
    result = app.test_cli_runner().invoke(args=["poll", "email", "--history-before", CUTOFF])
    assert result.exit_code == 1 and "busy" in result.stdout and "another process" in result.stderr
    assert count() == 0  # nothing was taken as live either


def test_api_ticket_detail_lists_each_messages_external_id(app, dovecot, client, agent):
    configure(app, dovecot, EMAIL_HISTORY_BEFORE=CUTOFF)
    ids = _old_mailbox(dovecot)
    poll(app)
    ticket_id = inbound(ids[0]).ticket_id
    response = client.get(f"/api/v1/tickets/{ticket_id}",
                          headers={"Authorization": f"Bearer {create_token(agent)}"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "closed"
    assert [m["external_id"] for m in body["messages"]] == ids[:2]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "external_id" in spec["components"]["schemas"]["Message"]["properties"]


def test_the_cutoff_needs_both_the_date_and_the_arrival_before_it():
    cutoff = parse_cutoff("2026-04-01", "Asia/Tokyo")
    assert cutoff == datetime(2026, 3, 31, 15, tzinfo=timezone.utc)
    assert parse_cutoff("2026-04-01T09:30+00:00") == datetime(2026, 4, 1, 9, 30, tzinfo=timezone.utc)
    assert parse_cutoff("") is None
    with pytest.raises(ValueError):
        parse_cutoff("4月1日")
    before, after = cutoff - timedelta(days=1), cutoff + timedelta(seconds=1)
    assert is_history(before, before, cutoff) and is_history(before, None, cutoff)
    assert not is_history(before, after, cutoff)  # arrived after: live, whatever its Date says
    assert not is_history(after, before, cutoff) and not is_history(before, before, None)

    ticks = iter([0.0, 1.0, 10.0])
    lines = []
    meter = Progress("shop/INBOX", 4000, lines.append, every=5, clock=lambda: next(ticks))
    meter.update(100, 90)  # 1 s in: too soon for a line
    meter.update(2000, 1900)
    assert lines == ["shop/INBOX [##########..........] 2000 of 4000 (50%), 1900 as history, 200 msg/s, "
                     "about 0m10s left"]
