"""Executing retention actions from a ticket (local backend): records, drafts, outcomes, the panel."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask import render_template_string
from sqlalchemy import func, select

from app.extensions import db
from app.models import Agent, Coupon, Event, RetentionCase, Subscription, SubscriptionAction, Team, Ticket
from app.retention import panel, services
from app.retention.actions import ActionError
from tests.race_helpers import run_together
from tests.factories import PASSWORD, make_agent, make_ticket
from tests.live import live_server  # noqa: F401  (fixture)
from tests.retention_helpers import make_product, make_subscription, req  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("req")


def today():
    return services.calendar().today


def cancellation_ticket(text="定期便を解約したいです。まだ3袋も余っています。", asked=None, **kw):
    ticket, message = make_ticket(text, created_at=asked or datetime.now(timezone.utc) - timedelta(hours=2), **kw)
    db.session.refresh(ticket)
    assert ticket.intent == "cancellation"
    return ticket


def setup_sub(ticket, **kw):
    product = make_product()
    kw.setdefault("next_ship", today() + timedelta(days=20))
    return make_subscription(ticket.customer_id, product, **kw)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_skip_applies_locally_with_event_draft_and_outcome(agent):
    ticket = cancellation_ticket(name="山田 花子")
    sub = setup_sub(ticket)
    before_next = sub.next_ship_date
    result = services.execute(agent, ticket, "skip", {}, sub.id, note="余っているため", idempotency_key="k-1")
    action = result.action
    assert action.backend == "local" and action.backend_status == "acked" and action.acked_at
    db.session.refresh(sub)
    assert sub.next_ship_date == before_next + timedelta(days=30)
    event = db.session.scalar(select(Event).where(Event.kind == "subscription.skip"))
    assert event.actor_id == agent.id and event.note == "余っているため"
    assert event.data["before"]["next_ship_date"] == before_next.isoformat()
    assert event.data["after"]["next_ship_date"] == sub.next_ship_date.isoformat()
    assert "山田 花子様" in action.reply_draft
    assert f"{sub.next_ship_date.month}月{sub.next_ship_date.day}日" in action.reply_draft
    case = db.session.scalar(select(RetentionCase))
    # saved only if it holds: judged at the next shipment after the skip
    assert (case.outcome, case.saved_by, case.subscription_id) == ("pending", "skip", sub.id)
    assert (case.outcome_due_on, case.outcome_rule) == (sub.next_ship_date, "next_shipment")
    assert case.value_retained == round(sub.price * 365 / 30)
    # a double click (same form key) does it once
    again = services.execute(agent, ticket, "skip", {}, sub.id, idempotency_key="k-1")
    assert again.action.id == action.id
    assert count(SubscriptionAction) == 1 and count(Event, Event.kind == "subscription.skip") == 1


def test_english_request_gets_an_english_draft(agent):
    ticket = cancellation_ticket("I'm travelling for two months, please pause my subscription.")
    sub = setup_sub(ticket)
    action = services.execute(agent, ticket, "pause", {"months": 2}, sub.id).action
    assert action.reply_draft.startswith("Dear") and "resume on" in action.reply_draft
    db.session.refresh(sub)
    assert sub.status == "paused" and sub.paused_until == sub.next_ship_date


@pytest.mark.parametrize("kind,params,message", [
    ("swap", {"product_id": 999999}, "Unknown product"),
    ("cycle", {"cycle_days": 31}, "cycle"),
    ("pause", {"resume_on": "2001-01-01"}, "in the past"),
    ("quantity", {"quantity": 1}, "already delivers one"),
    ("teleport", {}, "Unknown action"),
])
def test_bad_input_changes_nothing(agent, kind, params, message):
    ticket = cancellation_ticket()
    sub = setup_sub(ticket)
    snapshot = (sub.status, sub.next_ship_date, sub.product_id, sub.cycle_days, sub.quantity)
    with pytest.raises(ActionError, match=message):
        services.execute(agent, ticket, kind, params, sub.id)
    db.session.refresh(sub)
    assert (sub.status, sub.next_ship_date, sub.product_id, sub.cycle_days, sub.quantity) == snapshot
    assert count(SubscriptionAction) == 0
    assert count(Event, Event.kind.like("subscription.%")) == 0
    assert db.session.scalar(select(RetentionCase.outcome)) == "open"


def test_another_customers_subscription_is_refused(agent):
    ticket = cancellation_ticket()
    other = cancellation_ticket(sender="someone-else@example.jp")
    sub = setup_sub(other)
    with pytest.raises(ActionError, match="this customer's subscriptions"):
        services.execute(agent, ticket, "skip", {}, sub.id)


def test_cancel_applies_from_the_first_request_time(agent):
    asked = datetime.now(timezone.utc) - timedelta(days=1, hours=3)
    ticket = cancellation_ticket("解約してください。", asked=asked)
    sub = setup_sub(ticket)
    action = services.execute(agent, ticket, "cancel", {}, sub.id).action
    db.session.refresh(sub)
    assert sub.status == "cancelled" and sub.next_ship_date is None
    assert sub.cancelled_at == asked
    assert db.session.scalar(select(RetentionCase.outcome)) == "cancelled"
    assert "解約いたしました" in action.reply_draft
    with pytest.raises(ActionError, match="already cancelled"):
        services.execute(agent, ticket, "cancel", {}, sub.id)


def test_cancel_now_instead_of_the_request_time(agent):
    ticket = cancellation_ticket("解約してください。", asked=datetime.now(timezone.utc) - timedelta(days=3))
    sub = setup_sub(ticket)
    services.execute(agent, ticket, "cancel", {"from_request": False}, sub.id)
    db.session.refresh(sub)
    assert datetime.now(timezone.utc) - sub.cancelled_at < timedelta(minutes=1)


def test_late_delivery_accepted_is_its_own_outcome(agent):
    ticket = cancellation_ticket("解約してください。", asked=datetime.now(timezone.utc) - timedelta(minutes=5))
    sub = setup_sub(ticket, next_ship=today() + timedelta(days=2))  # past its 5-day deadline
    pv = services.preview_for(ticket, sub, "cancel", {})
    assert pv.locked_date == sub.next_ship_date
    action = services.execute(agent, ticket, "cancel", {"late_accepted": True}, sub.id).action
    assert action.backend_status == "acked"
    assert db.session.scalar(select(RetentionCase.outcome)) == "late_accepted"
    assert "予定どおりお届け" in action.reply_draft


def test_goodwill_coupon_goes_through_the_coupon_feature(agent):
    ticket = cancellation_ticket("高いので解約したいです。")
    setup_sub(ticket)
    result = services.execute(agent, ticket, "coupon", {"value": 500, "valid_days": 30}, None, idempotency_key="c-1")
    coupon = db.session.scalar(select(Coupon))
    assert coupon.status == "issued" and coupon.value == 500 and coupon.reason == "解約防止"
    assert result.action.case_id is not None and coupon.code in result.action.reply_draft
    case = db.session.scalar(select(RetentionCase))
    assert (case.outcome, case.saved_by) == ("pending", "coupon")


def test_panel_ranks_actions_keeps_cancel_and_respects_the_money_cooldown(agent):
    ticket = cancellation_ticket("値段が高いので解約したいです。")
    sub = setup_sub(ticket, quantity=2)
    built = panel.build(ticket)
    kinds = [c.kind for c in built.cards]
    assert kinds[0] == "coupon" and kinds[-1] == "cancel"
    assert all(c.options for c in built.cards)
    assert built.cards[-1].options[0].error is None  # cancel is always possible
    db.session.add(Coupon(customer_id=ticket.customer_id, value=300, status="issued", code="ABCDE-FGHJK",
                          created_at=datetime.now(timezone.utc) - timedelta(days=30)))
    db.session.commit()
    built = panel.build(ticket)
    assert "coupon" not in [c.kind for c in built.cards]
    assert built.money_blocked_until == today() + timedelta(days=70)
    assert [c.kind for c in built.cards][-1] == "cancel"
    pause = next(c for c in built.cards if c.kind == "pause")
    assert [o.params["months"] for o in pause.options] == [1, 2, 3]
    assert sub.id == built.subscription.id


def test_panel_for_an_unflagged_ticket_is_one_query_and_offers_the_flag(agent, app):
    ticket, _ = make_ticket("商品の使い方を教えてください")
    html = render_template_string("{{ retention_panel(ticket) }}", ticket=ticket)
    assert "Mark as cancellation request" in html and 'name="csrf_token"' in html


# --- through the routes -------------------------------------------------------------------------

def test_panel_page_and_one_click_forms(client, agent, login_as):
    ticket = cancellation_ticket()
    sub = setup_sub(ticket)
    login_as(agent)
    page = client.get(f"/tickets/{ticket.id}/retention")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Not a cancellation" in html and "cancel-button" in html and 'name="csrf_token"' in html
    assert html.count('name="kind" value="cancel"') >= 1
    response = client.post(f"/tickets/{ticket.id}/retention/actions",
                           data={"kind": "pause", "subscription_id": sub.id, "months": 2, "key": "route-1",
                                 "version": sub.version, "next": f"/tickets/{ticket.id}/retention"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/retention#retention")
    db.session.expire_all()
    assert db.session.get(Subscription, sub.id).status == "paused"
    response = client.post(f"/tickets/{ticket.id}/retention/clear", data={"next": "//evil.example/"})
    assert response.headers["Location"].endswith(f"/tickets/{ticket.id}#retention")
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).intent is None


def test_routes_refuse_tickets_the_agent_cannot_see(client, agent, login_as):
    ticket = cancellation_ticket()
    team = Team(name="hidden-team")
    db.session.add(team)
    db.session.flush()
    ticket.team_id = team.id
    db.session.commit()
    login_as(agent)
    assert client.get(f"/tickets/{ticket.id}/retention").status_code == 404
    assert client.post(f"/tickets/{ticket.id}/retention/clear").status_code == 404
    assert db.session.get(Ticket, ticket.id).intent == "cancellation"


def test_outcome_by_hand(client, agent, login_as):
    ticket = cancellation_ticket()
    login_as(agent)
    client.post(f"/tickets/{ticket.id}/retention/outcome", data={"outcome": "saved", "note": "電話で継続に納得"})
    case = db.session.scalar(select(RetentionCase))
    db.session.refresh(case)
    assert (case.outcome, case.saved_by, case.outcome_by_id) == ("pending", "conversation", agent.id)


def test_customer_who_insists_after_a_save_reopens_the_request(agent):
    first = datetime.now(timezone.utc) - timedelta(days=2)
    ticket = cancellation_ticket("定期を解約したいです。", asked=first, sender="insist@example.jp", thread_key="ins-1")
    sub = setup_sub(ticket)
    services.execute(agent, ticket, "skip", {}, sub.id)
    from app.ingest import ingest
    from tests.factories import inbound

    ingest(inbound("やはり解約してください。", sender="insist@example.jp", reply_to_keys=("ins-1",),
                   created_at=datetime.now(timezone.utc)))
    case = db.session.scalar(select(RetentionCase))
    db.session.refresh(case)
    assert case.outcome == "open" and case.first_requested_at == first
    services.execute(agent, ticket, "cancel", {}, sub.id)
    db.session.refresh(sub)
    assert sub.cancelled_at == first


def test_coupon_value_typed_by_the_agent_is_used(client, agent, login_as):
    ticket = cancellation_ticket("高いので解約したいです。")
    setup_sub(ticket)
    login_as(agent)
    html = client.get(f"/tickets/{ticket.id}/retention").get_data(as_text=True)
    coupon_form = html[html.index('name="kind" value="coupon"'):]
    coupon_form = coupon_form[:coupon_form.index("</form>")]
    assert coupon_form.count('name="value"') == 1
    client.post(f"/tickets/{ticket.id}/retention/actions",
                data={"kind": "coupon", "value": 800, "valid_days": 30, "key": "cp-1"})
    assert db.session.scalar(select(Coupon.value)) == 800


def test_forms_carry_a_working_csrf_token(app, client, agent, login_as):
    ticket = cancellation_ticket()
    sub = setup_sub(ticket)
    login_as(agent)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(f"/tickets/{ticket.id}/retention/actions", data={"kind": "skip", "subscription_id": sub.id})
        assert refused.status_code == 400
        html = client.get(f"/tickets/{ticket.id}/retention").get_data(as_text=True)
        token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        done = client.post(f"/tickets/{ticket.id}/retention/actions",
                           data={"kind": "skip", "subscription_id": sub.id, "csrf_token": token,
                                 "version": sub.version})
        assert done.status_code == 302
        assert count(SubscriptionAction) == 1
        # the signed shop hook is exempt (it has no session to forge)
        assert client.post("/hooks/commerce", json={}).status_code in (401, 503)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# --- actions that cannot double -----------------------------------------------------------------

def _short(day) -> str:
    return f"{day.month}/{day.day}"


def test_a_stale_skip_is_refused_saying_what_changed(agent):
    ticket = cancellation_ticket("定期の解約をお願いします。届いた分がまだ残っていて。")
    sub = setup_sub(ticket, next_ship=today() + timedelta(days=17))
    seen, first_next = sub.version, sub.next_ship_date
    colleague = make_agent("agent", name="佐々木 蓮")
    services.execute(colleague, ticket, "skip", {}, sub.id, version=seen)
    db.session.refresh(sub)
    second_next = sub.next_ship_date
    assert sub.version > seen and second_next == first_next + timedelta(days=30)
    with pytest.raises(services.StaleAction) as refused:
        services.execute(agent, ticket, "skip", {}, sub.id, version=seen)
    assert "佐々木 蓮" in refused.value.message
    assert f"{_short(first_next)} → {_short(second_next)}" in refused.value.message
    db.session.refresh(sub)
    assert sub.next_ship_date == second_next  # skipped once
    assert count(SubscriptionAction) == 1


def test_a_form_without_a_version_is_refused_not_applied(agent):
    ticket = cancellation_ticket()
    sub = setup_sub(ticket)
    with pytest.raises(services.StaleAction):
        services.execute(agent, ticket, "cycle", {"cycle_days": 60}, sub.id, version=services.seen_version(None))
    db.session.refresh(sub)
    assert sub.cycle_days == 30 and count(SubscriptionAction) == 0


def test_cancel_from_a_stale_panel_still_goes_through(agent):
    ticket = cancellation_ticket("もう結構です。解約で。")
    sub = setup_sub(ticket)
    seen = sub.version
    services.execute(make_agent("agent", name="北村 葵"), ticket, "pause", {"months": 1}, sub.id, version=seen)
    action = services.execute(agent, ticket, "cancel", {}, sub.id, version=seen).action
    assert action.backend_status == "acked"
    db.session.refresh(sub)
    assert sub.status == "cancelled"
    assert db.session.scalar(select(RetentionCase.outcome)) == "cancelled"


def _race(app, jobs):
    return run_together(app, jobs, request=True)


def _execute_job(agent_id, ticket_id, kind, params, sub_id, version, key):
    def job():
        agent = db.session.get(Agent, agent_id)
        ticket = db.session.get(Ticket, ticket_id)
        return services.execute(agent, ticket, kind, params, sub_id, idempotency_key=key, version=version).action.id
    return job


@pytest.mark.parametrize("kind,params", [("skip", {}), ("pause", {"months": 2}), ("cycle", {"cycle_days": 45})])
def test_two_agents_clicking_at_once_change_the_subscription_once(app, backend, agent, kind, params):
    ticket = cancellation_ticket("今回でやめたいです。在庫が余っています。")
    sub = setup_sub(ticket, next_ship=today() + timedelta(days=24))
    other = make_agent("agent", name="早川 湊")
    old_next = sub.next_ship_date
    results = _race(app, [_execute_job(agent.id, ticket.id, kind, params, sub.id, sub.version, "race-a"),
                          _execute_job(other.id, ticket.id, kind, params, sub.id, sub.version, "race-b")])
    done = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, services.StaleAction)]
    assert len(done) == 1 and len(refused) == 1, results
    db.session.expire_all()
    assert count(SubscriptionAction) == 1 and count(Event, Event.kind == f"subscription.{kind}") == 1
    fresh = db.session.get(Subscription, sub.id)
    if kind == "skip":
        assert fresh.next_ship_date == old_next + timedelta(days=30)


def test_two_agents_offering_a_coupon_at_once_issue_one(app, backend, agent):
    ticket = cancellation_ticket("高すぎるので解約します。")
    sub = setup_sub(ticket)
    other = make_agent("agent", name="村上 結衣")
    params = {"value": 500, "valid_days": 30}
    results = _race(app, [_execute_job(agent.id, ticket.id, "coupon", params, sub.id, sub.version, "cp-a"),
                          _execute_job(other.id, ticket.id, "coupon", params, sub.id, sub.version, "cp-b")])
    assert sum(isinstance(r, services.StaleAction) for r in results) == 1, results
    db.session.expire_all()
    assert count(Coupon) == 1


def test_ladder_after_a_skip_says_what_was_done_and_offers_no_second_skip(agent):
    ticket = cancellation_ticket("余りすぎて困っています。解約したい。")
    sub = setup_sub(ticket, next_ship=today() + timedelta(days=12))
    old_next = sub.next_ship_date
    assert "skip" in [c.kind for c in panel.build(ticket).cards]
    services.execute(agent, ticket, "skip", {}, sub.id, version=sub.version)
    built = panel.build(ticket)
    db.session.refresh(sub)
    assert "skip" not in [c.kind for c in built.cards] and built.cards[-1].kind == "cancel"
    assert [line for _, line in built.done] == [f"Skipped: {_short(old_next)} → {_short(sub.next_ship_date)}"]
    assert built.version == sub.version
    html = render_template_string("{{ retention_panel(ticket) }}", ticket=ticket)
    assert f'name="version" value="{sub.version}"' in html and "retention-done" in html


def test_a_paused_subscription_offers_resume_instead_of_pause(agent):
    ticket = cancellation_ticket("しばらく入院するので止めたいです。")
    sub = setup_sub(ticket, next_ship=today() + timedelta(days=15))
    services.execute(agent, ticket, "pause", {"months": 3}, sub.id, version=sub.version)
    built = panel.build(ticket)
    kinds = [c.kind for c in built.cards]
    assert kinds[0] == "resume" and "pause" not in kinds and "skip" not in kinds and kinds[-1] == "cancel"
    db.session.refresh(sub)
    action = services.execute(agent, ticket, "resume", {}, sub.id, version=sub.version).action
    db.session.refresh(sub)
    assert sub.status == "active" and sub.paused_until is None
    assert sub.next_ship_date >= services.calendar().earliest_changeable()
    assert "再開" in action.reply_draft


def test_a_cancelled_subscription_offers_nothing_more(agent):
    ticket = cancellation_ticket("定期便の解約手続きをお願いします。")
    sub = setup_sub(ticket)
    services.execute(agent, ticket, "cancel", {}, sub.id)
    built = panel.build(ticket)
    assert built.cards == [] and built.done and built.done[-1][0].kind == "cancel"


def test_a_stale_click_through_the_route_flashes_and_shows_the_fresh_state(client, agent, login_as):
    ticket = cancellation_ticket("定期便をやめたいです。")
    sub = setup_sub(ticket)
    stale = sub.version
    services.execute(make_agent("agent", name="横山 陽菜"), ticket, "skip", {}, sub.id, version=stale)
    login_as(agent)
    response = client.post(f"/tickets/{ticket.id}/retention/actions", follow_redirects=True,
                           data={"kind": "skip", "subscription_id": sub.id, "version": stale, "key": "stale-1",
                                 "next": f"/tickets/{ticket.id}/retention"})
    html = response.get_data(as_text=True)
    assert "was changed after you opened the panel" in html and "横山 陽菜" in html
    db.session.refresh(sub)
    assert f'name="version" value="{sub.version}"' in html
    assert count(SubscriptionAction) == 1


def test_every_viewer_of_the_customer_hears_the_change(app, agent):
    from app.extensions import socketio
    from tests.factories import PASSWORD

    ticket = cancellation_ticket("解約希望です。")
    sub = setup_sub(ticket)
    web = app.test_client()
    assert web.post("/login", data={"email": agent.email, "password": PASSWORD}).status_code == 302
    sock = socketio.test_client(app, flask_test_client=web)
    assert sock.emit("ticket.join", {"ticket_id": ticket.id}, callback=True) == {"ok": True}
    sock.get_received()
    services.execute(make_agent("agent", name="森 大和"), ticket, "skip", {}, sub.id, version=sub.version)
    changed = [e["args"][0] for e in sock.get_received() if e["name"] == "subscription.changed"]
    db.session.refresh(sub)
    assert changed and changed[-1]["subscription_id"] == sub.id and changed[-1]["version"] == sub.version


def _browser_login(new_context, base, who):
    page = new_context(locale="en-US").new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", who.email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def test_a_colleagues_panel_follows_live_and_stops_offering_the_skip(app, live_server, new_context, agent):
    ticket = cancellation_ticket("在庫がだぶついているので、定期便を解約したいです。")
    sub = setup_sub(ticket, next_ship=today() + timedelta(days=19))
    old_next = sub.next_ship_date
    colleague = make_agent("agent", name="Ishida Ren")
    mine = _browser_login(new_context, live_server, agent)
    theirs = _browser_login(new_context, live_server, colleague)
    for page in (mine, theirs):
        page.goto(f"{live_server}/tickets/{ticket.id}")
        page.wait_for_selector(".retention-ladder .kind-skip button")
    theirs.wait_for_function("() => !!(window.Tsunagu && window.Tsunagu.socket && window.Tsunagu.socket.connected)")
    theirs.wait_for_timeout(300)  # the room join answers right after connect
    mine.click(".retention-ladder .kind-skip button[type=submit]")
    mine.wait_for_selector(".retention-done")
    # the colleague did nothing: their panel replaced itself
    theirs.wait_for_selector(".retention-panel[data-refreshed] .retention-done", timeout=10000)
    db.session.expire_all()
    fresh = db.session.get(Subscription, sub.id)
    done_text = theirs.inner_text(".retention-done")
    assert f"Skipped: {_short(old_next)} → {_short(fresh.next_ship_date)}" in done_text and agent.name in done_text
    assert theirs.query_selector(".retention-ladder .kind-skip") is None
    versions = {el.get_attribute("value") for el in theirs.query_selector_all("input[name=version]")}
    assert versions == {str(fresh.version)}
    assert theirs.query_selector(".retention-ladder .cancel-button") is not None  # cancel stays one click


def test_a_shop_sync_makes_an_open_panel_stale_and_refreshes_it(app, client, agent):
    import json
    import time as clock

    from app.extensions import socketio
    from app.models import Customer
    from app.shop.backends import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

    app.config["COMMERCE_WEBHOOK_SECRET"] = "sync-secret"
    ticket = cancellation_ticket("もう続けられないので定期便を解約します。")
    sub = setup_sub(ticket, next_ship=today() + timedelta(days=21))
    db.session.get(Customer, ticket.customer_id).external_id = "C-sync-7"
    db.session.commit()
    seen = sub.version
    web = app.test_client()
    assert web.post("/login", data={"email": agent.email, "password": PASSWORD}).status_code == 302
    sock = socketio.test_client(app, flask_test_client=web)
    assert sock.emit("ticket.join", {"ticket_id": ticket.id}, callback=True) == {"ok": True}
    sock.get_received()
    moved = today() + timedelta(days=35)
    body = json.dumps({"type": "subscription.updated", "data": {
        "external_id": sub.external_id, "customer_external_id": "C-sync-7",
        "product_external_id": sub.product.external_id, "cycle_days": 30, "quantity": 1, "price": sub.price,
        "next_ship_date": moved.isoformat(), "deliveries": sub.deliveries}}).encode()
    stamp = str(int(clock.time()))
    answer = client.post("/hooks/commerce", data=body, content_type="application/json",
                         headers={TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: "sha256=" + sign("sync-secret", stamp, body)})
    assert answer.get_json()["status"] == "updated"
    db.session.expire_all()
    fresh = db.session.get(Subscription, sub.id)
    assert fresh.next_ship_date == moved and fresh.version == seen + 1
    assert [e for e in sock.get_received() if e["name"] == "subscription.changed"]
    with pytest.raises(services.StaleAction, match="updated from the shop"):
        services.execute(agent, ticket, "skip", {}, sub.id, version=seen)
