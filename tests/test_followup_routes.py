"""Follow-up pages: plan editing (supervisors only, CSRF), the task queue, the one-click unsubscribe."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.followup import render
from app.followup.runner import run
from app.models import Event, FollowupPlan, Task
from tests.followup_helpers import buyer, plan_with


def _csrf(client, url):
    page = client.get(url)
    assert page.status_code == 200
    return re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()


def test_plans_are_edited_by_supervisors_only(app, client, login_as, agent, supervisor):
    login_as(agent)
    assert client.get("/followup/plans").status_code == 403
    assert client.post("/followup/plans/new", data={"name_ja": "x", "trigger": "second_order"}).status_code == 403
    client.post("/logout")
    login_as(supervisor)
    app.config["WTF_CSRF_ENABLED"] = True
    data = {"name_ja": "ご愛用者さまフォロー", "name_en": "Loyal customer care", "trigger": "nth_delivery",
            "trigger_n": "4", "active": "y"}
    assert client.post("/followup/plans/new", data=data).status_code == 400  # no CSRF token
    token = _csrf(client, "/followup/plans/new")
    response = client.post("/followup/plans/new", data={**data, "csrf_token": token})
    assert response.status_code == 302
    plan = db.session.scalars(select(FollowupPlan)).one()
    assert (plan.name_ja, plan.trigger, plan.trigger_n) == ("ご愛用者さまフォロー", "nth_delivery", 4)
    step = {"delay_days": "10", "kind": "email", "purpose": "transactional", "language": "ja",
            "subject": "4回目のお届けありがとうございます", "body": "{customer_name}\nいつもありがとうございます。",
            "csrf_token": _csrf(client, f"/followup/plans/{plan.id}/steps/new")}
    assert client.post(f"/followup/plans/{plan.id}/steps/new", data=step).status_code == 302
    db.session.expire_all()
    assert [(s.delay_days, s.subject) for s in plan.steps] == [(10, "4回目のお届けありがとうございます")]
    assert "4回目のお届け".encode() in client.get(f"/followup/plans/{plan.id}").data


def test_task_queue_shows_todays_calls_and_records_a_skip(app, client, login_as, agent, supervisor):
    customer = buyer("電話 希望", [date(2026, 11, 4)])
    plan_with(supervisor, "first_delivered", [{"delay_days": 1, "kind": "call",
                                               "body": "{customer_name}に使い心地を伺う"}])
    run(today=date(2026, 11, 5))  # the task was due then, and is still open: it stays in the queue
    task = db.session.scalars(select(Task)).one()
    login_as(agent)
    page = client.get("/followup/tasks")
    assert page.status_code == 200
    assert "電話 希望 様に使い心地を伺う".encode() in page.data
    assert f'/customers/{customer.id}"'.encode() in page.data
    refused = client.post(f"/followup/tasks/{task.id}", data={"outcome": "skipped", "note": ""},
                          follow_redirects=True)
    assert refused.status_code == 200 and db.session.get(Task, task.id).done_at is None
    client.post(f"/followup/tasks/{task.id}", data={"outcome": "skipped", "note": "ご不在、折り返し不要とのこと"})
    db.session.expire_all()
    assert db.session.get(Task, task.id).done_at is not None
    event = db.session.scalars(select(Event).where(Event.kind == "followup.task_skipped")).one()
    assert (event.actor_id, event.note, event.customer_id) == (agent.id, "ご不在、折り返し不要とのこと", customer.id)
    assert "電話 希望".encode() not in client.get("/followup/tasks").data


def test_one_click_unsubscribe_without_login_or_csrf(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    customer = buyer("配信 不要", [date(2026, 11, 4)])
    token = render.make_token(customer.id)
    page = client.get(f"/u/{token}")
    assert page.status_code == 200 and b'method="post"' in page.data
    assert db.session.scalars(select(Event)).all() == []  # a GET (a link scanner) changes nothing
    response = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    event = db.session.scalars(select(Event).where(Event.customer_id == customer.id)).one()
    assert event.kind == "followup.unsubscribed" and event.data == {"via": "one-click"}
    assert client.post(f"/u/{token}x").status_code == 404
    assert client.post(f"/u/{render.make_token(customer.id)}").status_code == 200  # again: still fine


def test_the_customer_page_shows_the_unsubscribe(app, client, login_as, agent):
    from app.followup import services

    customer = buyer("停止 表示", [date(2026, 11, 4)])
    login_as(agent)
    page = client.get(f"/customers/{customer.id}")
    assert page.status_code == 200 and b"followup-unsubscribed" not in page.data
    services.unsubscribe(customer.id)
    assert b"followup-unsubscribed" in client.get(f"/customers/{customer.id}").data


def test_the_task_queue_cannot_close_a_tickets_callback(app, client, login_as, agent):
    """/followup/tasks/<id> closes follow-up tasks only: a ticket's callback (maybe of another team)
    stays behind its ticket's own check."""
    from datetime import datetime, timedelta, timezone

    from tests.factories import make_ticket
    ticket, _message = make_ticket("折り返しのお電話をお願いします")
    callback = Task(ticket_id=ticket.id, customer_id=ticket.customer_id, kind="callback",
                    due_at=datetime.now(timezone.utc) + timedelta(hours=1), note="夕方に折り返し")
    db.session.add(callback)
    db.session.commit()
    login_as(agent)
    response = client.post(f"/followup/tasks/{callback.id}", data={"outcome": "done", "note": ""})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Task, callback.id).done_at is None
