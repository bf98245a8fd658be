"""What may be posted publicly on X: X's weighted length and the personal-data guard.

The length is counted by the maintained twitter-text library (twitter-text-parser, the Python port
of twitter-text v3): CJK and full-width characters weigh 2, a URL 23, an emoji sequence 2, 280 at
most. The browser counts with the npm twitter-text build (static/js/x-composer.js), so both agree.

The guard refuses a public reply that contains an email address, phone number, order number,
postal address or coupon code, and proposes a private channel with a ready template. Pattern
checks need no database; known order ids and coupon codes are looked up when `check_database`.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import phonenumbers
from flask import current_app, has_app_context, has_request_context
from flask_babel import gettext
from twitter_text import parse_tweet

MAX_WEIGHTED_LENGTH = 280

#: Public replies that move the conversation to a private channel, by language.
PRIVATE_TEMPLATES = {
    "dm": {"ja": "お問い合わせありがとうございます。お手数ですが、詳細はDMにてお伺いいたします。",
           "en": "Thank you for reaching out. We'll follow up on the details by DM."},
    "email": {"ja": "お問い合わせありがとうございます。お手数ですが、詳細はメールにてご案内いたします。",
              "en": "Thank you for reaching out. We'll follow up on the details by email."},
}

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_PREFECTURES = (
    "北海道|青森県|岩手県|宮城県|秋田県|山形県|福島県|茨城県|栃木県|群馬県|埼玉県|千葉県|東京都|神奈川県|"
    "新潟県|富山県|石川県|福井県|山梨県|長野県|岐阜県|静岡県|愛知県|三重県|滋賀県|京都府|大阪府|兵庫県|"
    "奈良県|和歌山県|鳥取県|島根県|岡山県|広島県|山口県|徳島県|香川県|愛媛県|高知県|福岡県|佐賀県|長崎県|"
    "熊本県|大分県|宮崎県|鹿児島県|沖縄県")
_DASH = "-‐‑‒–—―−ーｰ"
_ADDRESS = [
    re.compile(r"〒\s*\d{3}"),
    re.compile(r"郵便番号"),
    re.compile(rf"(?:{_PREFECTURES})[一-龥ぁ-んァ-ヶ]{{1,6}}?[市区町村郡]"),
    re.compile(r"[0-9一二三四五六七八九十]{1,3}\s*丁目\s*\d{0,4}"),
    re.compile(rf"[市区町村][一-龥ぁ-んァ-ヶ]{{1,8}}\d{{1,4}}[{_DASH}]\d{{1,4}}(?:[{_DASH}]\d{{1,4}})?"),
    re.compile(r"\d{1,4}\s*番地"),
    re.compile(r"(?i)\b(?:zip|postal)\s*code\b"),
]
#: Candidate tokens compared with known order ids and coupon codes.
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{3,99}")
_JAPANESE = re.compile(r"[ぁ-んァ-ヶ一-龥]")


@dataclass(frozen=True)
class Problem:
    """One reason a public reply is refused; `code` is stable, `message` is for the agent."""

    code: str  #: empty | too_long | email | phone | order | address | coupon
    message: str

    def __str__(self) -> str:
        return self.message


class PublicReplyRefused(ValueError):
    """The reply cannot be posted publicly; `problems` say why, `template` what to post instead."""

    def __init__(self, problems: list[Problem], template: str = ""):
        self.problems = problems
        self.template = template
        super().__init__(" ".join(p.message for p in problems))


def weighted_length(text: str) -> int:
    """The length X counts (twitter-text v3 weighting, NFC first)."""
    return parse_tweet(unicodedata.normalize("NFC", text or "")).weightedLength


def private_template(text: str = "", channel: Optional[str] = None) -> str:
    """The ready public reply that moves the conversation to DM (or email), in the draft's language."""
    if channel is None:
        channel = _setting(_config(), "X_PRIVATE_CHANNEL")
    templates = PRIVATE_TEMPLATES.get(channel, PRIVATE_TEMPLATES["dm"])
    return templates["ja" if not text or _JAPANESE.search(text) else "en"]


def _(text: str, **variables: Any) -> str:
    """gettext in a request (the agent's language); the untranslated text in the worker, where the
    app's locale selector has no request to read."""
    if has_request_context():
        return gettext(text, **variables)
    return text % variables if variables else text


