"""An advertising follow-up mail reaches a real SMTP server (aiosmtpd) with RFC 8058 headers."""
from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy

from app.followup import services
from app.followup.runner import run
from app.outbox import deliver_due
from tests.email_helpers import configure
from tests.followup_helpers import buyer, plan_with


def test_list_unsubscribe_headers_on_the_wire(app, smtp_server):
    configure(app, smtp=smtp_server, PUBLIC_BASE_URL="https://support.kurozu.example",
              SHOP_NAME="黒酢本舗株式会社", SHOP_ADDRESS="鹿児島県霧島市福山町1-1", SHOP_CONTACT="0995-00-1234")
    from tests.factories import make_agent

    boss = make_agent("supervisor")
    customer = buyer("西村 千尋", [date(2026, 10, 2), date(2026, 11, 4)], email="chihiro@mail.example")
    services.record_consent(customer, "checkout")
    thanks = buyer("東 直樹", [date(2026, 11, 4)], email="naoki@mail.example")
    plan_with(boss, "second_order", [{"delay_days": 3, "purpose": "advertising", "offer": True,
                                      "subject": "定期便10%オフのご案内", "body": "{customer_name}\nいつもありがとうございます。"}])
    plan_with(boss, "first_delivered", [{"delay_days": 3, "subject": "ご購入ありがとうございます",
                                         "body": "{customer_name}\nお届けしました。"}], name_ja="お礼")
    assert run(today=date(2026, 11, 9)) == {"sent": 2}
    assert deliver_due() == {"sent": 2}
    got = {m.rcpt_tos[0]: message_from_bytes(m.data, policy=policy.default) for m in smtp_server.wait_for(2)}
    offer = got["chihiro@mail.example"]
    url = str(offer["List-Unsubscribe"]).strip()  # folded onto its own line when long (RFC 5322)
    assert url.startswith("<https://support.kurozu.example/u/") and url.endswith(">")
    assert offer["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = offer.get_body(("plain",)).get_content()
    assert url[1:-1] in text and "黒酢本舗株式会社" in text and "0995-00-1234" in text
    plain = got["naoki@mail.example"]
    assert plain["List-Unsubscribe"] is None and plain["List-Unsubscribe-Post"] is None
    assert "黒酢本舗株式会社" in plain.get_body(("plain",)).get_content()
    assert thanks.id != customer.id
