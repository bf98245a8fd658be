"""The one ingest path: idempotency, identity, threading, reopen/follow-up, raw source, events."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from app import bus
from app.extensions import db
from app.ingest import IngestError, Sender, ingest, ingest_batch
from app.models import Customer, Event, Identity, Message, RawSource, Ticket
from tests.factories import inbound


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_new_message_creates_customer_ticket_and_message(app):
    result = ingest(inbound("定期便について", sender="Hanako@Example.JP", external_id="m1", raw=b"raw bytes"))
    assert result.status == "created" and result.ticket_created and result.customer_created
    message = db.session.get(Message, result.message_id)
    assert message.body_text == "定期便について"
    assert message.raw.content == b"raw bytes"
    identity = db.session.scalar(select(Identity))
    assert identity.value == "hanako@example.jp"  # lower-cased
    assert db.session.get(Ticket, result.ticket_id).status == "new"


def test_replay_is_a_duplicate_and_changes_nothing(app):
    first = ingest(inbound("同じ", external_id="same", sender="a@example.jp"))
    before = (count(Message), count(Ticket), count(Customer), count(RawSource))
    again = ingest(inbound("同じ", external_id="same", sender="a@example.jp"))
    assert again.status == "duplicate" and again.message_id == first.message_id
    assert (count(Message), count(Ticket), count(Customer), count(RawSource)) == before


def test_reused_external_id_with_other_content_is_refused(app):
    ingest(inbound("one", external_id="x1", sender="a@example.jp"))
    try:
        ingest(inbound("two", external_id="x1", sender="a@example.jp"))
    except IngestError as exc:
        assert "external_id" in exc.errors
    else:
        raise AssertionError("expected IngestError")
    assert count(Message) == 1


def test_customer_found_by_any_identity(app):
    first = ingest(inbound("メール", sender="taro@example.jp"))
    customer = db.session.get(Customer, first.customer_id)
    db.session.add(Identity(customer_id=customer.id, kind="phone", value="+819012345678"))
    db.session.commit()
    call = ingest(inbound("電話メモ", channel="phone", kind="phone", sender="０９０-１２３４-５６７８"))
    assert call.customer_id == customer.id and not call.customer_created


def test_reply_to_known_thread_joins_its_ticket(app):
    first = ingest(inbound("質問", thread_key="<a@x>", external_id="<a@x>"))
    reply = ingest(inbound("追伸", sender=db.session.get(Customer, first.customer_id).identities[0].value,
                           external_id="<b@x>", thread_key="<b@x>", reply_to_keys=("<a@x>",),
                           subject="Re: お問い合わせ"))
    assert reply.ticket_id == first.ticket_id and not reply.ticket_created


def test_ticket_token_only_joins_the_same_customers_ticket(app):
    first = ingest(inbound("質問", sender="owner@example.jp"))
    mine = ingest(inbound("続き", sender="owner@example.jp", subject="件名なし", ticket_hint=first.ticket_id))
    assert mine.ticket_id == first.ticket_id
    other = ingest(inbound("なりすまし", sender="other@example.jp", ticket_hint=first.ticket_id))
    assert other.ticket_id != first.ticket_id


def test_same_subject_from_carrier_mail_joins_open_ticket(app):
    first = ingest(inbound("届きません", sender="k@docomo.ne.jp", subject="商品が届きません"))
    reply = ingest(inbound("まだです", sender="k@docomo.ne.jp", subject="Ｒｅ：商品が届きません",
                           match_subject=True))
    assert reply.ticket_id == first.ticket_id
    unrelated = ingest(inbound("別件", sender="k@docomo.ne.jp", subject="解約について", match_subject=True))
    assert unrelated.ticket_id != first.ticket_id


def test_subject_match_respects_the_14_day_window(app):
    old = datetime.now(timezone.utc) - timedelta(days=20)
    first = ingest(inbound("古い", sender="w@example.jp", subject="配送について", created_at=old))
    later = ingest(inbound("新しい", sender="w@example.jp", subject="Re: 配送について", match_subject=True))
    assert later.ticket_id != first.ticket_id


def test_reply_to_solved_ticket_reopens_it(app):
    first = ingest(inbound("質問", thread_key="<s1@x>", external_id="<s1@x>", sender="r@example.jp"))
    ticket = db.session.get(Ticket, first.ticket_id)
    ticket.status = "solved"
    db.session.commit()
    again = ingest(inbound("再質問", external_id="<s2@x>", reply_to_keys=("<s1@x>",), sender="r@example.jp"))
    assert again.ticket_id == first.ticket_id and again.ticket_reopened
    ticket = db.session.get(Ticket, first.ticket_id)
    assert ticket.status == "open" and ticket.reopen_count == 1
    assert db.session.scalar(select(Event).where(Event.kind == "ticket.status")).data["new"] == "open"


def test_reply_to_closed_ticket_starts_a_linked_ticket(app):
    first = ingest(inbound("質問", thread_key="<c1@x>", external_id="<c1@x>", sender="c@example.jp"))
    db.session.get(Ticket, first.ticket_id).status = "closed"
    db.session.commit()
    again = ingest(inbound("その後", external_id="<c2@x>", reply_to_keys=("<c1@x>",), sender="c@example.jp"))
    assert again.ticket_created and again.ticket_id != first.ticket_id
    assert db.session.get(Ticket, again.ticket_id).previous_ticket_id == first.ticket_id


def test_event_published_after_commit_only(app):
    seen = []

    def handler(message_id, **_):
        # The subscriber sees committed data, from a fresh session.
        seen.append(db.session.get(Message, message_id) is not None)

    bus.subscribe("message.ingested", handler)
    try:
        ingest(inbound("通知", external_id="ev1", sender="n@example.jp"))
        ingest(inbound("通知", external_id="ev1", sender="n@example.jp"))  # duplicate: no second event
    finally:
        bus.unsubscribe("message.ingested", handler)
    assert seen == [True]


def test_bad_input_names_fields_and_stores_nothing(app):
    try:
        ingest(inbound("x", channel="fax", sender="not-an-address"))
    except IngestError as exc:
        assert set(exc.errors) >= {"channel", "from"}
    assert count(Message) == 0 and count(Customer) == 0


def test_batch_commits_messages_with_cursor_and_skips_bad_ones(app):
    calls = []
    msgs = [inbound("a", external_id="b1", sender="same@example.jp"),
            inbound("b", external_id="b2", sender="same@example.jp"),
            inbound("c", external_id="b3", sender="not an address")]
    results = ingest_batch(msgs, advance_cursor=lambda: calls.append(1))
    assert [getattr(r, "status", "error") for r in results] == ["created", "created", "error"]
    assert calls == [1] and count(Customer) == 1


def test_two_racing_ingests_store_exactly_one_row(app):
    """Two threads ingest the same message at once; the unique constraint decides."""
    msg = inbound("同時", external_id="race-1", sender="race@example.jp")
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        with app.app_context():
            try:
                barrier.wait()
                results.append(ingest(msg).status)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sorted(results) == ["created", "duplicate"]
    assert count(Message) == 1 and count(Customer) == 1 and count(Identity) == 1


def test_x_identity_keeps_handle_and_updates_display(app):
    first = ingest(inbound("@shop 届いた", channel="x", kind="x", sender="12345", name="はなこ",
                           thread_key="c1", reply_to_keys=("c1",)))
    ingest(InboundFromX := inbound("ありがとう", channel="x", kind="x", sender="12345",
                                   name="はなこ🌸", thread_key="c1", reply_to_keys=("c1",)))
    identity = db.session.scalar(select(Identity).where(Identity.kind == "x"))
    assert identity.value == "12345" and identity.name == "はなこ🌸"
    assert db.session.scalar(select(func.count(Ticket.id))) == 1
    assert InboundFromX.sender == Sender("x", "12345", "はなこ🌸")
    assert first.customer_created