def _config() -> Mapping[str, Any]:
    return current_app.config if has_app_context() else {}


def _setting(config: Mapping[str, Any], key: str) -> Any:
    """A guard setting from `config`, else the default from config.py (usable without an app)."""
    from config import Config

    return config[key] if key in config else getattr(Config, key, None)


def _first(pattern: re.Pattern, text: str) -> Optional[str]:
    match = pattern.search(text)
    return match.group(0) if match else None


def _phone(text: str) -> Optional[str]:
    for match in phonenumbers.PhoneNumberMatcher(text, "JP"):
        return match.raw_string
    return None


def _known(tokens: set[str], kind: str) -> Optional[str]:
    """A token that is an existing order id or coupon code (database lookup, no scan)."""
    if not tokens or not has_app_context():
        return None
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Coupon, Order

    candidates = sorted(tokens | {t.upper() for t in tokens})[:200]
    column = Order.external_id if kind == "order" else Coupon.code
    return db.session.scalar(select(column).where(column.in_(candidates)).limit(1))


def find_personal_data(text: str, *, check_database: bool = True,
                       config: Optional[Mapping[str, Any]] = None) -> list[Problem]:
    """Personal data that must not be posted publicly, one Problem per kind found."""
    config = config if config is not None else _config()
    folded = unicodedata.normalize("NFKC", text or "")
    problems: list[Problem] = []
    email = _first(_EMAIL, folded)
    if email:
        problems.append(Problem("email", _("It contains an email address (%(value)s).", value=email)))
    phone = _phone(folded)
    if phone:
        problems.append(Problem("phone", _("It contains a phone number (%(value)s).", value=phone)))
    order_pattern = _setting(config, "X_PII_ORDER_PATTERN")
    order = _first(re.compile(order_pattern, re.IGNORECASE), folded) if order_pattern else None
    tokens = set(_TOKEN.findall(folded)) if check_database else set()
    order = order or _known(tokens, "order")
    if order:
        problems.append(Problem("order", _("It contains an order number (%(value)s).", value=order)))
    address = next((found for found in (_first(p, folded) for p in _ADDRESS) if found), None)
    if address:
        problems.append(Problem("address", _("It contains a postal address (%(value)s).", value=address)))
    coupon_pattern = _setting(config, "X_PII_COUPON_PATTERN")
    coupon = _first(re.compile(coupon_pattern), folded) if coupon_pattern else None
    coupon = coupon or _known(tokens, "coupon")
    if coupon:
        problems.append(Problem("coupon", _("It contains a coupon code (%(value)s).", value=coupon)))
    return problems


def validate_public_reply(text: str, *, check_database: bool = True,
                          config: Optional[Mapping[str, Any]] = None) -> list[Problem]:
    """Every reason `text` cannot be posted as a public X reply (empty list: it can)."""
    problems: list[Problem] = []
    if not (text or "").strip():
        return [Problem("empty", _("The reply is empty."))]
    length = weighted_length(text)
    if length > MAX_WEIGHTED_LENGTH:
        problems.append(Problem("too_long", _(
            "The reply is %(length)d of %(max)d by X's count (Japanese characters count 2, a link 23): "
            "shorten it by %(over)d.", length=length, max=MAX_WEIGHTED_LENGTH,
            over=length - MAX_WEIGHTED_LENGTH)))
    personal = find_personal_data(text, check_database=check_database, config=config)
    if personal:
        template = private_template(text, _setting(config if config is not None else _config(),
                                                   "X_PRIVATE_CHANNEL"))
        problems.extend(personal)
        problems.append(Problem("private_channel", _(
            "Personal data must not be posted publicly: move the conversation to a private channel "
            "(DM where the account allows it, or email) and post, for example: %(template)s",
            template=template)))
    return problems


def ensure_public_reply(text: str, **kwargs: Any) -> None:
    """Raise PublicReplyRefused (a ValueError) with a clear message unless `text` may be posted."""
    problems = validate_public_reply(text, **kwargs)
    if problems:
        template = private_template(text) if any(p.code == "private_channel" for p in problems) else ""
        raise PublicReplyRefused(problems, template)
