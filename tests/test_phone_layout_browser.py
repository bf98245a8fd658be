"""Browser: the workspace on a phone (390×844), in Japanese and English — the navigation folds into
one scrolling strip, no page is wider than the screen, no text is squeezed to a character or two per
line, and an agent can read a ticket, reply and add a note. Screenshots of every screen (at 390 px,
and at 1280 px for comparison) go to TSUNAGU_SCREENSHOTS or /tmp/tsunagu-screens."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.live import live_server  # noqa: F401  (fixture)
from tests.screen_helpers import AGENT, screenshot, seed_shop, sign_in

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
PHONE_SCREENS = ("inbox", "ticket-email", "ticket-x", "ticket-cancellation", "customer", "search",
                 "listening", "coupon-requests", "sla-live", "reports")


def page_width(page) -> int:
    return page.evaluate("() => document.scrollingElement.scrollWidth")


def too_wide(page, limit: int) -> list[str]:
    """Visible elements whose right edge passes the screen's (what makes the page scroll sideways),
    leaving out those inside a container that scrolls on its own."""
    return page.evaluate("""(limit) => [...document.querySelectorAll('body *')].filter(el => {
        const box = el.getBoundingClientRect();
        if (!box.width || box.right <= limit + 1) return false;
        for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
          const style = getComputedStyle(up);
          if (['auto', 'scroll', 'hidden'].includes(style.overflowX) && up.getBoundingClientRect().right <= limit + 1)
            return false;
        }
        return true;
      }).map(el => el.tagName.toLowerCase() + '.' + [...el.classList].join('.') + ' right=' +
                   Math.round(el.getBoundingClientRect().right)).slice(0, 12)""", limit)


def squeezed_text(page) -> list[dict]:
    """Visible text broken onto several lines of at most two characters each (a label in a column
    too narrow for it)."""
    return page.evaluate("""() => {
      const bad = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent.trim();
        if (text.length < 3 || !node.parentElement || !node.parentElement.offsetParent) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        const rects = [...range.getClientRects()].filter(r => r.width > 0);
        const lines = new Set(rects.map(r => Math.round(r.top))).size;
        if (lines < 2) continue;
        const size = parseFloat(getComputedStyle(node.parentElement).fontSize);
        const widest = Math.max(...rects.map(r => r.width));
        if (widest < 2.6 * size) bad.push({text: text.slice(0, 30), lines, widest: Math.round(widest),
                                           in: node.parentElement.tagName + '.' + node.parentElement.className});
      }
      return bad.slice(0, 12);
    }""")


def nav_is_one_strip(page) -> dict:
    return page.evaluate("""() => {
      const nav = document.querySelector('.mainnav');
      const links = [...nav.querySelectorAll(':scope > a')];
      const tops = new Set(links.map(a => Math.round(a.getBoundingClientRect().top)));
      return {rows: tops.size, linkHeights: links.map(a => Math.round(a.getBoundingClientRect().height)),
              fontSize: parseFloat(getComputedStyle(links[0]).fontSize)};
    }""")


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_main_screens_fit_a_phone(app, live_server, new_context, locale):
    shop = seed_shop()
    screens = shop.screens()
    phone = sign_in(new_context(locale=locale, viewport=PHONE, is_mobile=True, has_touch=True), live_server)
    desktop = sign_in(new_context(locale=locale, viewport=DESKTOP), live_server)
    problems = {}
    for name in PHONE_SCREENS:
        for page, size in ((phone, "390"), (desktop, "1280")):
            page.goto(f"{live_server}{screens[name]}")
            page.wait_for_load_state("networkidle")
            screenshot(page, f"{name}-{size}-{locale}")
        found = {}
        if (width := page_width(phone)) > PHONE["width"]:
            found["page width"] = width
            found["too wide"] = too_wide(phone, PHONE["width"])
        if squeezed := squeezed_text(phone):
            found["squeezed"] = squeezed
        nav = nav_is_one_strip(phone)
        if nav["rows"] != 1 or max(nav["linkHeights"]) > 2.2 * nav["fontSize"]:
            found["nav"] = nav
        if found:
            problems[name] = found
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_read_reply_and_note_on_a_phone(app, live_server, new_context, locale):
    shop = seed_shop()
    page = sign_in(new_context(locale=locale, viewport=PHONE, is_mobile=True, has_touch=True), live_server, AGENT)
    page.goto(f"{live_server}/")
    # The inbox row opens the ticket with a tap.
    page.locator(f"tr.ticket-row[data-ticket-id='{shop.ticket_ids['open']}'] td.subject a").tap()
    page.wait_for_url(f"**/tickets/{shop.ticket_ids['open']}")
    assert page_width(page) <= PHONE["width"]

    # The customer's message is readable at full width, not a narrow column.
    first = page.locator(".tl-group.focused .entry.msg").first
    expect(first).to_be_visible()
    assert first.bounding_box()["width"] >= 0.8 * PHONE["width"]

    reply = page.locator("textarea.reply-body")
    reply.fill("ご連絡ありがとうございます。次回のお届けから変更しておきます。")
    assert reply.bounding_box()["width"] >= 0.8 * PHONE["width"]
    page.locator("form.reply-form [type=submit]").tap()
    page.wait_for_url(lambda url: "#m" in url)
    expect(page.locator(".entry.msg.dir-out").last).to_contain_text("次回のお届けから変更しておきます")
    assert page_width(page) <= PHONE["width"]

    note_box = page.locator(".note-box")
    if note_box.evaluate("el => el.tagName") == "DETAILS":
        note_box.locator("summary").tap()
    note = note_box.locator("textarea")
    note.fill("電話でも確認済み（夕方希望）")
    note_box.locator("[type=submit]").tap()
    expect(page.locator(".entry.msg.dir-internal").last).to_contain_text("電話でも確認済み")
    assert page_width(page) <= PHONE["width"]
    screenshot(page, f"ticket-after-reply-and-note-390-{locale}")
