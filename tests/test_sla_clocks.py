"""SLA clock transitions (ok -> at risk -> breached, paused while pending) and the commerce cutoff."""
from __future__ import annotations

from datetime import date, datetime, timedelta, time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from app.extensions import db
from app.models import Product, SLAPolicy, Subscription, TicketSLA
from app.sla import clocks, live
from app.sla.business_time import default_calendar
from app.sla.clocks import Facts, compute
from app.tickets.services import add_reply, update_ticket

JST = ZoneInfo("Asia/Tokyo")
CAL = default_calendar()


def jst(*args) -> datetime:
    return datetime(*args, tzinfo=JST)


def policy(**kw):
    base = dict(first_response_minutes=None, next_response_minutes=None, resolution_minutes=None,
                business_hours=True, pause_when_pending=True, name="p")
    return SimpleNamespace(**{**base, **kw})


def test_first_response_clock_ok_at_risk_breached_then_met():
    p = policy(first_response_minutes=60)
    facts = Facts(created_at=jst(2026, 11, 16, 10), status="new", messages=[(jst(2026, 11, 16, 10), "in")])
    r = compute(facts, p, CAL, jst(2026, 11, 16, 10, 30))
    assert (r.state, r.due_at, r.due_rule) == ("ok", jst(2026, 11, 16, 11), "first_response")
    assert r.at_risk_at == jst(2026, 11, 16, 10, 48)
    assert compute(facts, p, CAL, jst(2026, 11, 16, 10, 50)).state == "at_risk"
    late = compute(facts, p, CAL, jst(2026, 11, 16, 11, 1))
    assert late.state == "breached" and late.breached
    facts.messages.append((jst(2026, 11, 16, 10, 40), "out"))
    facts.status = "open"
    done = compute(facts, p, CAL, jst(2026, 11, 16, 12))
    assert not done.breached and done.state == "ok" and done.due_at is None
    assert done.metrics["first_response_seconds"] == 40 * 60


def test_friday_evening_ticket_is_due_monday_in_business_time():
    p = policy(first_response_minutes=120)
    facts = Facts(created_at=jst(2026, 11, 13, 21), status="new", messages=[(jst(2026, 11, 13, 21), "in")])
    r = compute(facts, p, CAL, jst(2026, 11, 14, 12))
    assert r.due_at == jst(2026, 11, 16, 11) and r.state == "ok"
    calendar_time = compute(facts, policy(first_response_minutes=120, business_hours=False), CAL,
                            jst(2026, 11, 14, 12))
    assert calendar_time.due_at == jst(2026, 11, 13, 23) and calendar_time.state == "breached"


def test_pending_pauses_the_clock_when_configured():
    created = jst(2026, 11, 16, 10)
    msgs = [(created, "in"), (jst(2026, 11, 16, 10, 10), "out")]
    paused = Facts(created_at=created, status="pending", messages=msgs,
                   pending=[(jst(2026, 11, 16, 10, 10), None)])
    r = compute(paused, policy(resolution_minutes=120), CAL, jst(2026, 11, 16, 13))
    assert r.state == "paused" and r.due_at is None
    not_paused = compute(paused, policy(resolution_minutes=120, pause_when_pending=False), CAL, jst(2026, 11, 16, 13))
    assert not_paused.state == "breached" and not_paused.due_at == jst(2026, 11, 16, 12)
    # The customer answered at 13:10: three paused hours push the due time to 15:00.
    resumed = Facts(created_at=created, status="open", messages=msgs + [(jst(2026, 11, 16, 13, 10), "in")],
                    pending=[(jst(2026, 11, 16, 10, 10), jst(2026, 11, 16, 13, 10))])
    r = compute(resumed, policy(resolution_minutes=120), CAL, jst(2026, 11, 16, 13, 30))
    assert r.resolution_due_at == jst(2026, 11, 16, 15) and r.state == "ok"


