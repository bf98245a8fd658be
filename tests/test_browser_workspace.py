"""Browser: the agent workspace live in Chromium — presence, typing, live entries (API and call
webhook), the inbox refreshing itself, reply collision and reply-check confirmations, macros,
keyboard shortcuts and the Japanese UI."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.services import create_token
from app.calls.services import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from app.extensions import db
from app.macros.services import seed_demo_macros
from app.models import Event, Identity, Message
from app.realtime import presence
from tests.factories import PASSWORD, make_agent, make_ticket
from tests.live import live_server  # noqa: F401  (fixture)

LIVE_MS = 3000  # a live update must show within this (the issue asks for about a second)


@pytest.fixture(autouse=True)
def no_leftover_presence():
    """Ticket ids restart in every test; viewers left by earlier tests' sockets must not show."""
    presence._local.clear()
    yield
    presence._local.clear()


def login(context, base, agent, path):
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", agent.email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{base}{path}")
    return page


def test_two_agents_see_each_other_and_new_activity_live(app, live_server, new_context):
    sato, suzuki = make_agent(name="佐藤"), make_agent(name="鈴木")
    ticket, _first = make_ticket("定期便のお届け日を変えたいです", channel="email", sender="hanako@example.jp", name="山田 花子")
    db.session.add(Identity(customer_id=ticket.customer_id, kind="phone", value="+81312345678",
                            display="03-1234-5678"))
    db.session.commit()
    ticket_id, customer_id = ticket.id, ticket.customer_id
    path = f"/tickets/{ticket_id}"

    a = login(new_context(locale="en-US"), live_server, sato, path)
    b = login(new_context(locale="en-US"), live_server, suzuki, path)
    inbox = a.context.new_page()
    inbox.goto(f"{live_server}/")

    expect(a.locator("[data-presence] .presence-viewing")).to_contain_text("鈴木", timeout=LIVE_MS)
    expect(b.locator("[data-presence] .presence-viewing")).to_contain_text("佐藤", timeout=LIVE_MS)
    b.locator("textarea.reply-body").type("確認します")
    expect(a.locator("[data-presence] .presence-typing")).to_contain_text("鈴木", timeout=LIVE_MS)

    # A customer message through the API shows on both pages and in the inbox without a reload.
    token = create_token(sato)
    response = a.request.post(f"{live_server}/api/v1/messages", headers={"Authorization": f"Bearer {token}"},
                              data=json.dumps({"channel": "web", "external_id": "live-1",
                                               "from": "hanako@example.jp", "subject": "Re: 定期便",
                                               "text": "追加の質問です"}))
    assert response.status in (200, 201), response.text()
    message_id = response.json()["message_id"]
    for page in (a, b):
        expect(page.locator(f"#m{message_id}")).to_contain_text("追加の質問です", timeout=LIVE_MS)
    expect(inbox.locator(f"tr.ticket-row[data-ticket-id='{response.json()['ticket_id']}']")).to_be_visible(
        timeout=LIVE_MS)

    # A call logged by the phone system's webhook appears on the customer's timeline.
    app.config["CALLS_WEBHOOK_SECRET"] = "s3cret"
    body = json.dumps({"call_id": "pbx-live-1", "number": "03-1234-5678", "direction": "inbound",
                       "started_at": "2026-11-20T10:00:00+09:00", "duration_seconds": 185,
                       "summary": "お届け日の変更のお電話", "outcome": "callback",
                       "follow_up_at": "2026-11-21T12:00:00+09:00"}).encode()
    stamp = str(int(time.time()))
    hook = a.request.post(f"{live_server}/hooks/calls", data=body, headers={
        "Content-Type": "application/json", TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign("s3cret", stamp, body)})
    assert hook.status == 201, hook.text()
    call = a.locator(f"#m{hook.json()['message_id']}")
    expect(call).to_contain_text("お届け日の変更のお電話", timeout=LIVE_MS)
    expect(call.locator(".call-facts")).to_contain_text("3 min 5 s")

    # Suzuki replies first; Sato's reply then asks to confirm the collision, and goes after it.
    b.locator("textarea.reply-body").fill("お届け日を変更いたしました。")
    b.locator("form.reply-form input[type=submit]").click()
    b.wait_for_url(lambda url: "#m" in url)
    reply_id = db.session.scalar(select(Message.id).where(Message.author_id == suzuki.id))
    expect(a.locator(f"#m{reply_id}")).to_contain_text("変更いたしました", timeout=LIVE_MS)
    a.locator("textarea.reply-body").fill("承知しました。")
    a.select_option("form.reply-form select[name=status_after]", "solved")
    a.locator("form.reply-form input[type=submit]").click()
    expect(a.locator(".reply-confirm .collision")).to_be_visible()
    assert a.locator("textarea.reply-body").input_value() == "承知しました。"
    a.locator("button.send-anyway").click()
    a.wait_for_url(lambda url: "#m" in url)
    mine = db.session.scalar(select(Message.id).where(Message.author_id == sato.id))
    expect(a.locator(f"#m{mine} .badge.dl")).to_have_class("badge dl dl-queued")
    # Suzuki's page shows the status change Sato's reply made (header and timeline) at once.
    expect(b.locator(".head-badges .badge.st")).to_have_class(re.compile("st-solved"), timeout=LIVE_MS)
    expect(b.locator(".ev-ticket-status").last).to_be_visible()
    assert customer_id


