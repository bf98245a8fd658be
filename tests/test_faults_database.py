"""Database faults: many concurrent writers (SQLite's single write lock), and PostgreSQL restarted
in the middle of a mailbox poll, between batches and inside a batch's transaction."""
from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import func, select

from app import create_app
from app.channels.email import poller as email_poller
from app.channels.email.imap import mailboxes
from app.channels.email.poller import poll_mailbox
from app.channels.email.runner import start_due, wait_for_polls
from app.extensions import db
from app.ingest import IngestResult, ingest, ingest_batch
from app.models import ChannelState, Customer, Identity, Message
from app.worker import run_once
from config import TestingConfig
from tests.data.mail import samples
from tests.email_helpers import configure
from tests.factories import inbound


def _count(model=Message) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_concurrent_writers_never_surface_database_is_locked(app):
    """Six workers ingest the same 60 messages at once, each in its own order, some one by one
    and some in cursor batches: no 'database is locked' (or any) error reaches them, and every
    message, customer and identity exists exactly once."""
    msgs = [inbound(f"同時書き込み {i}", channel="email", external_id=f"<lock{i}@example.jp>",
                    sender=f"writer{i % 10}@example.jp", subject=f"件名 {i}") for i in range(60)]
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []
    created: list[int] = []

    def worker(n: int) -> None:
        order = msgs[:]
        random.Random(n).shuffle(order)
        with app.app_context():
            try:
                barrier.wait()
                if n % 2:
                    for start in range(0, len(order), 6):
                        results = ingest_batch(order[start:start + 6], advance_cursor=lambda: None)
                        created.extend(1 for r in results if isinstance(r, IngestResult) and r.status == "created")
                else:
                    for msg in order:
                        created.extend([1] if ingest(msg).status == "created" else [])
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(created) == 60
    assert _count() == 60 and _count(Customer) == 10 and _count(Identity) == 10
    assert sorted(db.session.scalars(select(Message.external_id))) == sorted(m.external_id for m in msgs)


# --- PostgreSQL restarted under a poll ---------------------------------------------------------

@pytest.fixture
def pg_app(postgres_server, tmp_path):
    """An app on its own PostgreSQL database (this fault only exists there), whatever
    TSUNAGU_TEST_BACKENDS says."""
    url = postgres_server.create_database("tsunagu_faults")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=str(tmp_path / "instance"),
                     SEARCH_INDEX_DIR=str(tmp_path / "search-index"))
    with app.app_context():
        db.create_all()
        try:
            yield app
        finally:
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()


def _deliver(dovecot, n: int) -> list[str]:
    ids = [f"<pg{i}@example.jp>" for i in range(n)]
    for i, mid in enumerate(ids):
        dovecot.deliver(samples.simple(f"再起動試験 {i}", f"本文 {i}", sender=f"p{i % 3}@example.jp", message_id=mid))
    return ids


def _stored_once(ids: list[str]) -> None:
    db.session.rollback()
    assert sorted(db.session.scalars(select(Message.external_id))) == sorted(ids)


def test_postgres_restarted_between_batches_the_poll_carries_on(pg_app, postgres_server, dovecot):
    configure(pg_app, dovecot, EMAIL_BATCH_SIZE=4)
    ids = _deliver(dovecot, 12)
    restarts = []

    def restart_after_first_batch(result):
        if not restarts:
            restarts.append(1)
            postgres_server.restart()  # every pooled connection is now dead

    [box] = mailboxes(pg_app.config)
    result = poll_mailbox(box, after_batch=restart_after_first_batch)
    assert restarts and result.error is None, result.error  # pool_pre_ping replaced the dead connections
    assert (result.fetched, result.created) == (12, 12)
    _stored_once(ids)


def test_postgres_restarted_inside_a_batch_the_worker_recovers_and_loses_nothing(
        pg_app, postgres_server, dovecot, monkeypatch):
    configure(pg_app, dovecot, EMAIL_BATCH_SIZE=4, EMAIL_POLL_SECONDS=0)
    ids = _deliver(dovecot, 12)
    real_ingest_batch = email_poller.ingest_batch
    batches = []

    def restart_before_commit(msgs, advance_cursor=None):
        batches.append(len(msgs))

        def advance_then_restart():
            advance_cursor()
            if len(batches) == 2:
                postgres_server.restart()  # the open transaction of batch 2 dies before COMMIT

        return real_ingest_batch(msgs, advance_cursor=advance_then_restart)

    monkeypatch.setattr(email_poller, "ingest_batch", restart_before_commit)
    [box] = mailboxes(pg_app.config)
    failed = poll_mailbox(box)
    assert failed.error and "OperationalError" in failed.error and failed.created == 4
    state = db.session.scalar(select(ChannelState).where(ChannelState.key == box.key))
    assert state.cursor["last_uid"] == 4 and state.last_error and state.lease_owner is None
    assert _count() == 4

    # The worker's next run (its poll threads use new pooled connections) takes up from the cursor.
    run_once(pg_app)
    results = wait_for_polls(pg_app, timeout=60)
    assert results[box.key].error is None and results[box.key].created == 8
    _stored_once(ids)
    assert start_due(pg_app)[box.key] == "started"  # and it keeps polling: nothing new, nothing doubled
    wait_for_polls(pg_app, timeout=60)
    _stored_once(ids)
