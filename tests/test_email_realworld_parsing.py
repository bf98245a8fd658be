"""Mail as real mailers write it (issue #17, items 1-10): each cause other parsers' test suites
found, reproduced with a message written here as raw bytes.

Most tests call the parser directly (what an agent would see); the sender and size cases also go
the whole way (Dovecot -> poll -> ingest) because their failure showed only after ingest.
"""
from __future__ import annotations

import base64
import binascii
import hashlib

import pytest
from sqlalchemy import select

from app.channels.email.headers import UNKNOWN_SENDER
from app.channels.email.mime import ParseOptions, parse_message
from app.extensions import db
from app.models import Identity
from tests.email_helpers import configure, inbound, poll

PDF = b"%PDF-1.3\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(200))


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def jis_word(text: str) -> bytes:
    return b"=?ISO-2022-JP?B?" + base64.b64encode(text.encode("iso2022_jp")) + b"?="


def head(*lines: bytes) -> bytes:
    return b"\r\n".join(lines) + b"\r\n\r\n"


# -- 1. a boundary folded inside its quotes --------------------------------------------------------

@pytest.mark.parametrize("written", ["with-the-fold-blank", "without-the-fold-blank"])
def test_boundary_folded_inside_its_quotes_keeps_text_and_attachment(written):
    # Outlook 2000 folded long Content-Type values anywhere, also inside the quoted boundary.
    declared = b'"----=_NextPart_000_0017_01C2A8F3.\r\n 5D1E6A40"'
    line = b"----=_NextPart_000_0017_01C2A8F3. 5D1E6A40" if written == "with-the-fold-blank" \
        else b"----=_NextPart_000_0017_01C2A8F3.5D1E6A40"
    raw = (head(b"From: Keiko Arai <k.arai@example.ne.jp>", b"To: support@tsunagu.test",
                b"Subject: " + jis_word("請求書の再発行"), b"Message-ID: <folded-boundary-" +
                written.encode() + b"@example.ne.jp>", b"MIME-Version: 1.0",
                b"Content-Type: multipart/mixed;\r\n\tboundary=" + declared)
           + b"This is a multi-part message in MIME format.\r\n\r\n"
           + b"--" + line + b"\r\nContent-Type: text/plain;\r\n\tcharset=\"iso-2022-jp\"\r\n"
           b"Content-Transfer-Encoding: 7bit\r\n\r\n" + "先月分の請求書をもう一度送ってください。".encode("iso2022_jp")
           + b"\r\n\r\n--" + line + b"\r\nContent-Type: application/pdf;\r\n\tname=\"seikyu.pdf\"\r\n"
           b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment;\r\n\tfilename=\"seikyu.pdf\"\r\n\r\n"
           + b64(PDF) + b"\r\n--" + line + b"--\r\n")
    msg = parse_message(raw)
    assert msg.body_text == "先月分の請求書をもう一度送ってください。"
    assert [(a.filename, a.content_type, a.data) for a in msg.attachments] == [("seikyu.pdf", "application/pdf", PDF)]
    assert msg.subject == "請求書の再発行" and msg.parse_error is None


# -- 2. a quoted display name folded across lines --------------------------------------------------

FOLDED_SENDERS = [
    ("english", b'"Margaret\r\n Thornton" <m.thornton@example.org>', "m.thornton@example.org",
     "Margaret Thornton"),
    ("jis-words-in-quotes", b'"' + jis_word("佐々木") + b"\r\n " + jis_word("美穂") + b'"\r\n <miho.s@example.co.jp>',
     "miho.s@example.co.jp", "佐々木美穂"),
    # Raw ISO-2022-JP: あ is JIS 0x2422, whose second byte is a double quote.
    ("raw-jis-with-a-quote-byte", b'"' + "あさみ".encode("iso2022_jp") + b"\r\n\t" + "小川".encode("iso2022_jp")
     + b'" <asami.ogawa@example.jp>', "asami.ogawa@example.jp", "あさみ小川"),
]


