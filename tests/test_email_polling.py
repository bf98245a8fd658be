"""Polling is idempotent and loses nothing: replays, crashes, UIDVALIDITY, several mailboxes."""
from __future__ import annotations

import threading
import time

from sqlalchemy import select

from app.channels.email.imap import mailboxes
from app.channels.email.poller import poll_mailbox
from app.channels.email.runner import start_due, wait_for_polls, watch
from app.extensions import db
from app.models import ChannelState, Message, RawSource, Ticket
from tests.data.mail import samples
from tests.email_helpers import configure, count, inbound, mailbox_entry, poll


def _deliver(dovecot, n: int, start: int = 0, folder: str = "INBOX") -> None:
    for i in range(start, start + n):
        dovecot.deliver(samples.simple(f"お問い合わせ {i}", f"本文 {i}", sender=f"c{i % 3}@example.jp",
                                       message_id=f"<m{i}@{folder.lower()}.example.jp>"), folder)


def _state(key: str) -> ChannelState:
    db.session.expire_all()
    return db.session.scalar(select(ChannelState).where(ChannelState.channel == "email", ChannelState.key == key))


def test_polling_twice_stores_each_message_once_and_advances_the_cursor(app, dovecot):
    configure(app, dovecot, EMAIL_BATCH_SIZE=4)
    _deliver(dovecot, 10)
    [first] = poll(app)
    assert (first.fetched, first.created, first.batches) == (10, 10, 3)
    [second] = poll(app)
    assert (second.fetched, second.created) == (0, 0)
    state = _state(first.mailbox)
    assert state.cursor["last_uid"] == 10 and state.cursor["uidvalidity"] == dovecot.uidvalidity()
    assert state.last_success_at is not None and state.last_error is None and state.lease_owner is None

    # A replay from scratch (a lost cursor) is absorbed by the (channel, external_id) constraint.
    state.cursor = {}
    db.session.commit()
    [replay] = poll(app)
    assert (replay.fetched, replay.created, replay.duplicates) == (10, 0, 10)
    assert count() == 10 and count(RawSource) == 10


def test_dovecot_killed_mid_poll_and_restarted_loses_and_duplicates_nothing(app, dovecot):
    configure(app, dovecot, EMAIL_BATCH_SIZE=3)
    _deliver(dovecot, 10)
    crashes = []

    def crash_after_first_batch(result):
        if result.batches == 1 and not crashes:
            crashes.append(1)
            dovecot.kill()  # SIGKILL: the poller's open session dies with the server
            dovecot.start()  # ...and comes back; the next FETCH on the dead session fails

    [box] = mailboxes(app.config)
    result = poll_mailbox(box, after_batch=crash_after_first_batch, max_reconnects=3)
    assert crashes and result.error is None, result.error
    assert (result.fetched, result.created) == (10, 10)
    assert count() == 10
    assert sorted(m.external_id for m in db.session.scalars(select(Message))) == \
        sorted(f"<m{i}@inbox.example.jp>" for i in range(10))
    [again] = poll(app)
    assert again.fetched == 0 and count() == 10


def test_a_failure_before_commit_replays_the_batch_on_the_next_poll(app, dovecot):
    configure(app, dovecot, EMAIL_BATCH_SIZE=4)
    _deliver(dovecot, 8)

    def fail_after_first_batch(result):
        if result.batches == 1:
            dovecot.kill()

    [box] = mailboxes(app.config)
    failed = poll_mailbox(box, after_batch=fail_after_first_batch, max_reconnects=0)
    assert failed.error and failed.created == 4
    state = _state(box.key)
    assert state.cursor["last_uid"] == 4 and state.last_error and state.lease_owner is None

    dovecot.start()
    [resumed] = poll(app)
    assert (resumed.fetched, resumed.created) == (4, 4)
    assert count() == 8 and _state(box.key).last_error is None


def test_uidvalidity_change_rescans_without_duplicates(app, dovecot):
    configure(app, dovecot)
    _deliver(dovecot, 5)
    poll(app)
    old = _state(f"{dovecot.user}/INBOX").cursor["uidvalidity"]
    new = dovecot.change_uidvalidity()
    _deliver(dovecot, 2, start=5)
    [result] = poll(app)
    assert result.rescanned and (result.fetched, result.created, result.duplicates) == (7, 2, 5)
    state = _state(result.mailbox)
    assert new != old and state.cursor == {"uidvalidity": new, "last_uid": 7}
    assert count() == 7


def test_a_message_id_reused_for_other_content_is_kept_as_its_own_message(app, dovecot):
    configure(app, dovecot)
    dovecot.deliver(samples.simple("一通目", "最初の本文", message_id="<same@example.jp>"))
    poll(app)
    dovecot.deliver(samples.simple("二通目", "別の本文", message_id="<same@example.jp>"))
    poll(app)
    assert count() == 2
    assert inbound("<same@example.jp>").body_text == "最初の本文"
    other = db.session.scalar(select(Message).where(Message.external_id.like("<same@example.jp>#%")))
    assert other.body_text == "別の本文" and other.parse_error is None


def test_two_mailboxes_are_polled_independently_by_the_worker(app, dovecot):
    configure(app, dovecot, folders=("INBOX", "Returns"), EMAIL_RECONNECTS=1)
    app.config["EMAIL_MAILBOXES"].append(mailbox_entry(dovecot, key="broken", port=1, timeout=2))
    _deliver(dovecot, 3)
    _deliver(dovecot, 2, start=100, folder="Returns")
    dovecot.deliver(samples.with_attachment(3 * 1024 * 1024, "<big-return@example.jp>"), "Returns")

    started = start_due(app)
    assert set(started.values()) == {"started"} and len(started) == 3
    results = wait_for_polls(app, timeout=60)
    assert results[f"{dovecot.user}/INBOX"].created == 3
    assert results[f"{dovecot.user}/Returns"].created == 3
    assert results["broken"].error
    assert _state("broken").last_error and _state(f"{dovecot.user}/Returns").last_error is None
    assert inbound("<m100@returns.example.jp>").meta["mailbox"] == f"{dovecot.user}/Returns"
    assert start_due(app)[f"{dovecot.user}/INBOX"] == "waiting"  # not due again before EMAIL_POLL_SECONDS
    assert count() == 6 and count(Ticket) == 6  # different subjects: one ticket each


def test_cli_poll_email_once(app, dovecot, runner):
    configure(app, dovecot)
    _deliver(dovecot, 2)
    out = runner.invoke(args=["poll", "email", "--once"])
    assert out.exit_code == 0, out.output
    assert "2 fetched, 2 new" in out.output
    db.session.expire_all()
    assert count() == 2


def test_watch_uses_idle_to_pick_up_new_mail_at_once(app, dovecot):
    configure(app, dovecot, EMAIL_IDLE_SECONDS=600, EMAIL_POLL_SECONDS=600)
    [box] = mailboxes(app.config)
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(app, box, stop))
    watcher.start()
    try:
        deadline = time.monotonic() + 10
        while (_state(box.key) is None or _state(box.key).last_success_at is None) and time.monotonic() < deadline:
            time.sleep(0.05)  # the first (empty) poll is done: what follows can only come via IDLE
        db.session.rollback()
        time.sleep(1.0)  # let the watcher reach IDLE (mail already there is caught before IDLE, too)
        _deliver(dovecot, 1)
        deadline = time.monotonic() + 10  # far below EMAIL_POLL_SECONDS: only IDLE can be this quick
        while count() < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
            db.session.rollback()
        assert count() == 1
    finally:
        stop.set()
        watcher.join(15)
    assert not watcher.is_alive()
