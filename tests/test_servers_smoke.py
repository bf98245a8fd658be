"""Smoke tests for tests/servers: each real server starts, answers, and its
scripting helpers do what the other tests rely on."""
import smtplib
from email.message import EmailMessage

import pytest


def test_postgres_select_1_and_restart(postgres_server):
    import psycopg

    url = postgres_server.create_database("smoke")
    assert url == f"postgresql+psycopg://postgres@127.0.0.1:{postgres_server.port}/smoke"
    with psycopg.connect(postgres_server.dsn("smoke")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    postgres_server.restart()
    with psycopg.connect(postgres_server.dsn("smoke")) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("smoke",)


def _imap(dovecot):
    from imapclient import IMAPClient

    client = IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=10)
    client.login(dovecot.user, dovecot.password)
    return client


def test_dovecot_deliver_fetch_kill_and_uidvalidity(dovecot):
    raw = b"From: a@example.com\r\nSubject: hello\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n"
    dovecot.deliver(raw)
    client = _imap(dovecot)
    info = client.select_folder(dovecot.folder)
    assert info[b"EXISTS"] == 1
    [uid] = client.search()
    assert client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"] == raw

    # A message delivered while selected shows up on NOOP.
    dovecot.deliver(b"Subject: second\r\n\r\nx\r\n")
    client.noop()
    assert len(client.search()) == 2 and dovecot.message_count() == 2

    # Crash: the open session dies, a new one works after start().
    dovecot.kill()
    with pytest.raises(Exception):
        client.noop()
    dovecot.start()
    client = _imap(dovecot)
    assert client.select_folder("INBOX")[b"UIDVALIDITY"] == info[b"UIDVALIDITY"]
    client.logout()

    new = dovecot.change_uidvalidity()
    assert new != info[b"UIDVALIDITY"]
    client = _imap(dovecot)
    after = client.select_folder("INBOX")
    assert after[b"UIDVALIDITY"] == new and after[b"EXISTS"] == 2
    client.logout()


def test_dovecot_idle_sees_delivery(dovecot):
    client = _imap(dovecot)
    client.select_folder("INBOX")
    client.idle()
    dovecot.deliver(b"Subject: pushed\r\n\r\nx\r\n")
    responses = client.idle_check(timeout=5)
    client.idle_done()
    assert (1, b"EXISTS") in responses


def test_smtp_records_and_fails_on_demand(smtp_server):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "desk@tsunagu.test", "c@example.com", "件名"
    msg.set_content("こんにちは")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        smtp.send_message(msg)
    [got] = smtp_server.wait_for(1)
    assert got.mail_from == "desk@tsunagu.test" and got.rcpt_tos == ["c@example.com"]
    assert b"Subject: =?utf-8?b?" in got.data

    smtp_server.fail_next(1, code=451, text="try later")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as exc:
            smtp.sendmail("desk@tsunagu.test", ["c@example.com"], b"Subject: x\r\n\r\ny\r\n")
        assert exc.value.smtp_code == 451
        smtp.sendmail("desk@tsunagu.test", ["c@example.com"], b"Subject: x\r\n\r\ny\r\n")  # next one passes
    assert len(smtp_server.messages) == 2

    smtp_server.fail_next(1, code=550, text="no such user", stage="RCPT")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.sendmail("desk@tsunagu.test", ["gone@example.com"], b"Subject: x\r\n\r\ny\r\n")

    smtp_server.reset()
    smtp_server.set_auth("desk", "pw")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("desk", "wrong")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as smtp:
        smtp.login("desk", "pw")
        smtp.sendmail("desk@tsunagu.test", ["c@example.com"], b"Subject: x\r\n\r\ny\r\n")
    assert len(smtp_server.messages) == 1


def test_redis_ping(redis_server):
    import redis

    client = redis.Redis.from_url(redis_server.url)
    assert client.ping() is True
    client.set("k", "v")
    redis_server.flushall()
    assert client.get("k") is None


def test_browser_reads_title(new_context):
    page = new_context(locale="ja-JP").new_page()
    page.goto("data:text/html,<title>Tsunagu smoke</title><p>hi</p>")
    assert page.title() == "Tsunagu smoke"
    assert page.evaluate("navigator.language") == "ja-JP"
