"""ingest_batch(): the batched lookups give the same answers as one message at a time, and
`message.ingested` reaches batch subscribers once per batch (app.bus.publish_many)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from app import bus
from app.extensions import db
from app.ingest import IngestError, IngestResult, ingest, ingest_batch
from app.models import Customer, Identity, Message, RawSource, RetentionCase, Ticket
from tests.factories import inbound


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_batch_threads_onto_messages_and_customers_new_in_the_same_batch(app):
    t0 = datetime.now(timezone.utc) - timedelta(minutes=30)
    msgs = [
        inbound("最初", external_id="<a1@x>", sender="new@example.jp", thread_key="<a1@x>", created_at=t0,
                raw=b"raw-1"),
        inbound("返信", external_id="<a2@x>", sender="NEW@example.jp", thread_key="<a2@x>",
                reply_to_keys=("<a1@x>",), created_at=t0 + timedelta(minutes=1), raw=b"raw-1"),
        # Another new sender citing the first one's thread: never joins someone else's ticket.
        inbound("横入り", external_id="<b1@x>", sender="other@example.jp", reply_to_keys=("<a1@x>",),
                created_at=t0 + timedelta(minutes=2)),
        # Same subject, same (new) customer, no reply headers: joins by subject (carrier mail).
        inbound("件名で", external_id="<a3@x>", sender="new@example.jp", subject="Re: お問い合わせ",
                match_subject=True, created_at=t0 + timedelta(minutes=3)),
        # The same message twice in one poll: stored once.
        inbound("最初", external_id="<a1@x>", sender="new@example.jp", thread_key="<a1@x>", created_at=t0,
                raw=b"raw-1"),
        inbound("bad", external_id="<c1@x>", sender="not an address"),
    ]
    results = ingest_batch(msgs)
    assert [getattr(r, "status", "error") for r in results] == [
        "created", "created", "created", "created", "duplicate", "error"]
    first, reply, other, by_subject, dup, bad = results
    assert isinstance(bad, IngestError)
    assert reply.ticket_id == first.ticket_id == by_subject.ticket_id and first.ticket_created
    assert not reply.ticket_created and not reply.customer_created and reply.customer_id == first.customer_id
    assert other.ticket_id != first.ticket_id and other.customer_id != first.customer_id
    assert dup.message_id == first.message_id
    assert (count(Message), count(Ticket), count(Customer), count(Identity), count(RawSource)) == (4, 2, 2, 2, 1)
    ticket = db.session.get(Ticket, first.ticket_id)
    assert ticket.last_activity_at == t0 + timedelta(minutes=3)
    assert db.session.get(Message, reply.message_id).raw.content == b"raw-1"


def test_a_batch_continues_stored_tickets_like_single_ingest(app):
    stored = ingest(inbound("前回", external_id="<s1@x>", sender="old@example.jp", thread_key="<s1@x>"))
    ticket = db.session.get(Ticket, stored.ticket_id)
    ticket.status = "solved"
    db.session.commit()
    results = ingest_batch([
        inbound("また", external_id="<s2@x>", sender="old@example.jp", reply_to_keys=("<s1@x>",)),
        inbound("別件", external_id="<s3@x>", sender="old@example.jp", subject="別件"),
    ])
    assert results[0].ticket_id == stored.ticket_id and results[0].ticket_reopened
    assert results[1].ticket_created and results[1].customer_id == stored.customer_id
    assert db.session.get(Ticket, stored.ticket_id).status == "open"


def test_batch_subscribers_get_the_batch_once_others_each_event(app):
    seen_batches, seen_single = [], []

    def single(message_id: int, **_):
        seen_single.append(message_id)

    def batched(payloads):
        seen_batches.append([p["message_id"] for p in payloads])

    def every(message_id: int, **_):
        seen_single.append(("every", message_id))

    bus.subscribe("message.ingested", single)
    bus.subscribe_batch("message.ingested", batched, single=single)
    bus.subscribe("message.ingested", every)
    try:
        results = ingest_batch([inbound("1"), inbound("2")])
        ids = [r.message_id for r in results]
        assert seen_batches == [ids] and seen_single == [("every", i) for i in ids]
        one = ingest(inbound("3"))  # a single message: the per-event handler, as before
        assert seen_single[-2:] == [one.message_id, ("every", one.message_id)] and len(seen_batches) == 1
    finally:
        bus.unsubscribe("message.ingested", single)
        bus.unsubscribe("message.ingested", every)
    assert all(fn is not batched for fn, _ in bus._batch_handlers["message.ingested"])


def test_a_failing_batch_handler_falls_back_to_one_event_at_a_time(app):
    seen = []

    def single(message_id: int, **_):
        seen.append(message_id)

    def broken(payloads):
        raise RuntimeError("boom")

    bus.subscribe("message.ingested", single)
    bus.subscribe_batch("message.ingested", broken, single=single)
    try:
        results = ingest_batch([inbound("1"), inbound("2")])
        assert seen == [r.message_id for r in results]
    finally:
        bus.unsubscribe("message.ingested", single)


def test_cancellation_requests_in_a_batch_are_flagged_in_one_go(app):
    results = ingest_batch([
        inbound("定期便を解約したいです。", sender="a@example.jp"),
        inbound("商品が届きません", sender="b@example.jp"),
        inbound("Please cancel my subscription.", sender="c@example.jp", auto_submitted=True),
        inbound("I want to cancel my subscription, it is too expensive.", sender="d@example.jp"),
    ])
    flagged = {t.id: t.intent_reason for t in db.session.scalars(
        select(Ticket).where(Ticket.intent == "cancellation"))}
    assert flagged == {results[0].ticket_id: "other", results[3].ticket_id: "price"}
    assert count(RetentionCase) == 2
    assert db.session.get(Ticket, results[3].ticket_id).priority == "high"