@pytest.mark.parametrize("name,header,address,display", FOLDED_SENDERS, ids=[c[0] for c in FOLDED_SENDERS])
def test_folded_quoted_display_name_gives_the_real_sender(name, header, address, display):
    raw = head(b"From: " + header, b"Subject: order 4471", b"Message-ID: <" + name.encode() + b"@x.example>",
               b"Content-Type: text/plain; charset=us-ascii") + b"Where is my parcel?\r\n"
    msg = parse_message(raw)
    assert (msg.sender.value, msg.sender.name) == (address, display)
    assert "sender_missing" not in msg.meta


def test_two_customers_with_folded_names_stay_two_real_customers(app, dovecot):
    configure(app, dovecot)
    for _name, header, _address, _display in FOLDED_SENDERS[:2]:
        dovecot.deliver(head(b"From: " + header, b"To: support@tsunagu.test", b"Subject: hello",
                             b"Message-ID: <" + hashlib.sha1(header).hexdigest().encode() + b"@x.example>",
                             b"Content-Type: text/plain; charset=utf-8") + "よろしくお願いします\r\n".encode())
    poll(app)
    values = set(db.session.scalars(select(Identity.value).where(Identity.kind == "email")))
    assert values == {"m.thornton@example.org", "miho.s@example.co.jp"}
    assert UNKNOWN_SENDER not in values


# -- 3. Content-Transfer-Encoding with blanks and odd case -----------------------------------------

def test_transfer_encoding_with_trailing_blanks_and_odd_case_is_decoded():
    body = "配送先を変更したいです。".encode()
    raw = (head(b"From: ren@example.jp", b"Subject: cte", b"MIME-Version: 1.0",
                b'Content-Type: multipart/mixed; boundary="cte-b"')
           + b"--cte-b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: Base64 \r\n\r\n"
           + b64(body) + b"--cte-b\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: QUOTED-PRINTABLE\t\r\n\r\n"
           b"It=E2=80=99s the second parcel =\r\nthat never came.\r\n"
           b"--cte-b\r\nContent-Type: image/png; name=photo.png\r\nContent-Transfer-Encoding: \"bAsE64\"  \r\n\r\n"
           + b64(PNG) + b"--cte-b--\r\n")
    msg = parse_message(raw)
    assert msg.body_text == "配送先を変更したいです。\n\nIt\u2019s the second parcel that never came."
    [photo] = msg.attachments
    assert photo.data == PNG  # the file itself, not its base64 text


# -- 4. RFC 2047 words with blanks or split by a fold ----------------------------------------------

ENCODED_SUBJECTS = [
    ("q-word-with-blanks", b"=?utf-8?Q?Hello _there!?=", "Hello  there!"),
    ("b-word-split-by-a-fold", b"=?UTF-8?B?" + base64.b64encode("ポイントの使い方を教えてください".encode())[:22]
     + b"\r\n " + base64.b64encode("ポイントの使い方を教えてください".encode())[22:] + b"?=",
     "ポイントの使い方を教えてください"),
    ("jis-b-word-split-by-a-fold", b"Re: =?iso-2022-jp?B?" + base64.b64encode("返品の送料について".encode("iso2022_jp"))[:16]
     + b"\r\n\t" + base64.b64encode("返品の送料について".encode("iso2022_jp"))[16:] + b"?=", "Re: 返品の送料について"),
    ("q-word-split-by-a-fold", b"=?ISO-8859-1?Q?Commande_annul=E9e_?=\r\n =?ISO-8859-1?Q?et_rembours=\r\n E9?=",
     "Commande annulée et remboursé"),
]


@pytest.mark.parametrize("name,header,subject", ENCODED_SUBJECTS, ids=[c[0] for c in ENCODED_SUBJECTS])
def test_encoded_words_with_blanks_or_folds_are_decoded(name, header, subject):
    raw = head(b"From: mika@example.jp", b"Subject: " + header, b"Content-Type: text/plain") + b"x\r\n"
    msg = parse_message(raw)
    assert msg.subject == subject
    assert "=?" not in msg.subject


# -- 5. carrier emoji in ISO-2022-JP ---------------------------------------------------------------

