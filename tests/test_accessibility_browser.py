"""Browser: accessibility (JIS X 8341-3 / WCAG 2.1 AA) of every main screen, in Japanese and English.

axe-core (vendored from npm in tests/vendor/axe-core/, injected by the test only, never served) runs
over each screen of a seeded shop; any violation of a WCAG 2.0/2.1 A or AA rule fails the test.
The keyboard test tabs through the main flow (inbox -> ticket -> reply) and checks that every
focused control shows a visible focus ring (:focus-visible)."""
from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from tests.live import live_server  # noqa: F401  (fixture)
from tests.screen_helpers import AGENT, screenshot, seed_shop, sign_in

AXE = os.path.join(os.path.dirname(__file__), "vendor", "axe-core", "axe.min.js")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG A/AA violations on the page as it is now, one dict per rule."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=AXE)
    return page.evaluate("""async (tags) => {
      const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
      return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 160),
                                  summary: (n.failureSummary || '').slice(0, 300)}))}));
    }""", WCAG_TAGS)


def describe(found: dict[str, list[dict]]) -> str:
    lines = []
    for screen, violations in found.items():
        for v in violations:
            lines.append(f"{screen}: {v['id']} ({v['impact']}, {len(v['nodes'])} nodes) {v['help']}")
            for node in v["nodes"][:4]:
                lines.append(f"    {node['target']}  {node['html']}\n      {node['summary']}")
    return "\n".join(lines)


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_every_main_screen_has_no_wcag_violations(app, live_server, new_context, locale):
    shop = seed_shop()
    context = new_context(locale=locale, bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = sign_in(context, live_server)
    found: dict[str, list[dict]] = {}
    for name, path in shop.screens().items():
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, (name, path, response.status)
        page.wait_for_load_state("networkidle")
        violations = axe_violations(page)
        if violations:
            found[name] = violations
    # The sign-in page, signed out.
    anonymous = new_context(locale=locale, bypass_csp=True).new_page()
    anonymous.goto(f"{live_server}/login")
    if violations := axe_violations(anonymous):
        found["login"] = violations
    assert not found, "\n" + describe(found)


def focus_ring(page) -> dict:
    """The focused element and whether it shows a focus indicator that can be seen."""
    return page.evaluate("""() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
      const ring = style.boxShadow && style.boxShadow !== 'none';
      return {tag: el.tagName, text: (el.innerText || el.value || el.getAttribute('aria-label') || '').slice(0, 40),
              focusVisible: el.matches(':focus-visible'), visible: outline || ring,
              outline: style.outlineStyle + ' ' + style.outlineWidth + ' ' + style.outlineColor};
    }""")


def tab_until(page, predicate, limit: int = 60) -> list[dict]:
    """Press Tab until the focused element matches the predicate (JS); returns every focus seen."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.append(focus_ring(page))
        if page.evaluate(f"() => {{ const el = document.activeElement; return {predicate}; }}"):
            return seen
    raise AssertionError(f"never reached {predicate}: {[s['tag'] + ' ' + s['text'] for s in seen]}")


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_keyboard_inbox_to_ticket_to_reply_with_visible_focus(app, live_server, new_context, locale):
    shop = seed_shop()
    page = sign_in(new_context(locale=locale, viewport={"width": 1280, "height": 900}), live_server, AGENT)
    page.goto(f"{live_server}/")
    ticket_id = shop.ticket_ids["open"]

    # Tab from the top of the inbox to the ticket's link; every stop shows its focus.
    seen = tab_until(page, f"el.matches('tr.ticket-row[data-ticket-id=\"{ticket_id}\"] td.subject a')", 120)
    hidden = [s for s in seen if not (s["focusVisible"] and s["visible"])]
    assert not hidden, hidden
    screenshot(page, f"focus-inbox-{locale}")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/tickets/{ticket_id}$"))

    # On the ticket, Tab reaches the reply box; write a reply and send it from the keyboard.
    seen = tab_until(page, "el.matches('textarea.reply-body')", 200)
    hidden = [s for s in seen if not (s["focusVisible"] and s["visible"])]
    assert not hidden, hidden
    page.keyboard.type("お問い合わせありがとうございます。確認のうえ、改めてご連絡いたします。")
    seen = tab_until(page, "el.matches('form.reply-form [type=submit]')", 20)
    assert all(s["focusVisible"] and s["visible"] for s in seen), seen
    screenshot(page, f"focus-reply-{locale}")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "#m" in url)
    expect(page.locator(".entry.msg.dir-out").last).to_contain_text("改めてご連絡いたします")
