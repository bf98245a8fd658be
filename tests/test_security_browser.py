"""In Chromium: hostile customer content stays text, and the CSP blocks nothing of our own.

A page whose own scripts trip the CSP is broken for agents; a sanitiser bypass must still not run
script. Both are checked with a real browser: console CSP reports are collected and any
alert() fails the test.
"""
from __future__ import annotations

from app.extensions import db
from tests.factories import PASSWORD, make_agent, make_ticket
from tests.live import live_server  # noqa: F401  (fixture)

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>"\'><svg onload=alert(3)>'


def _watch(page, problems):
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("console", lambda m: problems.append(f"console: {m.text}")
            if "Content Security Policy" in m.text or "Refused to" in m.text else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))


def test_hostile_content_is_inert_and_our_pages_satisfy_the_csp(app, live_server, new_context):
    supervisor = make_agent("supervisor", name="監督")
    ticket, message = make_ticket(f"本文 {HOSTILE}", subject=f"件名 {HOSTILE}", channel="email",
                                  sender="evil@example.jp", name=f"名前 {HOSTILE}")
    # What a sanitiser bypass would leave: the sandbox and the frame's own CSP must still hold.
    message.body_html = f"<p>メール</p>{HOSTILE}<a href=\"javascript:alert(4)\">link</a>"
    db.session.commit()
    context = new_context(locale="en-US")
    page = context.new_page()
    problems: list[str] = []
    _watch(page, problems)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", supervisor.email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    for path in ("/", f"/tickets/{ticket.id}", f"/customers/{ticket.customer_id}", "/search?q=件名",
                 "/reports/", "/sla/live", "/coupons/requests", "/social/listening"):
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
        if path.startswith("/tickets/"):
            assert HOSTILE.split(">")[0] in page.inner_text("body")  # shown as text
    assert not problems, problems  # our own pages: no CSP report, no script error, no dialog
    # The email view, directly and inside a sandboxed frame as the ticket page embeds it.
    page.goto(f"{live_server}/messages/{message.id}/html")
    page.goto(f"{live_server}/tickets/{ticket.id}")
    page.click("details.email-html > summary")  # the ticket page's own sandboxed frame
    frame = page.frame_locator("details.email-html iframe[sandbox]").first
    assert "メール" in frame.locator("body").inner_text()
    page.wait_for_timeout(300)
    dialogs = [p for p in problems if p.startswith(("dialog", "pageerror"))]
    assert not dialogs, dialogs  # CSP reports about the hostile markup itself are expected
