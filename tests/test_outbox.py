"""Outbox delivery rules, independent of any one channel: claims, backoff, failure, retry, release.

A small recording adapter stands in for a channel here; the real channels' delivery is tested
against real servers in their own test modules.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.channels import registry
from app.channels.base import ChannelAdapter, DeliveryResult, PermanentFailure, TemporaryFailure
from app.extensions import db
from app.models import Message, OutboxItem, utcnow
from app.outbox import claim_due, deliver_due, enqueue, retry
from app.outbox.service import release
from tests.factories import make_ticket


class Recorder(ChannelAdapter):
    name = "recorder"
    identity_kind = "email"
    can_reply = True
    sent: list[int] = []
    script: list[Exception] = []
    lock = threading.Lock()

    def deliver(self, outbound):
        with self.lock:
            if self.script:
                raise self.script.pop(0)
            self.sent.append(outbound.message_id)
        return DeliveryResult(external_id=f"rec-{outbound.message_id}", meta={"ok": True})


@pytest.fixture
def recorder(app):
    registry.register(Recorder)
    Recorder.sent, Recorder.script = [], []
    yield Recorder


def queue_reply(n: int = 1) -> list[int]:
    ticket, _ = make_ticket()
    ids = []
    for i in range(n):
        message = Message(ticket_id=ticket.id, customer_id=ticket.customer_id, channel="recorder",
                          direction="out", body_text=f"返信 {i}")
        db.session.add(message)
        enqueue(message)
        db.session.flush()
        ids.append(message.id)
    db.session.commit()
    return ids


def item_for(message_id: int) -> OutboxItem:
    db.session.expire_all()
    return db.session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id))


def test_delivery_marks_sent_and_records_external_id(recorder):
    [mid] = queue_reply()
    assert deliver_due() == {"sent": 1}
    item = item_for(mid)
    assert item.status == "sent" and item.message.external_id == f"rec-{mid}"
    assert deliver_due() == {}  # nothing is sent twice
    assert recorder.sent == [mid]


def test_temporary_failure_backs_off_then_succeeds(recorder):
    [mid] = queue_reply()
    recorder.script = [TemporaryFailure("451 try later")]
    assert deliver_due() == {"queued": 1}
    item = item_for(mid)
    assert item.last_error == "451 try later" and item.next_attempt_at > utcnow()
    assert deliver_due() == {}  # not due yet
    item.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert deliver_due() == {"sent": 1} and recorder.sent == [mid]


def test_retry_after_from_the_channel_is_honoured(recorder):
    [mid] = queue_reply()
    recorder.script = [TemporaryFailure("429", retry_after=900)]
    deliver_due()
    wait = (item_for(mid).next_attempt_at - utcnow()).total_seconds()
    assert 850 < wait <= 900


def test_permanent_failure_is_visible_and_retry_requeues(recorder):
    [mid] = queue_reply()
    recorder.script = [PermanentFailure("550 no such user")]
    assert deliver_due() == {"failed": 1}
    item = item_for(mid)
    assert item.status == "failed" and item.last_error == "550 no such user"
    assert item.message.delivery_status == "failed"
    retry(item.id)
    assert deliver_due() == {"sent": 1}


def test_too_many_attempts_fail(app, recorder):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    [mid] = queue_reply()
    recorder.script = [TemporaryFailure("down"), TemporaryFailure("down")]
    deliver_due()
    item = item_for(mid)
    item.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert deliver_due() == {"failed": 1}


def test_graceful_stop_releases_unattempted_claims(recorder):
    ids = queue_reply(3)
    calls = iter([False, True, True])
    assert deliver_due(should_stop=lambda: next(calls)) == {"sent": 1}
    statuses = sorted(item_for(i).status for i in ids)
    assert statuses == ["queued", "queued", "sent"]
    assert all(item_for(i).claimed_by is None for i in ids)


def test_expired_claim_of_a_dead_worker_is_taken_over(recorder):
    [mid] = queue_reply()
    assert claim_due("dead-worker") == [item_for(mid).id]
    assert claim_due("other") == []  # still claimed
    item = item_for(mid)
    item.claimed_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert deliver_due(owner="other") == {"sent": 1}


def test_release_only_touches_own_claims(recorder):
    [mid] = queue_reply()
    [item_id] = claim_due("a")
    release([item_id], "b")
    assert item_for(mid).status == "sending"
    release([item_id], "a")
    assert item_for(mid).status == "queued"


def test_concurrent_workers_deliver_each_row_once(app, recorder):
    ids = queue_reply(30)
    errors = []

    def worker(name):
        with app.app_context():
            try:
                for _ in range(5):
                    deliver_due(owner=name, limit=7)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(recorder.sent) == sorted(ids)
