"""X's weighted length and the public-reply personal-data guard."""
from __future__ import annotations

import pytest

from app.channels.x.text import (MAX_WEIGHTED_LENGTH, find_personal_data, private_template,
                                 validate_public_reply, weighted_length)


def codes(text: str) -> set[str]:
    return {p.code for p in validate_public_reply(text, check_database=False)}


def test_weighted_length_follows_twitter_text_v3():
    assert weighted_length("あ" * 140) == 280  # 140 Japanese characters fit
    assert weighted_length("a" * 280) == 280
    assert weighted_length("詳細は https://example.com/a/very/long/path?with=query ご確認ください") == 2 * 3 + 1 + 23 + 1 + 2 * 7
    assert weighted_length("ｶﾀｶﾅ") == 8  # half-width katakana weigh 2 as well
    assert weighted_length("👨‍👩‍👧") == 2  # one emoji sequence
    assert weighted_length("「」、。") == 8


def test_length_limit():
    assert codes("あ" * 140) == set()
    problems = validate_public_reply("あ" * 141, check_database=False)
    assert [p.code for p in problems] == ["too_long"]
    assert "282" in problems[0].message and str(MAX_WEIGHTED_LENGTH) in problems[0].message
    assert codes("   ") == {"empty"}


@pytest.mark.parametrize("text, code", [
    ("info@shop.example までご連絡ください", "email"),
    ("ｉｎｆｏ＠ｓｈｏｐ．ｅｘａｍｐｌｅ まで", "email"),
    ("お電話ください 090-1234-5678", "phone"),
    ("０３－１２３４－５６７８ までお電話を", "phone"),
    ("Call us on +81 3-1234-5678", "phone"),
    ("注文番号：12345678 を確認しました", "order"),
    ("ORD-20240001 の件", "order"),
    ("Your order #123456 has shipped", "order"),
    ("〒150-0001 へお送りします", "address"),
    ("東京都渋谷区神宮前にお住まいの", "address"),
    ("大阪府大阪市北区梅田1-2-3 宛て", "address"),
    ("神南一丁目の店舗", "address"),
    ("クーポンコード WELCOME2024 をご利用ください", "coupon"),
    ("coupon code: SPRING10", "coupon"),
])
def test_personal_data_is_found(text, code):
    assert code in codes(text)
    assert "private_channel" in codes(text)


@pytest.mark.parametrize("text", [
    "ご不便をおかけして申し訳ございません。確認してご連絡いたします。",
    "@hanako_y さま、お問い合わせありがとうございます。",
    "Delivery usually takes 3-5 days. We're sorry for the wait!",
    "東京都内の店舗でもお求めいただけます。",
    "新しいクーポンを来月ご用意します。",
    "2024年4月1日から価格が変わります。",
])
def test_ordinary_replies_pass(text):
    assert codes(text) == set()


def test_the_message_proposes_a_private_channel_with_a_template():
    problems = validate_public_reply("090-1234-5678 にお電話ください", check_database=False)
    advice = next(p for p in problems if p.code == "private_channel")
    assert "詳細はDMにてお伺いいたします" in advice.message
    assert private_template("Please call 090-1234-5678") == "Thank you for reaching out. We'll follow up on the details by DM."
    assert "メール" in private_template("電話して", "email")


def test_known_order_ids_and_coupon_codes_are_found_in_the_database(app):
    from app.extensions import db
    from app.models import Coupon, Order, utcnow
    from tests.factories import make_customer

    customer = make_customer()
    db.session.add_all([Order(external_id="A1002-77", customer_id=customer.id, ordered_at=utcnow()),
                        Coupon(code="HARU7Q2K", customer_id=customer.id, value=500)])
    db.session.commit()

    assert [p.code for p in find_personal_data("A1002-77 の件ですね")] == ["order"]
    assert [p.code for p in find_personal_data("haru7q2k をお使いください")] == ["coupon"]
    assert find_personal_data("HARU7Q2K", check_database=False) == []
    assert find_personal_data("確認いたします B9999-00") == []
