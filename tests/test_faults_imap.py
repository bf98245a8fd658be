"""Fault injection on the IMAP side, against a real Dovecot: crashes, resets, bad mail, bad logins,
two pollers. Every test ends by counting: each delivered message stored exactly once.

"Killed" is simulated by raising from inside the poll at the named point (a Tsunagu function is
wrapped, never imapclient's internals); a real kill can only stop earlier, never later, than the
exception does, and leaves the same database state (an uncommitted transaction is discarded).
"""
from __future__ import annotations

import imaplib
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.channels.email import poller as email_poller
from app.channels.email import runner as email_runner
from app.channels.email.imap import ImapSession, mailboxes
from app.channels.email.poller import poll_mailbox
from app.channels.email.runner import start_due, watch
from app.extensions import db
from app.models import ChannelState, Message, RawSource, utcnow
from tests.data.mail import samples
from tests.email_helpers import configure, count, inbound, poll


class Killed(BaseException):
    """Stands for the process dying where it is raised: like SystemExit, no `except Exception` in
    the poller absorbs it, so nothing after that point runs except `finally` blocks."""


def _deliver(dovecot, n: int, start: int = 0) -> list[str]:
    ids = []
    for i in range(start, start + n):
        ids.append(f"<fault{i}@example.jp>")
        dovecot.deliver(samples.simple(f"障害試験 {i}", f"本文 {i}", sender=f"f{i % 4}@example.jp",
                                       message_id=ids[-1]))
    return ids


def _state(key: str) -> ChannelState:
    db.session.expire_all()
    return db.session.scalar(select(ChannelState).where(ChannelState.channel == "email", ChannelState.key == key))


def _stored_once(expected: list[str]) -> None:
    """Nothing lost, nothing doubled: exactly the expected external ids, each once."""
    db.session.expire_all()
    stored = sorted(db.session.scalars(select(Message.external_id).where(Message.channel == "email")))
    assert stored == sorted(expected)


def test_killed_after_fetch_before_commit_replays_the_batch_without_loss_or_duplicates(app, dovecot, monkeypatch):
    configure(app, dovecot, EMAIL_BATCH_SIZE=4)
    ids = _deliver(dovecot, 10)
    real_ingest_batch = email_poller.ingest_batch
    calls = []

    def dies_inside_the_transaction(msgs, advance_cursor=None):
        calls.append(len(msgs))

        def advance_then_die():
            advance_cursor()  # messages flushed and the cursor moved: all still uncommitted
            if len(calls) == 2:
                raise Killed("process killed before COMMIT of batch 2")

        return real_ingest_batch(msgs, advance_cursor=advance_then_die)

    monkeypatch.setattr(email_poller, "ingest_batch", dies_inside_the_transaction)
    [box] = mailboxes(app.config)
    with pytest.raises(Killed):
        poll_mailbox(box)
    state = _state(box.key)
    assert state.cursor["last_uid"] == 4  # batch 2 never committed: neither its rows nor its cursor
    assert count() == 4 and count(RawSource) == 8  # raw bytes of batch 2 were kept before parsing

    # A killed process cannot release its lease: leave it as a dead worker would, expired.
    state.lease_owner, state.lease_until = "dead-host:4242:email-poll", utcnow() - timedelta(seconds=1)
    db.session.commit()
    monkeypatch.setattr(email_poller, "ingest_batch", real_ingest_batch)
    [resumed] = poll(app)
    assert (resumed.fetched, resumed.created, resumed.duplicates) == (6, 6, 0)
    _stored_once(ids)
    assert count(RawSource) == 10 and _state(box.key).last_error is None


def test_killed_after_commit_replays_nothing_and_flags_are_never_touched(app, dovecot):
    """The poller never sets IMAP flags (EXAMINE + BODY.PEEK[]): there is no 'after commit, before
    \\Seen' window at all. A death right after a batch's commit loses and repeats nothing."""
    configure(app, dovecot, EMAIL_BATCH_SIZE=3)
    ids = _deliver(dovecot, 7)

    def die_after_first_commit(result):
        raise Killed("process killed right after the commit of batch 1")

    [box] = mailboxes(app.config)
    with pytest.raises(Killed):
        poll_mailbox(box, after_batch=die_after_first_commit)
    assert count() == 3 and _state(box.key).cursor["last_uid"] == 3
    [resumed] = poll(app)
    assert (resumed.fetched, resumed.created, resumed.duplicates) == (4, 4, 0)  # batch 1 not fetched again
    _stored_once(ids)

    imap = imaplib.IMAP4(dovecot.host, dovecot.port)
    try:
        imap.login(dovecot.user, dovecot.password)
        imap.select("INBOX", readonly=True)
        typ, data = imap.fetch("1:*", "(FLAGS)")
        assert typ == "OK" and len(data) == 7
        assert not any(b"\\Seen" in line or b"\\Deleted" in line for line in data)
    finally:
        imap.logout()


def test_connection_reset_in_the_middle_of_a_batch_fetch(app, dovecot, monkeypatch):
    configure(app, dovecot, EMAIL_BATCH_SIZE=4)
    ids = _deliver(dovecot, 10)
    real_fetch = ImapSession.fetch
    resets = []

    def reset_during_second_fetch(self, uids):
        if len(resets) == 0 and uids[0] > 4:  # the second batch's FETCH, on the open session
            resets.append(uids)
            dovecot.kill()  # SIGKILL: the socket dies under the FETCH
            dovecot.start()
        return real_fetch(self, uids)

    monkeypatch.setattr(ImapSession, "fetch", reset_during_second_fetch)
    [box] = mailboxes(app.config)
    result = poll_mailbox(box, max_reconnects=3)
    assert resets and result.error is None, result.error
    assert (result.fetched, result.created) == (10, 10)
    _stored_once(ids)
    [again] = poll(app)
    assert again.fetched == 0
    _stored_once(ids)


