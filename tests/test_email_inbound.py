"""Inbound email content through the real path: Maildir -> Dovecot -> imapclient -> ingest.

Every charset case of tests/data/mail/samples.py with its expected subject and body; HTML
sanitising; attachments (5 MB, over the limit, inline cid:); broken MIME; no Message-ID; a
message the parser cannot handle stays visible with its raw source.
"""
from __future__ import annotations

import hashlib

import pytest

from app.channels.email.mime import parse_message
from app.extensions import db
from app.models import Attachment, RawSource
from tests.data.mail import samples
from tests.email_helpers import configure, count, inbound, poll

CASES = samples.charset_cases()


@pytest.mark.parametrize("name,raw,subject,body", CASES, ids=[c[0] for c in CASES])
def test_parser_decodes_each_charset_case(name, raw, subject, body):
    msg = parse_message(raw)
    assert msg.parse_error is None
    assert msg.subject == subject
    assert body in msg.body_text
    assert "\ufffd" not in msg.subject + msg.body_text


def test_every_charset_case_arrives_decoded_through_imap(app, dovecot):
    configure(app, dovecot)
    for _name, raw, _subject, _body in CASES:
        dovecot.deliver(raw)
    [result] = poll(app)
    assert (result.fetched, result.created) == (len(CASES), len(CASES))
    for name, raw, subject, body in CASES:
        message = inbound(parse_message(raw).external_id)
        assert message.subject == subject, name
        assert body in message.body_text, name
        assert message.parse_error is None, name
        assert db.session.get(RawSource, message.raw_id).content == raw, name
    sender = inbound(parse_message(CASES[0][1]).external_id).customer.identity("email")
    assert sender.value == "hanako@example.jp" and sender.name == "Hanako Yamada"


def test_html_is_sanitised_and_remote_images_wait_for_a_click(app, dovecot):
    configure(app, dovecot)
    dovecot.deliver(samples.xss_message())
    poll(app)
    html = inbound("<xss@example.com>").body_html
    lowered = html.lower()
    for probe in ("<script", "onerror", "javascript:", "<svg", "onload", "expression(", "style=", "<form",
                  "<input", "<iframe", "evil.example"):
        assert probe not in lowered, probe
    assert 'data-src="https://tracker.example/open.gif?u=1"' in html
    assert ' src="https://tracker.example' not in html
    assert 'src="cid:logo@shop"' in html
    assert 'href="https://shop.example/order/1"' in html and 'rel="noopener noreferrer nofollow"' in html
    [logo] = inbound("<xss@example.com>").attachments
    assert (logo.content_id, logo.content_type, logo.data[:4]) == ("logo@shop", "image/png", b"\x89PNG")


