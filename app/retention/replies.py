"""Reply drafts to the customer, one template per action and language (ja | en).

These are customer-facing texts in the customer's language (the language of the request), not UI
strings, so they are templates here rather than gettext messages; the agent edits the draft
before sending. Dates are written the way a reader of that language expects.
"""
from __future__ import annotations

from datetime import date
from typing import Any

WEEKDAYS_JA = "月火水木金土日"

TEMPLATES: dict[str, dict[str, str]] = {
    "skip": {
        "ja": "{name}様\n\nいつもご愛用いただきありがとうございます。\nご相談いただいた件、{skipped_date}のお届けをお休み（スキップ）いたしました。"
              "次回は{next_date}にお届けいたします。{locked}\n\nまたお困りのことがございましたら、お気軽にご連絡ください。",
        "en": "Dear {name},\n\nThank you for being with us. As discussed, we have skipped the delivery of {skipped_date}; "
              "your next delivery will be on {next_date}.{locked}\n\nIf there is anything else we can do, just reply to this message.",
    },
    "pause": {
        "ja": "{name}様\n\nいつもご愛用いただきありがとうございます。\n定期便のお届けを{paused_from}から一時休止いたしました。"
              "お届けの再開は{resume_date}を予定しております。{locked}\n\n再開日の変更もいつでも承りますので、お気軽にご連絡ください。",
        "en": "Dear {name},\n\nThank you for being with us. We have paused your deliveries from {paused_from}; they will resume on "
              "{resume_date}.{locked}\n\nYou can change the date at any time by replying to this message.",
    },
    "resume": {
        "ja": "{name}様\n\nいつもご愛用いただきありがとうございます。\n定期便のお届けを再開いたしました。"
              "次回は{next_date}にお届けいたします。\n\n今後ともよろしくお願いいたします。",
        "en": "Dear {name},\n\nThank you for being with us. Your deliveries are running again; the next one will arrive "
              "on {next_date}.\n\nKind regards,",
    },
    "cycle": {
        "ja": "{name}様\n\nいつもご愛用いただきありがとうございます。\nお届け周期を{old_cycle_days}日ごとから{cycle_days}日ごとに変更いたしました。"
              "次回は{next_date}にお届けいたします。{locked}\n\n今後ともよろしくお願いいたします。",
        "en": "Dear {name},\n\nThank you for being with us. Your deliveries now come every {cycle_days} days instead of every "
              "{old_cycle_days}; the next one will arrive on {next_date}.{locked}\n\nKind regards,",
    },
    "swap": {
        "ja": "{name}様\n\nいつもご愛用いただきありがとうございます。\n次回のお届けから、{old_product}を{new_product}に変更いたしました"
              "（1回あたり{price}円）。{locked}\n\nお使い心地などお気づきの点があれば、いつでもお聞かせください。",
        "en": "Dear {name},\n\nThank you for being with us. From your next delivery you will receive {new_product} instead of "
              "{old_product} ({price} yen per delivery).{locked}\n\nDo tell us how you find it.",
    },
    "quantity": {
        "ja": "{name}様\n\nいつもご愛用いただきありがとうございます。\n次回のお届けから、数量を{old_quantity}個から{quantity}個に変更いたしました"
              "（1回あたり{price}円）。{locked}\n\n今後ともよろしくお願いいたします。",
        "en": "Dear {name},\n\nThank you for being with us. From your next delivery the quantity is {quantity} instead of "
              "{old_quantity} ({price} yen per delivery).{locked}\n\nKind regards,",
    },
    "coupon": {
        "ja": "{name}様\n\nいつもご愛用いただきありがとうございます。\n日頃の感謝を込めて、{coupon_value}円分のクーポンをご用意いたしました。"
              "クーポンコード：{coupon_code}（{expires}まで有効）\n\n引き続きよろしくお願いいたします。",
        "en": "Dear {name},\n\nThank you for being with us. As a thank-you, here is a coupon worth {coupon_value} yen: "
              "{coupon_code} (valid until {expires}).\n\nKind regards,",
    },
    "cancel": {
        "ja": "{name}様\n\nこれまでご愛用いただき、誠にありがとうございました。\n{request_time}に承りましたご依頼のとおり、"
              "定期購入を解約いたしました（{cancelled_date}付）。{locked}\n\nまたいつでもお待ちしております。",
        "en": "Dear {name},\n\nThank you for having been with us. As you asked on {request_time}, your subscription is cancelled "
              "(effective {cancelled_date}).{locked}\n\nYou are welcome back any time.",
    },
}

LOCKED = {
    "ja": "\nなお、{locked_date}のお届けは変更期限を過ぎているため、予定どおりお届けとなります。",
    "en": " Please note that the delivery of {locked_date} was already past its change deadline and will arrive as planned.",
}


def format_date(value: Any, lang: str) -> str:
    if not isinstance(value, date):
        return str(value or "")
    if lang == "ja":
        return f"{value.year}年{value.month}月{value.day}日（{WEEKDAYS_JA[value.weekday()]}）"
    return f"{value.day} {value:%B} {value.year}"


def draft(kind: str, lang: str, facts: dict[str, Any]) -> str:
    """The reply for action `kind` in `lang` (Japanese for anything but English)."""
    lang = "en" if lang == "en" else "ja"
    values = {key: format_date(val, lang) if isinstance(val, date) else val for key, val in facts.items()}
    values.setdefault("name", "お客" if lang == "ja" else "customer")
    if isinstance(values.get("price"), int):
        values["price"] = f"{values['price']:,}"
    if isinstance(values.get("coupon_value"), int):
        values["coupon_value"] = f"{values['coupon_value']:,}"
    locked = facts.get("locked_date")
    values["locked"] = LOCKED[lang].format(locked_date=format_date(locked, lang)) if locked else ""
    return TEMPLATES[kind][lang].format_map(_Blank(values))


class _Blank(dict):
    """Missing placeholders become empty rather than raising (a draft is edited anyway)."""

    def __missing__(self, key: str) -> str:
        return ""