def test_next_response_clock_and_metrics():
    created = jst(2026, 11, 16, 10)
    facts = Facts(created_at=created, status="open", messages=[
        (created, "in"), (jst(2026, 11, 16, 10, 30), "out"), (jst(2026, 11, 16, 11), "in"),
        (jst(2026, 11, 16, 11, 5), "in"), (jst(2026, 11, 16, 13), "out"), (jst(2026, 11, 16, 17, 30), "in")])
    r = compute(facts, policy(next_response_minutes=60), CAL, jst(2026, 11, 16, 17, 45))
    # the first wait (11:00 -> 13:00) missed its hour; the one since 17:30 runs into Tuesday
    assert r.breached and r.due_rule == "next_response"
    assert r.next_response_due_at == jst(2026, 11, 17, 9, 30)
    assert r.metrics["next_response_seconds"] == 2 * 3600 and r.metrics["replies"] == 2


def _subscription(customer_id: int, ship: date) -> Subscription:
    product = Product(external_id=f"p-{customer_id}", name="青汁")
    db.session.add(product)
    db.session.flush()
    sub = Subscription(external_id=f"s-{customer_id}", customer_id=customer_id, product_id=product.id,
                       status="active", next_ship_date=ship, cycle_days=30)
    db.session.add(sub)
    db.session.commit()
    return sub


def test_commerce_cutoff_beats_the_sla_target(app, agent, make_ticket_fn=None):
    from tests.factories import make_ticket

    app.config["SHOP_CHANGE_LEAD_DAYS"] = 5
    db.session.add(SLAPolicy(name="標準", first_response_minutes=60 * 24 * 5, business_hours=False))
    db.session.commit()
    # a question, not a request: a skip request is itself a subscription change (intent 'skip')
    ticket, _ = make_ticket("来月の配送日について相談させてください")
    today = datetime.now(JST).date()
    _subscription(ticket.customer_id, today + timedelta(days=7))
    row, _changed = clocks.refresh(ticket.id)
    assert row.due_rule == "first_response"  # not about a subscription change yet
    ticket.intent = "cancellation"
    db.session.commit()
    row, changed = clocks.refresh(ticket.id)
    cutoff = datetime.combine(today + timedelta(days=3), time(0), JST)  # end of (ship - 5 days)
    assert changed and row.due_rule == "commerce_cutoff" and row.due_at == cutoff
    assert row.first_response_due_at > cutoff
    # a tag does the same, and the ticket page helper says which deadline rules
    ticket.intent = None
    db.session.commit()
    update_ticket(agent, ticket, tags="スキップ")
    row = db.session.get(TicketSLA, ticket.id)
    assert row.due_rule == "commerce_cutoff"
    from app.sla.views import clock_view

    view = clock_view(ticket)
    assert view.commerce_rules and view.next_ship_date == today + timedelta(days=7)


def _supervisor_socket(app, client):
    """A Socket.IO test client placed in room 'supervisors' (the join handler is another feature's)."""
    from app.extensions import socketio

    sio = socketio.test_client(app, flask_test_client=client)
    sid = socketio.server.manager.sid_from_eio_sid(sio.eio_sid, "/")
    socketio.server.enter_room(sid, "supervisors", namespace="/")
    return sio


def test_bus_keeps_clocks_current_and_the_minute_job_moves_states(app, client, agent, supervisor, login_as,
                                                                  smtp_server):
    from app import outbox
    from tests.email_helpers import configure
    from tests.factories import make_ticket

    configure(app, smtp=smtp_server)

    login_as(supervisor)
    db.session.add(SLAPolicy(name="速い", first_response_minutes=10, business_hours=False))
    db.session.commit()
    sio = _supervisor_socket(app, client)
    ticket, _ = make_ticket("至急お願いします", channel="email",
                            created_at=datetime.now(JST) - timedelta(minutes=9))
    row = db.session.get(TicketSLA, ticket.id)
    assert row is not None and row.state == "at_risk"  # created by the message.ingested subscriber
    sio.get_received()
    changed = live.evaluate(now=row.due_at + timedelta(seconds=1))
    assert changed == [ticket.id]
    db.session.expire_all()
    row = db.session.get(TicketSLA, ticket.id)
    assert row.state == "breached"
    events = [e for e in sio.get_received() if e["name"] == "sla.changed"]
    assert events and events[0]["args"][0]["tickets"][0] == {
        "ticket_id": ticket.id, "state": "breached", "due_rule": "first_response", "due_at": row.due_at.isoformat()}
    add_reply(agent, ticket, "お待たせしました", status_after="pending")
    assert db.session.get(TicketSLA, ticket.id).replies == 0  # queued: not an answer yet
    assert outbox.deliver_due() == {"sent": 1}
    db.session.expire_all()
    row = db.session.get(TicketSLA, ticket.id)
    # answered (delivered) within the 10 minutes: the recomputed clock has no breach; pending pauses
    assert not row.breached and row.first_response_seconds < 600 and row.replies == 1
    assert row.state == "paused"
    sio.disconnect()


