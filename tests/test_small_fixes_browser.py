"""Small fixes only a browser shows (real Chromium, the app served live): a supervisor's coupon
decision reaches the agent's open ticket, and names in the inbox never break inside a word."""
from __future__ import annotations

from app.coupons import services
from app.extensions import db
from tests.coupon_helpers import coupon_input
from tests.factories import PASSWORD, make_ticket
from tests.test_coupons_browser import live_server  # noqa: F401  (the app served in a thread)


def _signed_in(new_context, base, who, width=1280):
    page = new_context(locale="ja-JP", viewport={"width": width, "height": 900}).new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", who.email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def test_a_coupon_approval_reaches_the_agents_open_ticket(app, live_server, new_context, agent, supervisor):
    ticket = make_ticket("二度も届かなかったので返金かクーポンをお願いします", channel="email",
                         sender="refund.please@example.jp", name="岡田 直美")[0]
    request = services.issue(agent, ticket, coupon_input(value=9000, reason="配送遅延", text="二度の不着"))
    assert request.status == "requested"
    page = _signed_in(new_context, live_server, agent)
    page.goto(f"{live_server}/tickets/{ticket.id}")
    page.wait_for_selector(f"#coupons [data-coupon-id='{request.id}'].coupon-requested")
    page.wait_for_function("() => !!(window.Tsunagu && window.Tsunagu.socket && window.Tsunagu.socket.connected)")
    page.wait_for_timeout(300)  # the join of the ticket room is acknowledged asynchronously

    coupon = services.decide(supervisor, request.id, approve=True, note="不着2回のため承認")

    page.wait_for_selector(f"#coupons [data-coupon-id='{request.id}'].coupon-issued", timeout=10000)
    assert coupon.code in page.inner_text("#coupons")


def test_inbox_names_and_heads_do_not_break_inside_a_word(app, live_server, new_context, agent):
    make_ticket("定期便の曜日を変えたい", channel="email", sender="kyoko.h@example.jp", name="長谷川 京子")
    db.session.commit()
    page = _signed_in(new_context, live_server, agent, width=900)
    page.goto(f"{live_server}/")
    cell = page.wait_for_selector("td.customer")
    # Every line the name occupies starts at a word: the characters of each word share one line.
    lines = page.evaluate("""(td) => {
        const text = td.firstChild, tops = [];
        for (let i = 0; i < text.length; i++) {
            const range = document.createRange();
            range.setStart(text, i); range.setEnd(text, i + 1);
            tops.push(Math.round(range.getBoundingClientRect().top));
        }
        return {text: text.textContent, tops};
    }""", cell)
    words = lines["text"].split(" ")
    at = 0
    for word in words:
        assert len(set(lines["tops"][at:at + len(word)])) == 1, (word, lines)
        at += len(word) + 1
    for head in page.query_selector_all("table.tickets th"):
        box = head.bounding_box()
        style = page.evaluate("(th) => parseFloat(getComputedStyle(th).lineHeight) || 20", head)
        assert box["height"] < style * 1.8, head.inner_text()  # one line, "チャネル" whole