def test_reply_check_macros_shortcuts_in_japanese(app, live_server, new_context):
    sato = make_agent(name="佐藤")
    seed_demo_macros()
    ticket, _first = make_ticket("肌荒れに効きますか？", channel="email", sender="hanako@example.jp", name="山田 花子")
    old, _m = make_ticket("以前の問い合わせ", channel="email", sender="hanako@example.jp", subject="前回")
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    db.session.add_all([Message(ticket_id=old.id, customer_id=old.customer_id, channel="email", direction="in",
                                body_text=f"古い履歴 {i}", created_at=start + timedelta(days=i), received_at=start)
                        for i in range(60)])
    old.status = "closed"
    db.session.commit()
    page = login(new_context(locale="ja-JP"), live_server, sato, "/")
    assert page.locator("html").get_attribute("lang") == "ja"

    # Inbox keyboard: j selects the first row, ? shows the help, Enter opens the ticket.
    page.keyboard.press("j")
    expect(page.locator("tr.ticket-row.selected")).to_have_attribute("data-ticket-id", str(ticket.id))
    page.keyboard.press("?")
    expect(page.locator("#shortcut-help")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/tickets/{ticket.id}")

    # Older entries of the customer's history load when the end of the timeline comes into view.
    expect(page.locator(".tl-group[data-ticket-id='%d'] .entry" % old.id)).not_to_have_count(0)
    page.locator(".load-older").scroll_into_view_if_needed() if page.locator(".load-older").count() else None
    expect(page.locator(".entry", has_text="古い履歴 0")).to_have_count(1)

    # r focuses the reply; "/" opens the macro picker; typing filters; Enter inserts the text.
    page.keyboard.press("r")
    page.keyboard.type("/")
    expect(page.locator("[data-macro-picker]")).to_be_visible()
    page.keyboard.type("お礼")
    expect(page.locator(".macro-list li[data-id]")).to_have_count(1)
    page.keyboard.press("Enter")
    reply = page.locator("textarea.reply-body")
    expect(reply).to_have_value(re.compile("山田 花子 様"))
    assert not reply.input_value().startswith("/")
    assert f"{ticket.id}" in reply.input_value()

    # Risky wording is highlighted while typing, refused until confirmed, and the confirmation kept.
    reply.press("End")
    reply.type("\nこのクリームでアトピーが治ると絶対に言えます。")
    expect(page.locator("[data-reply-check-out] mark").first).to_have_text("アトピーが治る")
    page.locator("form.reply-form input[type=submit]").click()
    expect(page.locator(".reply-confirm .compliance-hits")).to_contain_text("絶対")
    page.locator("button.send-anyway").click()
    page.wait_for_url(lambda url: "#m" in url)
    event = db.session.scalar(select(Event).where(Event.kind == "reply.compliance_confirmed"))
    assert event is not None and set(event.data["words"]) == {"アトピーが治る", "絶対"}
    expect(page.locator(".ev-reply-compliance_confirmed")).to_be_visible()


def test_inbox_rows_update_in_place_from_live_events(app, live_server, new_context):
    """An open inbox moves, adds and drops rows from the events themselves: no list refetch per
    message (with 50 agents on the inbox, one would cost 50 list renders per inbound message)."""
    from app.ingest import ingest
    from app.tickets.services import update_ticket
    from tests.factories import inbound

    agent = make_agent(name="佐藤")
    old, _ = make_ticket("古いお問い合わせ", channel="email", sender="old@example.jp", name="古川 一郎")
    newer, _ = make_ticket("ポイントについて", channel="email", sender="newer@example.jp", name="新井 花子")
    page = login(new_context(locale="en-US"), live_server, agent, "/")
    refetches = []
    page.on("request", lambda r: refetches.append(r.url) if "partial=1" in r.url else None)
    rows = page.locator("table.tickets tbody tr.ticket-row")
    expect(rows.first).to_have_attribute("data-ticket-id", str(newer.id))

    token = create_token(agent)
    response = page.request.post(f"{live_server}/api/v1/messages", headers={"Authorization": f"Bearer {token}"},
                                 data=json.dumps({"channel": "web", "external_id": "row-1", "from": {"kind": "email", "value": "fresh@example.jp", "name": "森 三郎"},
                                                  "subject": "ポイントの確認 <b>至急</b>",
                                                  "text": "ポイント残高を教えてください"}))
    assert response.status == 201, response.text()
    created = response.json()["ticket_id"]
    first = page.locator(f"tr.ticket-row[data-ticket-id='{created}']")
    expect(rows.first).to_have_attribute("data-ticket-id", str(created), timeout=LIVE_MS)
    assert refetches == []  # the row came with the event
    expect(first.locator("td.subject a")).to_have_text("ポイントの確認 <b>至急</b>")  # text, never markup
    expect(first.locator(".badge.st")).to_have_class(re.compile("st-new"))
    expect(first.locator("td.time time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
    # The counts catch up with one refetch 2-4 s after (spread so fifty inboxes do not refetch at once).
    expect(page.locator("[data-filter-status=unsolved] + .count")).to_have_text("3", timeout=LIVE_MS + 4000)

    # A message on the old ticket moves its row to the top; solving it drops it from "Unsolved".
    ingest(inbound("追記です", sender="old@example.jp", ticket_hint=old.id))
    expect(rows.first).to_have_attribute("data-ticket-id", str(old.id), timeout=LIVE_MS)
    update_ticket(make_agent(name="鈴木"), db.session.get(type(old), old.id), status="solved")
    expect(page.locator(f"tr.ticket-row[data-ticket-id='{old.id}']")).to_have_count(0, timeout=LIVE_MS)
    expect(rows.first).to_have_attribute("data-ticket-id", str(created))
    assert len(refetches) == 1, refetches
