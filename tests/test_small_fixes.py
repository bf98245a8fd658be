"""Small things that looked broken (issue 19, item 5), each pinned by a test through the pages and
services: the customer page's head, the favicon, the timeline's phone filter, the call form's
time, the coupon form, macros without a coupon, the X composer's public notice, the cancellation
banner."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.calls.services import CallInput, log_call
from app.extensions import db
from app.macros.services import render_checked, seed_demo_macros
from app.models import Coupon, Macro, Message, RetentionCase, Ticket
from app.tickets.services import ActionRefused, add_reply
from tests.factories import make_agent, make_ticket


def _mail_ticket(text, sender, name="長谷川 京子", **kw):
    return make_ticket(text, channel="email", sender=sender, name=name, **kw)[0]


def test_customer_page_head_is_only_the_name(client, agent, login_as):
    ticket = _mail_ticket("届いた箱が潰れていました", "hasegawa.k@example.net")
    login_as(agent)
    html = client.get(f"/customers/{ticket.customer_id}").get_data(as_text=True)
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    assert "<script" not in title and "長谷川 京子" in title
    main = re.search(r"<main[^>]*>", html).group(0)
    assert "<script" not in main and "customer-page" in main
    assert '{} ">' not in html and "{}\n\">" not in html


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO header
    assert response.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")


def test_a_call_logged_on_an_email_ticket_makes_phone_a_filter(client, agent, login_as):
    ticket = _mail_ticket("電話で折り返してください", "callback.me@example.jp")
    log_call(CallInput(number="090-4455-6677", direction="outbound", started_at=datetime.now(ZoneInfo("Asia/Tokyo")),
                       summary="折り返し済み、住所変更を受付", attach_to_customer_id=ticket.customer_id,
                       ticket_id=ticket.id), agent_id=agent.id)
    assert db.session.scalar(select(Message.channel).where(Message.ticket_id == ticket.id,
                                                           Message.channel == "phone")) == "phone"
    login_as(agent)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    nav = page.split('class="tl-filters')[1].split("</nav>")[0]
    assert 'data-channel="phone"' in nav and 'data-channel="email"' in nav
    phone_only = client.get(f"/tickets/{ticket.id}?channel=phone").get_data(as_text=True)
    assert "折り返し済み、住所変更を受付" in phone_only


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_the_call_form_starts_at_now_on_the_shops_clock(app, client, agent, login_as, zone):
    app.config["TIMEZONE"] = zone
    login_as(agent)
    before = datetime.now(ZoneInfo(zone)).replace(second=0, microsecond=0, tzinfo=None)
    html = client.get("/calls/new").get_data(as_text=True)
    after = datetime.now(ZoneInfo(zone)).replace(second=0, microsecond=0, tzinfo=None)
    value = re.search(r'name="started_at"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="started_at"', html)
    shown = datetime.strptime(value.group(1) or value.group(2), "%Y-%m-%dT%H:%M")
    assert before <= shown <= after


def test_coupon_form_is_collapsed_and_needs_a_chosen_reason(client, agent, login_as):
    ticket = make_ticket("@tsunagu_shop 届くの遅すぎ", channel="x", kind="x", sender="8800123",
                         name="ゆう")[0]  # an X user with no purchases
    login_as(agent)
    panel = client.get(f"/coupons/ticket/{ticket.id}?partial=1").get_data(as_text=True)
    details = re.search(r'<details class="coupon-issue"[^>]*>', panel).group(0)
    assert "open" not in details
    select_html = panel.split('name="reason"')[1].split("</select>")[0]
    first = re.search(r'<option[^>]*value="([^"]*)"', select_html)
    assert first.group(1) == "" and "selected" not in select_html.split("</option>")[1]
    response = client.post(f"/coupons/ticket/{ticket.id}/issue", follow_redirects=True, data={
        "kind": "amount", "value": "300", "expires_on": (date.today() + timedelta(days=14)).isoformat(),
        "max_uses": "1", "reason": "", "reason_text": "", "idempotency_key": "no-reason-1"})
    assert b"flash-error" in response.data
    assert db.session.scalar(select(func.count(Coupon.id))) == 0


def test_a_macro_without_a_coupon_keeps_the_placeholder_and_the_reply_is_refused(client, agent, login_as):
    ticket = _mail_ticket("商品が破損していました", "broken.item@example.org", name="村上 春香")
    seed_demo_macros()
    macro = db.session.scalar(select(Macro).where(Macro.body.contains("{coupon_code}")))
    text, missing = render_checked(macro, ticket, agent)
    assert "「」" not in text and "「{coupon_code}」" in text and missing == ["coupon_code"]
    login_as(agent)
    rendered = client.get(f"/macros/{macro.id}/render?ticket_id={ticket.id}").get_json()
    assert rendered["missing"] == ["coupon_code"] and "「」" not in rendered["text"]
    with pytest.raises(ActionRefused) as refused:
        add_reply(agent, ticket, text, confirmed=True)
    assert "{coupon_code}" in str(refused.value)
    assert db.session.scalar(select(func.count(Message.id)).where(Message.direction == "out")) == 0


def test_the_x_composer_says_the_reply_is_public(client, agent, login_as):
    x_ticket = make_ticket("@tsunagu_shop 解約ってどこから？", channel="x", kind="x", sender="7700456",
                           name="さくら", external_id="1799000000000000001")[0]
    mail = _mail_ticket("解約方法を教えてください", "kaiyaku.how@example.jp")
    login_as(agent)
    x_page = client.get(f"/tickets/{x_ticket.id}").get_data(as_text=True)
    assert "data-x-public-note" in x_page and "posted publicly on X" in x_page
    assert "data-x-public-note" not in client.get(f"/tickets/{mail.id}").get_data(as_text=True)


def _cancellation(text, sender, name, **kw):
    ticket = _mail_ticket(text, sender, name=name)
    ticket.intent = "cancellation"
    for key, value in kw.items():
        setattr(ticket, key, value)
    db.session.commit()
    return ticket


def test_cancellation_banner_one_row_per_customer_and_only_requests_waiting_for_us(client, agent, login_as):
    first = _cancellation("定期便を解約したい", "ito.m@example.jp", "伊藤 めぐみ", subject="解約希望 その1")
    again = make_ticket("先ほどの件、解約でお願いします", channel="email", sender="ito.m@example.jp",
                        name="伊藤 めぐみ", reply_to_keys=())[0]
    if again.id != first.id:
        again.intent, again.subject = "cancellation", "解約希望 その2"
    saved = _cancellation("やめたいです", "kondo.t@example.jp", "近藤 拓也", subject="抑止済みの件")
    case = db.session.scalar(select(RetentionCase).where(RetentionCase.ticket_id == saved.id))
    if case is None:  # the detector opens a case for most requests; make one where it did not
        case = RetentionCase(ticket_id=saved.id, customer_id=saved.customer_id, first_requested_at=saved.created_at)
        db.session.add(case)
    case.outcome = "saved"
    waiting = _cancellation("解約について相談", "ogawa.r@example.jp", "小川 理恵", subject="返事待ちの件",
                            status="pending")
    fresh = _cancellation("退会したいです", "mori.s@example.jp", "森 翔太", subject="新しい解約依頼")
    db.session.commit()
    login_as(agent)
    html = client.get("/").get_data(as_text=True)
    banner = html.split('class="flagged"')[1].split("</section>")[0]
    assert banner.count("伊藤 めぐみ") == 1 and "新しい解約依頼" in banner
    assert "抑止済みの件" not in banner and "返事待ちの件" not in banner
    assert waiting.id and fresh.id
