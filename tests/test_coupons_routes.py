"""Coupon pages: issuing from a ticket, authorisation, the policy and requests pages, live events."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from app.coupons import services
from app.extensions import db, socketio
from app.models import Coupon, CouponPolicy, CouponReason, Event
from tests.coupon_helpers import coupon_input, hidden_ticket, ticket_for_new_customer
from tests.factories import make_agent


def _form(**overrides):
    data = {"kind": "amount", "value": "500", "expires_on": (date.today() + timedelta(days=30)).isoformat(),
            "max_uses": "1", "reason": "配送遅延", "reason_text": "お詫び", "idempotency_key": "form-1"}
    data.update(overrides)
    return data


def _coupons() -> int:
    return db.session.scalar(select(func.count(Coupon.id)))


def test_agent_issues_from_the_ticket_and_sees_the_code(app, client, agent, login_as):
    login_as(agent)
    ticket = ticket_for_new_customer()
    page = client.get(f"/coupons/ticket/{ticket.id}")
    assert page.status_code == 200 and b'name="idempotency_key"' in page.data
    response = client.post(f"/coupons/ticket/{ticket.id}/issue",
                           data=_form(next=f"/tickets/{ticket.id}"))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/tickets/{ticket.id}#coupons")
    coupon = db.session.scalar(select(Coupon))
    assert coupon.status == "issued" and coupon.issued_by_id == agent.id
    panel = client.get(f"/coupons/ticket/{ticket.id}?partial=1").get_data(as_text=True)
    assert coupon.code in panel and f'data-coupon-code="{coupon.code}"' in panel
    # The valid-until date is the end of that day in Tokyo.
    assert coupon.expires_at.astimezone().date() >= date.today() + timedelta(days=29)


def test_a_double_submitted_form_issues_once(app, client, agent, login_as):
    login_as(agent)
    ticket = ticket_for_new_customer()
    for _ in range(2):
        assert client.post(f"/coupons/ticket/{ticket.id}/issue", data=_form()).status_code == 303
    assert _coupons() == 1


def test_bad_input_is_refused_with_a_message(app, client, agent, login_as):
    login_as(agent)
    ticket = ticket_for_new_customer()
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    for data in (_form(value="-1"), _form(kind="percent", value="150"), _form(expires_on=yesterday)):
        response = client.post(f"/coupons/ticket/{ticket.id}/issue", data=data, follow_redirects=True)
        assert response.status_code == 200 and b"flash-error" in response.data
    assert _coupons() == 0
    whys = [e.data["why"] for e in db.session.scalars(select(Event).where(Event.kind == "coupon.denied"))]
    assert whys == ["value_not_positive", "percent_over_100", "expiry_past"]


def test_an_invisible_ticket_is_404_and_audited(app, client, agent, login_as):
    login_as(agent)
    ticket = hidden_ticket()
    assert client.get(f"/coupons/ticket/{ticket.id}").status_code == 404
    assert client.post(f"/coupons/ticket/{ticket.id}/issue", data=_form()).status_code == 404
    assert client.post("/coupons/ticket/999999/issue", data=_form()).status_code == 404
    assert _coupons() == 0
    denied = list(db.session.scalars(select(Event).where(Event.kind == "coupon.denied")))
    assert [e.data["ticket_id"] for e in denied] == [ticket.id, 999999]


def test_agents_cannot_reach_policy_or_requests(app, client, agent, login_as):
    request = services.issue(make_agent("agent"), ticket_for_new_customer(), coupon_input(value=5000))
    login_as(agent)
    assert client.get("/coupons/policy").status_code == 403
    assert client.post("/coupons/policy", data={"role": "agent", "max_amount_yen": "99999"}).status_code == 403
    assert client.post("/coupons/policy/reasons", data={"label": "x"}).status_code == 403
    assert client.get("/coupons/requests").status_code == 403
    assert client.post(f"/coupons/requests/{request.id}/decide", data={"approve": "1"}).status_code == 403
    assert db.session.get(Coupon, request.id).status == "requested"


def test_supervisor_edits_policy_and_reasons(app, client, supervisor, login_as):
    login_as(supervisor)
    page = client.get("/coupons/policy")
    assert page.status_code == 200 and "配送遅延".encode() in page.data
    response = client.post("/coupons/policy", data={
        "role": "agent", "max_amount_yen": "2000", "max_percent": "15", "monthly_budget_yen": "30000",
        "customer_limit": "2", "customer_period_days": "60", "cancellation_extra": "0"})
    assert response.status_code == 303
    saved = db.session.scalar(select(CouponPolicy).where(CouponPolicy.role == "agent"))
    assert (saved.max_amount_yen, saved.max_percent, saved.customer_limit) == (2000, 15, 2)
    assert saved.cancellation_may_exceed is False
    assert client.post("/coupons/policy", data={
        "role": "agent", "max_amount_yen": "2000", "max_percent": "150", "monthly_budget_yen": "1",
        "customer_limit": "1", "customer_period_days": "1"}).status_code == 200  # form error shown
    assert db.session.scalar(select(CouponPolicy.max_percent)) == 15
    client.post("/coupons/policy/reasons", data={"label": "誕生日"})
    reason = db.session.scalar(select(CouponReason).where(CouponReason.label == "誕生日"))
    assert reason.active
    client.post(f"/coupons/policy/reasons/{reason.id}/toggle", data={"active": "0"})
    db.session.refresh(reason)
    assert not reason.active


def test_request_approved_on_the_requests_page_shows_on_the_ticket(app, client, agent, supervisor, login_as):
    ticket = ticket_for_new_customer()
    request = services.issue(agent, ticket, coupon_input(value=4000))
    login_as(supervisor)
    page = client.get("/coupons/requests")
    assert page.status_code == 200 and f'data-coupon-id="{request.id}"'.encode() in page.data
    response = client.post(f"/coupons/requests/{request.id}/decide",
                           data={"note": "特別に承認", "approve": "Approve"}, follow_redirects=True)
    assert response.status_code == 200 and b"flash-success" in response.data
    # A replayed POST is refused with a message and changes nothing.
    replay = client.post(f"/coupons/requests/{request.id}/decide",
                         data={"note": "", "approve": "Approve"}, follow_redirects=True)
    assert b"flash-error" in replay.data
    coupon = db.session.get(Coupon, request.id)
    assert coupon.status == "issued"
    login_as(agent)
    panel = client.get(f"/coupons/ticket/{ticket.id}").get_data(as_text=True)
    assert coupon.code in panel and "特別に承認" in panel


def test_supervisors_hear_requests_live(app, client, agent, supervisor, login_as):
    login_as(supervisor)
    live = socketio.test_client(app, flask_test_client=client)
    assert live.emit("coupons.join", callback=True) is True
    live.get_received()
    ticket = ticket_for_new_customer()
    request = services.issue(agent, ticket, coupon_input(value=9000))
    [event] = [m for m in live.get_received() if m["name"] == "coupon.requested"]
    payload = event["args"][0]
    assert payload["coupon_id"] == request.id and payload["value"] == 9000
    assert payload["requested_by"] == agent.name and payload["over"] == "max_amount"
    services.decide(make_agent("supervisor"), request.id, False, "予算外")
    decided = [m for m in live.get_received() if m["name"] == "coupon.decided"]
    assert decided and decided[0]["args"][0]["status"] == "refused"
    live.disconnect()


def test_only_supervisors_join_the_supervisors_room(app, agent):
    from flask_login import login_user

    from app.coupons import live

    with app.test_request_context():
        login_user(agent)
        assert live.join_supervisors() is False


def test_the_ticket_page_shows_the_panel_and_readable_events(app, client, agent, login_as):
    from flask import render_template_string

    login_as(agent)
    ticket = ticket_for_new_customer()
    coupon = services.issue(agent, ticket, coupon_input(value=600))
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'id="coupons"' in page and coupon.code in page and 'name="idempotency_key"' in page
    event = db.session.scalar(select(Event).where(Event.kind == "coupon.issued"))
    with app.test_request_context():
        text = render_template_string("{{ coupon_event_text(e) }}", e=event)
    assert coupon.code in text and "¥600" in text and "配送遅延" in text
