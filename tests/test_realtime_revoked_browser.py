"""Browser: a ticket moved out of an agent's reach while its page is open says so.

The server stops sending the ticket's events to that socket (test_realtime_revocation.py); the
page must not go on looking live: it shows a banner and its forms stop posting.
"""
from __future__ import annotations

from playwright.sync_api import expect

from app.extensions import db
from app.models import Team
from app.tickets.services import update_ticket
from tests.factories import make_agent, make_ticket
from tests.live import live_server  # noqa: F401  (fixture)
from tests.test_browser_workspace import login


def test_open_ticket_page_says_when_the_ticket_is_taken_out_of_reach(app, live_server, new_context):
    tableware, returns = Team(name="食器"), Team(name="返品窓口")
    db.session.add_all([tableware, returns])
    db.session.commit()
    borrower = make_agent("agent", name="小林 陽菜", team_id=returns.id)
    owner = make_agent("agent", name="加藤 大和", team_id=tableware.id)
    lead = make_agent("supervisor", name="吉田 真央")
    ticket, _ = make_ticket("マグカップの持ち手が欠けていました", channel="email", sender="cup@example.jp",
                            name="森 美咲")
    ticket.team_id, ticket.assignee_id = tableware.id, borrower.id
    db.session.commit()

    page = login(new_context(locale="en-US"), live_server, borrower, f"/tickets/{ticket.id}")
    page.wait_for_function("() => !!(window.Tsunagu && window.Tsunagu.socket && window.Tsunagu.socket.connected)")
    expect(page.locator("[data-revoked]")).to_have_count(0)
    reply_box = page.locator("form.reply-form textarea").first
    save = page.get_by_role("button", name="Save", exact=True)
    expect(reply_box).to_be_enabled()
    expect(save).to_be_enabled()

    update_ticket(lead, ticket, assignee_id=owner.id)

    banner = page.locator("[data-revoked]")
    expect(banner).to_be_visible(timeout=5000)
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_contain_text("no longer see this ticket")
    expect(reply_box).to_be_disabled()
    expect(save).to_be_disabled()