def test_carrier_emoji_in_iso2022jp_become_private_use_characters_and_neighbours_survive():
    # au mail: "sun" at JIS 0x7541 and "heart" at 0x7834; next to them ① (0x2D21, NEC row 13),
    # ⅱ (0x7C72) and 髙 (0x7C62, NEC-selected IBM rows), which must keep their meaning.
    sun, heart = b"uA", b"x4"
    subject_jis = b"\x1b$B" + "題名".encode("iso2022_jp")[3:-3] + sun + b"\x1b(B"
    body_jis = (b"\x1b$B|b" + "橋です".encode("iso2022_jp")[3:-3] + heart + b"-!|r" + "の件".encode("iso2022_jp")[3:-3]
                + b"\x1b(B\r\n")
    raw = head(b"From: =?ISO-2022-JP?B?" + base64.b64encode(b"\x1b$B" + heart + b"\x1b(B") + b"?= <takahashi@ezweb.ne.jp>",
               b"Subject: =?ISO-2022-JP?B?" + base64.b64encode(subject_jis) + b"?=",
               b"Content-Type: text/plain; charset=ISO-2022-JP", b"Content-Transfer-Encoding: 7bit") + body_jis
    msg = parse_message(raw)
    pua_sun, pua_heart = "\ue020", "\ue12d"  # U+E000 + (row - 0x75) * 94 + (cell - 0x21)
    assert msg.subject == "題名" + pua_sun
    assert msg.body_text == "髙橋です" + pua_heart + "①ⅱの件"
    assert msg.sender.value == "takahashi@ezweb.ne.jp" and msg.sender.name == pua_heart
    assert msg.parse_error is None
    for text in (msg.subject, msg.body_text):
        assert "\ufffd" not in text and not any("\uff61" <= c <= "\uff9f" for c in text)


# -- 6. charset labels Python does not know; detection; garbled text -------------------------------

LABELS = [
    ("iso-8859-8-i", "hebrew", "שלום, ההזמנה שלי לא הגיעה עדיין", "iso8859-8"),
    ("win-1257", "lithuanian", "Laba diena, užsakymas dar neatvyko. Ačiū!", "cp1257"),
    ("x-cp1251", "russian", "Здравствуйте! Заказ ещё не пришёл.", "cp1251"),
    ("windows-874", "thai", "สวัสดีครับ พัสดุยังไม่มาถึง", "cp874"),
    ("x-mac-roman", "french", "Bonjour, la commande n’est pas arrivée… Merci", "mac_roman"),
    ("x-gbk", "chinese", "您好，我的订单还没有到。", "gbk"),
]


@pytest.mark.parametrize("label,lang,text,codec", LABELS, ids=[c[1] for c in LABELS])
def test_charset_labels_python_does_not_know_are_decoded(label, lang, text, codec):
    raw = (head(b"From: buyer@example.com", b"Subject: =?" + label.encode() + b"?B?"
                + base64.b64encode(text.encode(codec)) + b"?=",
                b"Content-Type: text/plain; charset=" + label.encode(), b"Content-Transfer-Encoding: 8bit")
           + text.encode(codec) + b"\r\n")
    msg = parse_message(raw)
    assert (msg.subject, msg.body_text) == (text, text)
    assert msg.parse_error is None


def test_unlabelled_mail_is_detected_beyond_japanese_and_western():
    text = ("Добрый день! Я оформила подписку на чай в прошлом месяце, но вторая посылка так и "
            "не пришла. Подскажите, пожалуйста, когда её ждать?")
    raw = head(b"From: olga@example.ru", b"Subject: parcel", b"Content-Type: text/plain") + text.encode("cp1251")
    msg = parse_message(raw)
    assert msg.body_text == text and msg.parse_error is None


GARBLED = [
    # UTF-8 decoded as Latin-1 and encoded again by a relay: strict UTF-8, no U+FFFD at all.
    ("double-encoded-utf8", b"utf-8", "定期便の解約をお願いします。来月から不要です。".encode().decode("latin-1").encode()),
    # Cyrillic labelled as Latin-1: every byte decodes, nothing is replaced.
    ("cyrillic-labelled-latin1", b"iso-8859-1", "Пожалуйста, отмените мою подписку.".encode("cp1251")),
    # ISO-2022-JP with one cell no character set has (row 9): one U+FFFD in a short text.
    ("one-bad-jis-cell", b"iso-2022-jp", b"\x1b$B$*FO$1)!F|\x1b(B"),
]


