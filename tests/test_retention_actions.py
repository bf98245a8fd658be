"""Executing retention actions from a ticket (local backend): records, drafts, outcomes, the panel."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask import render_template_string
from sqlalchemy import func, select

from app.extensions import db
from app.models import Coupon, Event, RetentionCase, Subscription, SubscriptionAction, Team, Ticket
from app.retention import panel, services
from app.retention.actions import ActionError
from tests.factories import make_ticket
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
    assert (case.outcome, case.saved_by, case.subscription_id) == ("saved", "skip", sub.id)
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
    assert (case.outcome, case.saved_by) == ("saved", "coupon")


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
                                 "next": f"/tickets/{ticket.id}/retention"})
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
    assert (case.outcome, case.saved_by, case.outcome_by_id) == ("saved", "conversation", agent.id)


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
                           data={"kind": "skip", "subscription_id": sub.id, "csrf_token": token})
        assert done.status_code == 302
        assert count(SubscriptionAction) == 1
        # the signed shop hook is exempt (it has no session to forge)
        assert client.post("/hooks/commerce", json={}).status_code in (401, 503)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
