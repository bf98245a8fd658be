"""Test mail built as bytes, byte for byte what Japanese mailers send (see japanese-mail.md).

Each CASE is (name, raw bytes, expected subject, expected text in the body). The builders use
the encoders of the email channel only where the tests do not depend on them: the JIS bytes here
are written out by hand or with Python's own codecs.
"""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).parent
CP50220_TEXT = "①㈱Ⅱ髙橋様の定期便"
#: ISO-2022-JP for CP50220_TEXT as iPhone / Outlook send it: NEC row 13 and NEC-selected IBM
#: rows inside ESC $ B, which every iso2022_jp* codec of Python rejects.
#: ① 13-1 (2D21), ㈱ 13-74 (2D6A), Ⅱ 13-22 (2D36), 髙 92-66 (7C62), then 橋様の定期便 (JIS X 0208).
CP50220_JIS = b"\x1b$B-!-j-6|b" + "橋様の定期便".encode("iso2022_jp")[3:]


def b64word(data: bytes, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(data).decode()}?="


def build(subject_header: bytes, body: bytes, *, content_type: bytes = b"text/plain; charset=ISO-2022-JP",
          cte: bytes = b"7bit", sender: bytes = b"Hanako Yamada <hanako@example.jp>",
          message_id: bytes | None = b"<auto>", extra: bytes = b"") -> bytes:
    """One message; message_id b"<auto>" derives a unique id from the subject and body."""
    if message_id == b"<auto>":
        import hashlib

        message_id = b"<%s@test.example.jp>" % hashlib.sha1(subject_header + body).hexdigest()[:20].encode()
    head = b"From: " + sender + b"\r\nTo: support@tsunagu.test\r\nSubject: " + subject_header + b"\r\n"
    if message_id:
        head += b"Message-ID: " + message_id + b"\r\n"
    head += (b"Date: Tue, 01 Apr 2025 10:00:00 +0900\r\nMIME-Version: 1.0\r\nContent-Type: " + content_type
             + b"\r\nContent-Transfer-Encoding: " + cte + b"\r\n" + extra)
    return head + b"\r\n" + body


def _jis_word(text: str) -> bytes:
    return b64word(text.encode("iso2022_jp"), "ISO-2022-JP").encode()