def test_ticket_page_and_inbox_partials_render(app):
    from flask import render_template_string

    from tests.factories import make_ticket

    db.session.add(SLAPolicy(name="標準", first_response_minutes=1, business_hours=False))
    db.session.commit()
    ticket, _ = make_ticket("質問です", created_at=datetime.now(JST) - timedelta(minutes=5))
    with app.test_request_context():
        html = render_template_string('{% include "sla/_ticket_clock.html" %}', ticket=ticket)
        badge = render_template_string(
            '{% import "sla/_badge.html" as sla_badge %}{% set sla_map = sla_states(tickets) %}'
            '{% for t in tickets %}{{ sla_badge.badge(sla_map.get(t.id)) }}{% endfor %}',
            tickets=[ticket])
    assert "sla-breached" in html and "標準" in html
    assert "sla-badge sla-breached" in badge


def test_supervisor_edits_policies_hours_and_closed_days(client, supervisor, login_as):
    from app.models import BusinessCalendar, ClosedDay
    from app.sla.policies import calendar_for

    login_as(supervisor)
    response = client.post("/sla/policies", data={
        "name": "X 公開投稿", "position": "10", "priority": "", "channel": "x", "segment": "",
        "first_response_minutes": "60", "business_hours": "y", "pause_when_pending": "y", "active": "y"})
    assert response.status_code == 302
    policy = db.session.scalar(db.select(SLAPolicy))
    assert (policy.channel, policy.first_response_minutes, policy.priority) == ("x", 60, None)
    assert client.post(f"/sla/policies/{policy.id}", data={
        "name": "X 公開投稿", "position": "10", "priority": "high", "channel": "x", "segment": "loyal",
        "first_response_minutes": "30", "active": "y"}).status_code == 302
    db.session.expire_all()
    assert (policy.priority, policy.segment, policy.first_response_minutes, policy.business_hours) == (
        "high", "loyal", 30, False)
    assert client.post("/sla/calendar", data={
        "hours-day0": "09:00-12:00, 13:00-18:00", "hours-day5": "10:00-15:00",
        "hours-public_holidays": "y"}).status_code == 302
    row = db.session.scalar(db.select(BusinessCalendar))
    assert row.hours == {"0": [["09:00", "12:00"], ["13:00", "18:00"]], "5": [["10:00", "15:00"]]}
    assert client.post("/sla/calendar", data={"closed-label": "棚卸", "closed-start_date": "2026-12-01",
                                              "closed-end_date": "2026-12-01"}).status_code == 302
    cal = calendar_for(None)
    assert cal.intervals_on(date(2026, 12, 1)) == [] and cal.intervals_on(date(2026, 11, 28)) != []  # Sat open
    assert len(db.session.scalars(db.select(ClosedDay)).all()) == 3  # 年末年始, お盆, 棚卸
    assert client.post("/sla/calendar", data={"hours-day0": "9-18"}).status_code == 200  # refused
    assert client.post(f"/sla/policies/{policy.id}/delete").status_code == 302
    assert db.session.scalar(db.select(SLAPolicy)) is None


def test_two_refreshes_of_a_new_ticket_at_once_do_not_collide(app):
    """Two messages of a brand-new ticket handled in two threads: one clock row, no error."""
    import threading

    from app.extensions import db as _db
    from app.models import TicketSLA
    from app.sla import clocks
    from tests.factories import make_ticket

    ticket, _ = make_ticket()
    ticket_id = ticket.id
    _db.session.query(TicketSLA).delete()
    _db.session.commit()
    barrier, errors = threading.Barrier(2), []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                clocks.refresh(ticket_id)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert _db.session.query(TicketSLA).filter_by(ticket_id=ticket_id).count() == 1
