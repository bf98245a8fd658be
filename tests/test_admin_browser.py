"""Browser: the settings hub reached from the navigation, a user invited and deactivated, and a
customer merge compared, done and undone — in Japanese and English Chromium."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Agent, Customer
from tests.factories import PASSWORD, make_agent, make_customer
from tests.live import live_server  # noqa: F401  (fixture)


def _login(context, base, agent):
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", agent.email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_admin_invites_then_deactivates_a_user_from_the_navigation(app, live_server, new_context, locale):
    app.config["SMTP_HOST"] = None  # no mail server: the page hands the link to the admin
    admin = make_agent("admin", name="管理 さやか")
    page = _login(new_context(locale=locale), live_server, admin)
    expect(page.locator("html")).to_have_attribute("lang", locale[:2])
    page.locator('nav.mainnav a[href="/admin"]').click()
    page.locator('a[href="/admin/users"]').first.click()
    page.locator('a[href="/admin/users/new"]').click()
    page.fill("input[name=name]", "新人 はるか")
    page.fill("input[name=email]", f"haruka.{locale[:2]}@matsuya-tea.example")
    page.select_option("select[name=role]", "agent")
    page.check("input[name=mode][value=invite]")
    page.locator("form.admin-user-form [type=submit]").click()
    expect(page.locator(".flash-error")).to_contain_text("/set-password/")
    invited = db.session.scalar(select(Agent).where(Agent.email == f"haruka.{locale[:2]}@matsuya-tea.example"))
    row = page.locator(f"#user-{invited.id}")
    expect(row).to_contain_text("新人 はるか")
    row.locator("a").first.click()
    page.locator("form[action$='/active'] button").click()
    expect(page.locator(".flash-success")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Agent, invited.id).active is False


def test_supervisor_compares_merges_and_undoes(app, live_server, new_context):
    boss = make_agent("supervisor", name="監督 ひかり")
    left = make_customer("藤田 颯", email="hayate.f@example.jp")
    right = make_customer("藤田　颯", email="fujita.hayate@example.jp")
    page = _login(new_context(locale="ja-JP"), live_server, boss)
    page.goto(f"{live_server}/customers/{left.id}")
    page.locator(f".merge-candidates a[href*='target_id={right.id}']").click()
    expect(page.locator("#merge-side-1")).to_contain_text("hayate.f@example.jp")
    expect(page.locator("#merge-side-2")).to_contain_text("fujita.hayate@example.jp")
    page.locator(".merge-confirm button[type=submit]").click()
    page.wait_for_url(f"**/customers/{right.id}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator(".merge-undo button").click()
    expect(page.locator(".flash-success")).to_contain_text(f"#{left.id}")
    db.session.expire_all()
    assert db.session.get(Customer, left.id).merged_into_id is None