def test_connection_reset_during_idle_recovers_and_picks_up_new_mail(app, dovecot):
    configure(app, dovecot, EMAIL_IDLE_SECONDS=600, EMAIL_POLL_SECONDS=600)
    before = _deliver(dovecot, 2)
    [box] = mailboxes(app.config)
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(app, box, stop), name="idle-watch")
    watcher.start()
    try:
        _wait_until(lambda: count() == 2, 10)
        time.sleep(1.0)  # the watcher is now inside IDLE
        dovecot.kill()  # connection reset under IDLE
        dovecot.start()
        after = _deliver(dovecot, 3, start=2)
        _wait_until(lambda: count() == 5, 20)
    finally:
        stop.set()
        watcher.join(20)
    assert not watcher.is_alive()
    _stored_once(before + after)


def _wait_until(predicate, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        if predicate():
            return
        time.sleep(0.1)
    db.session.rollback()
    assert predicate()


def test_unparseable_message_in_the_middle_of_a_batch_is_quarantined_and_the_rest_flows(
        app, dovecot, client, login_as, supervisor):
    configure(app, dovecot, EMAIL_BATCH_SIZE=10)
    ids = _deliver(dovecot, 3)
    bomb = (b"From: Bomb <bomb@example.jp>\r\nSubject: nested\r\nMessage-ID: <mid-bomb@example.jp>\r\n"
            b"MIME-Version: 1.0\r\n" + b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n'
                                               % (i, i) for i in range(3000))
            + b"Content-Type: text/plain\r\n\r\nhi\r\n")
    dovecot.deliver(bomb)
    ids += _deliver(dovecot, 3, start=3) + ["<mid-bomb@example.jp>"]
    [result] = poll(app)
    assert (result.fetched, result.created, result.unreadable, result.batches) == (7, 7, 1, 1)
    _stored_once(ids)
    bad = inbound("<mid-bomb@example.jp>")
    assert bad.parse_error and "could not read this message" in bad.parse_error
    assert all(inbound(i).parse_error is None for i in ids if i != "<mid-bomb@example.jp>")

    login_as(supervisor)
    page = client.get(f"/tickets/{bad.ticket_id}")
    assert page.status_code == 200 and "could not read this message" in page.get_data(as_text=True)
    raw = client.get(f"/messages/{bad.id}/raw")
    assert raw.status_code == 200 and raw.data == bomb
    assert raw.headers["Content-Disposition"].startswith("attachment")


def test_wrong_credentials_show_a_clear_status_and_back_off(app, dovecot, monkeypatch):
    configure(app, dovecot, EMAIL_POLL_SECONDS=600, EMAIL_RECONNECTS=3)
    app.config["EMAIL_MAILBOXES"][0]["password"] = "wrong-password"
    ids = _deliver(dovecot, 2)
    [box] = mailboxes(app.config)

    started = time.monotonic()
    result = poll_mailbox(box, max_reconnects=3)
    elapsed = time.monotonic() - started
    assert result.error and "authentication" in result.error.lower()
    assert elapsed < 2.0  # a refused login is not retried with reconnect back-off within the poll
    state = _state(box.key)
    assert "authentication" in state.last_error.lower() and state.last_error_at is not None
    assert state.lease_owner is None and count() == 0

    # The worker does not hammer the server: the next poll waits for EMAIL_POLL_SECONDS.
    assert start_due(app)[box.key] == "started"
    email_runner.wait_for_polls(app, timeout=20)
    assert start_due(app)[box.key] == "waiting"

    # `flask poll email` (watch) backs off exponentially after each failed poll.
    polls = []
    real = email_runner.poll_mailbox

    def counting(*args, **kwargs):
        polls.append(time.monotonic())
        return real(*args, **kwargs)

    monkeypatch.setattr(email_runner, "poll_mailbox", counting)
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(app, box, stop))
    watcher.start()
    time.sleep(4.0)
    stop.set()
    watcher.join(20)
    assert 1 <= len(polls) <= 2, polls  # 2 s, 4 s, 8 s ... between attempts, not a tight loop

    # Fixed credentials: the next poll stores everything, the status clears.
    app.config["EMAIL_MAILBOXES"][0]["password"] = dovecot.password
    poll(app)
    _stored_once(ids)
    assert _state(box.key).last_error is None


@pytest.mark.parametrize("lease_holds", [True, False], ids=["lease", "lease-expired-mid-poll"])
def test_two_pollers_on_one_mailbox_store_each_message_once(app, dovecot, monkeypatch, lease_holds):
    """Two workers poll one mailbox at the same moment. With the lease one of them skips; with a
    lease that expires under a slow poller both run at once, and the unique constraints decide."""
    configure(app, dovecot, EMAIL_BATCH_SIZE=5)
    ids = _deliver(dovecot, 20)
    if not lease_holds:
        app.config["EMAIL_LEASE_SECONDS"] = -60  # every lease is already expired
    [box] = mailboxes(app.config)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        with app.app_context():
            try:
                barrier.wait()
                results.append(poll_mailbox(box, after_batch=lambda r: time.sleep(0.05)))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, name=f"poller-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 2, errors
    assert all(r.error is None for r in results), [r.error for r in results]
    if lease_holds:
        assert sorted(r.skipped for r in results) == [False, True]
    else:
        assert not any(r.skipped for r in results)
    assert sum(r.created for r in results) == 20
    _stored_once(ids)
    assert count(RawSource) == 20