def charset_cases() -> list[tuple[str, bytes, str, str]]:
    jis_subject = "定期便の解約について".encode("iso2022_jp")
    split = jis_subject.index(b"\x1b(B") - 4  # split inside the kanji run; word 2 has no ESC $ B
    utf8 = "お届け日の変更".encode()
    return [
        ("iso2022jp-cp50220", build(b64word(CP50220_JIS, "ISO-2022-JP").encode(), CP50220_JIS + b"\r\n"),
         CP50220_TEXT, CP50220_TEXT),
        ("iso2022jp-halfwidth-kana",
         build(_jis_word("お問い合わせ"), b"\x1b(I\x43\x3d\x44\x1b(B \x1b$B$*4j$$\x1b(B\r\n"),
         "お問い合わせ", "ﾃｽﾄ お願い"),
        ("shift_jis-label-cp932-chars",
         build(b64word("①番の件".encode("cp932"), "Shift_JIS").encode(), "㈱つなぐ商店 ①②③\r\n".encode("cp932"),
               content_type=b"text/plain; charset=Shift_JIS", cte=b"8bit"),
         "①番の件", "㈱つなぐ商店 ①②③"),
        ("windows-31j-label",
         build(b64word("解約希望".encode("cp932"), "Windows-31J").encode(), "髙島屋で購入した商品\r\n".encode("cp932"),
               content_type=b"text/plain; charset=Windows-31J", cte=b"8bit"),
         "解約希望", "髙島屋で購入した商品"),
        ("euc-jp",
         build(b64word("返品について".encode("euc_jp"), "EUC-JP").encode(), "商品が破損していました。\r\n".encode("euc_jp"),
               content_type=b"text/plain; charset=EUC-JP", cte=b"8bit"),
         "返品について", "商品が破損していました。"),
        ("utf-8-base64",
         build(b64word("配送先の変更".encode(), "UTF-8").encode(), base64.encodebytes("住所が変わりました。".encode()).replace(b"\n", b"\r\n"),
               content_type=b"text/plain; charset=UTF-8", cte=b"base64"),
         "配送先の変更", "住所が変わりました。"),
        ("utf-8-quoted-printable",
         build(b"=?utf-8?q?=E3=81=8A=E7=9F=A5=E3=82=89=E3=81=9B?=", b"=E3=81=82=E3=82=8A=E3=81=8C=E3=81=A8=E3=81=86\r\n",
               content_type=b"text/plain; charset=utf-8", cte=b"quoted-printable"),
         "お知らせ", "ありがとう"),
        ("missing-charset-shift_jis-body",
         build(b"no charset", "定期便を一回お休みしたいです。\r\n".encode("cp932"), content_type=b"text/plain",
               cte=b"8bit"),
         "no charset", "定期便を一回お休みしたいです。"),
        ("missing-charset-jis-body",
         build(b"jis without label", "次回の発送日を教えてください。\r\n".encode("iso2022_jp"), content_type=b"text/plain"),
         "jis without label", "次回の発送日を教えてください。"),
        ("wrong-label-latin1-is-sjis",
         build(b"latin label", "お支払い方法を変更したいです。\r\n".encode("cp932"),
               content_type=b"text/plain; charset=iso-8859-1", cte=b"8bit"),
         "latin label", "お支払い方法を変更したいです。"),
        ("wrong-label-utf8-is-sjis",
         build(b"utf8 label", "ポイントの有効期限について\r\n".encode("cp932"),
               content_type=b"text/plain; charset=utf-8", cte=b"8bit"),
         "utf8 label", "ポイントの有効期限について"),
        ("unknown-label",
         build(b"unknown label", "領収書を発行してください。\r\n".encode("cp932"),
               content_type=b"text/plain; charset=x-no-such-charset", cte=b"8bit"),
         "unknown label", "領収書を発行してください。"),
        ("rfc2047-utf8-split-mid-character",
         build(f"{b64word(utf8[:4], 'UTF-8')}\r\n {b64word(utf8[4:], 'UTF-8')}".encode(), b"split\r\n",
               content_type=b"text/plain; charset=us-ascii"),
         "お届け日の変更", "split"),
        ("rfc2047-jis-split-without-escape",
         build(f"{b64word(jis_subject[:split], 'ISO-2022-JP')} {b64word(jis_subject[split:], 'ISO-2022-JP')}".encode(),
               b"split jis\r\n", content_type=b"text/plain; charset=us-ascii"),
         "定期便の解約について", "split jis"),
        ("raw-8bit-shift_jis-subject",
         build("Re: ①の件でご相談".encode("cp932"), "本文です\r\n".encode("cp932"),
               content_type=b"text/plain; charset=Shift_JIS", cte=b"8bit"),
         "Re: ①の件でご相談", "本文です"),
        ("raw-8bit-utf8-subject",
         build("生のUTF-8件名".encode(), "本文\r\n".encode(), content_type=b"text/plain; charset=utf-8", cte=b"8bit"),
         "生のUTF-8件名", "本文"),
        ("html-only",
         build(b"html only", "<html><body><p>こんにちは<br>HTMLだけです</p></body></html>".encode(),
               content_type=b"text/html; charset=utf-8", cte=b"8bit"),
         "html only", "HTMLだけです"),
    ]


def xss_message() -> bytes:
    html = ('<p>ご確認ください</p><script>alert(1)</script><img src="x" onerror="alert(2)">'
            '<a href="javascript:alert(3)">click</a><svg onload="alert(4)"><circle/></svg>'
            '<div style="width: expression(alert(5)); background: url(http://evil.example/bg.png)">css</div>'
            '<form action="http://evil.example/"><input name="card"></form>'
            '<img src="https://tracker.example/open.gif?u=1" alt="t"><img src="cid:logo@shop">'
            '<iframe src="http://evil.example/"></iframe><a href="https://shop.example/order/1">注文</a>')
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "attacker@example.com", "support@tsunagu.test", "XSS probes"
    msg["Message-ID"] = "<xss@example.com>"
    msg.set_content("plain part")
    msg.add_alternative(html, subtype="html")
    msg.get_payload()[1].add_related(b"\x89PNG\r\n\x1a\nfake", maintype="image", subtype="png", cid="<logo@shop>")
    return msg.as_bytes()


def with_attachment(size: int, message_id: str = "<big@example.jp>") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "big@example.jp", "support@tsunagu.test", "写真を送ります"
    msg["Message-ID"] = message_id
    msg.set_content("破損した商品の写真です。")
    msg.add_attachment(bytes(range(256)) * (size // 256), maintype="image", subtype="jpeg", filename="破損写真.jpg")
    return msg.as_bytes()


def simple(subject: str, body: str, *, sender: str = "hanako@example.jp", message_id: str | None = None,
           extra_headers: dict[str, str] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "support@tsunagu.test", subject
    if message_id:
        msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(datetime.now(timezone(timedelta(hours=9))))
    for name, value in (extra_headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def eml(name: str) -> bytes:
    """A stored .eml fixture (bounce, auto-reply...) from this folder."""
    return (HERE / name).read_bytes()