def test_a_5mb_attachment_is_stored_and_one_over_the_limit_is_flagged(app, dovecot):
    configure(app, dovecot, MAX_ATTACHMENT_BYTES=10 * 1024 * 1024)
    size = 5 * 1024 * 1024
    dovecot.deliver(samples.with_attachment(size, "<five@example.jp>"))
    poll(app)
    [photo] = inbound("<five@example.jp>").attachments
    assert (photo.filename, photo.size, photo.oversize) == ("破損写真.jpg", size, False)
    assert photo.sha256 == hashlib.sha256(bytes(range(256)) * (size // 256)).hexdigest()
    assert len(photo.data) == size

    app.config["MAX_ATTACHMENT_BYTES"] = 1024 * 1024
    dovecot.deliver(samples.with_attachment(size, "<over@example.jp>"))
    poll(app)
    message = inbound("<over@example.jp>")
    [big] = message.attachments
    assert (big.size, big.oversize, big.data) == (size, True, None)
    assert message.raw.size > size  # the bytes stay downloadable in the raw source
    assert message.body_text == "破損した商品の写真です。"


def test_broken_boundary_is_salvaged_and_no_message_id_falls_back_to_a_hash(app, dovecot):
    configure(app, dovecot)
    broken = (b"From: a@example.jp\r\nSubject: broken\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/mixed; boundary=\"DECLARED\"\r\n\r\n"
              b"--ACTUAL\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
              + "境界が壊れたメール".encode() + b"\r\n--ACTUAL\r\nContent-Type: application/pdf; name=a.pdf\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--ACTUAL--\r\n")
    no_boundary = (b"From: b@example.jp\r\nSubject: nothing\r\nMIME-Version: 1.0\r\n"
                   b"Content-Type: multipart/mixed\r\n\r\n" + "境界なし".encode("cp932") + b"\r\n")
    dovecot.deliver(broken)
    dovecot.deliver(no_boundary)
    poll(app)
    poll(app)
    first = inbound("sha256:" + hashlib.sha256(broken).hexdigest())
    assert first.body_text == "境界が壊れたメール" and first.thread_key is None
    assert [(a.filename, a.data) for a in first.attachments] == [("a.pdf", b"%PDF-")]
    assert "StartBoundaryNotFoundDefect" in first.meta["defects"]
    second = inbound("sha256:" + hashlib.sha256(no_boundary).hexdigest())
    assert second.body_text == "境界なし"
    assert count(Attachment) == 1 and count() == 2


def test_a_message_the_parser_cannot_handle_is_stored_visibly_with_its_raw(app, dovecot):
    configure(app, dovecot)
    bomb = (b"From: Bomb <bomb@example.jp>\r\nSubject: nested\r\nMessage-ID: <bomb@example.jp>\r\n"
            b"MIME-Version: 1.0\r\n" + b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n'
                                               % (i, i) for i in range(3000))
            + b"Content-Type: text/plain\r\n\r\nhi\r\n")
    dovecot.deliver(bomb)
    dovecot.deliver(samples.simple("後続のメール", "止まらずに届きます", message_id="<after-bomb@example.jp>"))
    [result] = poll(app)
    assert (result.created, result.unreadable) == (2, 1)
    message = inbound("<bomb@example.jp>")
    assert message.parse_error.startswith("could not read this message: RecursionError")
    assert message.subject == "nested" and message.customer.identity("email").value == "bomb@example.jp"
    assert db.session.get(RawSource, message.raw_id).content == bomb
    assert inbound("<after-bomb@example.jp>").body_text == "止まらずに届きます"


def test_nul_and_control_bytes_anywhere_never_block_the_mailbox(app, dovecot):
    configure(app, dovecot)
    hostile = (b"From: \"Na\x00me\" <bad\x00addr@example.jp>\r\nReply-To: ok@example.jp\r\n"
               b"Subject: nul\x00 subject\r\nMessage-ID: <nul@example.jp>\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=\"N\"\r\n\r\n"
               b"--N\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
               b"body\x00text\r\n"
               b"--N\r\nContent-Type: image/pn\x00g; name=\"a\x00b.png\"\r\nContent-ID: <c\x00id>\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n--N--\r\n")
    dovecot.deliver(hostile)
    dovecot.deliver(samples.simple("次のメール", "届きます", message_id="<after-nul@example.jp>"))
    [result] = poll(app)
    assert result.created == 2
    message = inbound("<nul@example.jp>")
    assert message.parse_error is None
    # Dovecot hands NUL out as 0x80 (IMAP cannot carry NUL); whatever it became, it is text now.
    assert message.subject.startswith("nul") and message.subject.endswith(" subject")
    assert message.body_text.startswith("body") and message.body_text.endswith("text")
    assert message.customer.identity("email").value == "ok@example.jp"  # the NUL address is no address
    [attachment] = message.attachments
    assert attachment.content_type == "image/png" and attachment.content_id.startswith("c")
    assert attachment.filename.startswith("a") and attachment.filename.endswith("b.png")
    for text in (message.subject, message.body_text, attachment.filename, attachment.content_id):
        assert "\x00" not in text and text.encode("utf-8")  # no NUL, no lone surrogate


def test_8bit_message_ids_fall_back_to_the_raw_hash(app, dovecot):
    configure(app, dovecot)
    raw = ("From: a@example.jp\r\nSubject: ids\r\nMessage-ID: <日本語@example.jp>\r\n"
           "References: <ok@example.jp> <壊れ@example.jp>\r\n\r\nbody\r\n").encode("cp932")
    dovecot.deliver(raw)
    poll(app)
    poll(app)
    message = inbound("sha256:" + hashlib.sha256(raw).hexdigest())
    assert message.thread_key is None and message.reply_to_keys == ["<ok@example.jp>"]
    assert count() == 1