@pytest.mark.parametrize("name,label,body", GARBLED, ids=[c[0] for c in GARBLED])
def test_garbled_text_is_flagged_even_with_few_replacement_characters(name, label, body):
    raw = head(b"From: relay@example.com", b"Subject: garbled", b"Content-Type: text/plain; charset=" + label,
               b"Content-Transfer-Encoding: 8bit") + body + b"\r\n"
    msg = parse_message(raw)
    if name == "cyrillic-labelled-latin1":
        # Detection may recover it outright; if it shows the Latin reading, it must say so.
        assert msg.body_text == "Пожалуйста, отмените мою подписку." or msg.parse_error
    else:
        assert msg.parse_error and "garbled" in msg.parse_error
        assert msg.meta.get("garbled") is True


# -- 7. one malformed header line in the middle ----------------------------------------------------

BAD_LINES = [
    ("no-colon", b"X-Antivirus scanned by MailGuard 2.1"),
    ("blank-before-colon", b"X-Priority : 3 (Normal)"),
    ("name-with-a-space", b"Thread Index: AcZ3x0AAAB"),
    ("8bit-garbage", "署名：山本".encode("cp932")),
]


@pytest.mark.parametrize("name,bad", BAD_LINES, ids=[c[0] for c in BAD_LINES])
def test_one_malformed_header_line_does_not_end_the_header_block(name, bad):
    raw = (b"Received: from mx.example.jp by relay; Mon, 3 Mar 2025 09:00:00 +0900\r\n"
           b"To: support@tsunagu.test\r\n" + bad + b"\r\n"
           b"From: =?UTF-8?B?5bGx5pys?= <yamamoto@example.jp>\r\nSubject: =?UTF-8?B?44Kr44O844OJ5pu05paw?=\r\n"
           b"Message-ID: <malformed-" + name.encode() + b"@example.jp>\r\nDate: Mon, 3 Mar 2025 09:00:00 +0900\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           + "カードの有効期限が切れたので更新したいです。\r\n".encode())
    msg = parse_message(raw)
    assert msg.subject == "カード更新"
    assert (msg.sender.value, msg.sender.name) == ("yamamoto@example.jp", "山本")
    assert msg.external_id == f"<malformed-{name}@example.jp>"
    assert msg.created_at.isoformat() == "2025-03-03T00:00:00+00:00"
    assert msg.body_text == "カードの有効期限が切れたので更新したいです。"


def test_a_subject_wrapped_without_indentation_keeps_its_second_line():
    raw = (b"From: lee@example.com\r\nSubject: Question about the autumn blend\r\nand the spring blend\r\n"
           b"Message-ID: <wrapped@example.com>\r\n\r\nWhich one is less bitter?\r\n")
    msg = parse_message(raw)
    assert msg.subject == "Question about the autumn blend and the spring blend"
    assert msg.body_text == "Which one is less bitter?" and msg.external_id == "<wrapped@example.com>"


# -- 8. multipart/alternative with two text/plain parts --------------------------------------------

def test_alternative_with_two_plain_parts_shows_only_the_last():
    raw = (head(b"From: news@shop.example", b"Subject: alt", b"MIME-Version: 1.0",
                b'Content-Type: multipart/mixed; boundary="outer"')
           + b"--outer\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
           b"--alt\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nPlease enable Japanese fonts.\r\n"
           b"--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           + "お届け予定日は3月5日です。\r\n".encode()
           + b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML one</p>\r\n"
           b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML two</p>\r\n--alt--\r\n"
           b"--outer\r\nContent-Type: text/csv; name=items.csv\r\n\r\nsku,qty\r\nT-1,2\r\n--outer--\r\n")
    msg = parse_message(raw)
    assert msg.body_text == "お届け予定日は3月5日です。"
    assert "HTML two" in msg.body_html and "HTML one" not in msg.body_html
    assert [a.filename for a in msg.attachments] == ["items.csv"]


# -- 9. smaller cases ------------------------------------------------------------------------------

@pytest.mark.parametrize("header,address,name", [
    (b"From: " + jis_word("中村") + b" nakamura@example.jp", "nakamura@example.jp", "中村"),
    (b"From: =?utf-8?Q?Jos=C3=A9_P=C3=A9rez?= jose.perez@example.es", "jose.perez@example.es", "José Pérez"),
], ids=["jis", "utf8-q"])
def test_a_bare_address_after_an_encoded_display_name(header, address, name):
    msg = parse_message(head(header, b"Subject: hi") + b"body\r\n")
    assert (msg.sender.value, msg.sender.name) == (address, name)


def test_the_file_parameter_names_the_attachment():
    raw = (head(b"From: fax@example.jp", b"Subject: scan", b'Content-Type: multipart/mixed; boundary="f"')
           + b"--f\r\nContent-Type: text/plain\r\n\r\nscan attached\r\n"
           b"--f\r\nContent-Type: application/pdf; file=\"scan_0412.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + b64(PDF) + b"--f--\r\n")
    [pdf] = parse_message(raw).attachments
    assert (pdf.filename, pdf.data) == ("scan_0412.pdf", PDF)


def test_uuencoded_attachment_in_a_text_body():
    encoded = b"".join(binascii.b2a_uu(PNG[i:i + 45]) for i in range(0, len(PNG), 45))
    raw = (head(b"From: old-client@example.net", b"Subject: photo", b"Content-Type: text/plain; charset=us-ascii")
           + b"Here is the photo of the broken lid.\r\n\r\nbegin 644 lid.png\r\n"
           + encoded.replace(b"\n", b"\r\n") + b"`\r\nend\r\n\r\nRegards, Tom\r\n")
    msg = parse_message(raw)
    assert [(a.filename, a.data) for a in msg.attachments] == [("lid.png", PNG)]
    assert "begin 644" not in msg.body_text and "Regards, Tom" in msg.body_text
    assert msg.body_text.startswith("Here is the photo of the broken lid.")


def test_closing_delimiter_glued_to_the_last_line():
    raw = (head(b"From: app@example.jp", b"Subject: glued", b'Content-Type: multipart/mixed; boundary="gl"')
           + b"--gl\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           + "領収書を添付します。".encode() + b"\r\n--gl\r\nContent-Type: application/pdf; name=r.pdf\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(PDF) + b"--gl--\r\n")
    msg = parse_message(raw)
    assert msg.body_text == "領収書を添付します。"
    assert [(a.filename, a.data) for a in msg.attachments] == [("r.pdf", PDF)]


def test_closing_delimiter_glued_to_the_last_text_line():
    raw = (head(b"From: app@example.com", b"Subject: glued text", b'Content-Type: multipart/alternative; boundary="zz"')
           + b"--zz\r\nContent-Type: text/plain\r\n\r\nSee you on Friday.--zz--\r\n")
    assert parse_message(raw).body_text == "See you on Friday."


@pytest.mark.parametrize("header,address,name", [
    (b"From: Kenji(sales) <kenji(main account)@shop.example(tokyo office)>", "kenji@shop.example", "Kenji"),
    (b"From: yumi.sato@example.jp (Yumi Sato)", "yumi.sato@example.jp", "Yumi Sato"),
    (b"From: (old-style) \"Hiro \\(Kyoto\\)\" <hiro@example.jp>", "hiro@example.jp", "Hiro (Kyoto)"),
], ids=["comments-in-address", "comment-as-name", "escaped-parens-in-quotes"])
def test_addresses_with_obsolete_comments(header, address, name):
    msg = parse_message(head(header, b"To: Team(all of us):a@shop.example(first),\r\n b@shop.example;",
                             b"Subject: c") + b"x\r\n")
    assert (msg.sender.value, msg.sender.name) == (address, name)
    assert msg.meta["to"] == ["a@shop.example", "b@shop.example"]


# -- 10. a large HTML mail is capped after sanitising ----------------------------------------------

def _growing_html(size: int) -> bytes:
    """HTML that sanitising makes longer: bare '<' become '&lt;', every link gets rel and target."""
    row = '<p>5 < 6 <a href="https://shop.example/i/7">item</a> 在庫あり</p>\n'
    return ("<html><body>" + row * (size // len(row)) + "</body></html>").encode()


def test_large_html_is_capped_after_sanitising_and_stays_readable(app, dovecot):
    configure(app, dovecot, MAX_BODY_CHARS=3000)
    html = _growing_html(4 * 3000 - 200)  # fits the cap before sanitising, not after
    raw = head(b"From: promo@shop.example", b"To: support@tsunagu.test", b"Subject: big html",
               b"Message-ID: <big-html@shop.example>", b"MIME-Version: 1.0",
               b"Content-Type: text/html; charset=utf-8", b"Content-Transfer-Encoding: 8bit") + html
    dovecot.deliver(raw)
    [result] = poll(app)
    assert (result.created, result.unreadable) == (1, 0)
    message = inbound("<big-html@shop.example>")
    assert message.parse_error is None
    assert 0 < len(message.body_html) <= 4 * 3000 and message.body_html.endswith("</p>")
    assert 'rel="noopener noreferrer nofollow"' in message.body_html
    assert message.body_text.startswith("5 < 6 item 在庫あり") and len(message.body_text) <= 3000
    assert message.meta.get("truncated") is True


def test_html_far_over_the_limit_is_cut_never_refused():
    html = _growing_html(40 * 5000)
    raw = head(b"From: promo@shop.example", b"Subject: huge", b"Content-Type: text/html; charset=utf-8") + html
    msg = parse_message(raw, ParseOptions(max_body_chars=5000))
    assert msg.parse_error is None
    assert 0 < len(msg.body_html) <= 20000 and 0 < len(msg.body_text) <= 5000


# -- guards for the repairs above ------------------------------------------------------------------

def test_an_empty_last_alternative_does_not_hide_the_one_before():
    raw = (head(b"From: a@shop.example", b"Subject: alt", b'Content-Type: multipart/alternative; boundary="e"')
           + b"--e\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           + "本文はこちらです。".encode() + b"\r\n--e\r\nContent-Type: text/plain\r\n\r\n\r\n--e--\r\n")
    assert parse_message(raw).body_text == "本文はこちらです。"


def test_a_line_of_dashes_in_a_multipart_without_its_boundary_stays_text():
    text = "ご注文内容\r\n--------------------\r\n商品A 1点\r\n--------------------\r\n以上です。\r\n"
    raw = head(b"From: b@shop.example", b"Subject: dashes", b'Content-Type: multipart/mixed; boundary="never"') \
        + text.encode("cp932")
    msg = parse_message(raw)
    assert msg.body_text == text.replace("\r\n", "\n").strip("\n") and msg.attachments == ()


def test_carrier_emoji_rows_in_euc_jp_become_private_use_characters():
    data = "予約".encode("euc_jp") + bytes((0x75 | 0x80, 0x41 | 0x80)) + "完了".encode("euc_jp")
    raw = head(b"From: c@example.jp", b"Subject: euc", b"Content-Type: text/plain; charset=EUC-JP") + data
    assert parse_message(raw).body_text == "予約\ue020完了"


def test_a_header_block_followed_by_an_unseparated_body_is_left_to_the_stdlib():
    raw = b"From: d@example.com\r\nSubject: no blank line\r\nHello there,\r\nthis is the body.\r\n\r\nBye\r\n"
    msg = parse_message(raw)
    assert msg.subject == "no blank line" and msg.body_text.startswith("Hello there,")


@pytest.mark.parametrize("name,raw", [
    ("b-word-bad-length", head(b"From: e@example.jp", b"Subject: =?utf-8?B?44GC44GE4?= ok") + b"x\r\n"),
    ("b-word-8bit", head(b"From: e@example.jp", b"Subject: =?utf-8?B?44G\xa8C?=") + b"x\r\n"),
    ("8bit-charset-label", head(b"From: e@example.jp", b"Subject: =?ut\xa8f-8?Q?a?=",
                                b"Content-Type: text/plain; charset=\"sh\xa8ift_jis\"") + "本文".encode("cp932")),
    ("jis-pair-with-8bit-byte", head(b"From: e@example.jp", b"Subject: j",
                                     b"Content-Type: text/plain; charset=iso-2022-jp") + b"\x1b$B$\xa2$$\x1b(B\r\n"),
], ids=["b-word-bad-length", "b-word-8bit", "8bit-charset-label", "jis-pair-with-8bit-byte"])
def test_mangled_words_labels_and_jis_bytes_still_give_a_readable_message(name, raw):
    # Found by mutating the messages above: each of these used to end as "could not read".
    msg = parse_message(raw)
    assert not (msg.parse_error or "").startswith("could not read")
    assert msg.sender.value == "e@example.jp"
