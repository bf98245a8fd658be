"""Walk every route (web and /api/v1) as someone who must not see the object.

Objects belong to another team. Every route is called (a) anonymously: login redirect or 401;
(b) as a plain agent of another team: 403/404, or a page that does not contain the object, and
no change to the object afterwards; (c) supervisor-only pages as that agent: 403. A route this
test does not know how to build (a new URL argument) fails the test until it is covered here.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth.services import create_token
from app.extensions import db
from app.models import Event, Message, OutboxItem, Task, Ticket
from tests.security_helpers import MARKER, build_world

#: Reachable without a session; each guards itself (signature, signed token, or nothing to hide).
PUBLIC = {
    "auth.login", "auth.language", "ops.healthz", "ops.readyz", "static", "api.openapi_document",
    "calls.calls_webhook", "commerce_hooks.commerce_hook", "line.line_hook",
    "survey.show", "survey.comment", "survey.answer", "survey.pick",
    "admin.set_password",  # a signed one-time link; a forged token gets 404
    "tickets.favicon",  # a static icon
    "followup.unsubscribe",  # a signed per-customer token (RFC 8058 one-click); a forged one gets 404
    "line.media_original", "line.media_preview",  # signed expiring links for LINE; a forged one gets 404
}
SUPERVISOR_ONLY = {
    "macros.index", "macros.edit", "macros.delete", "macros.terms", "macros.term_action",
    "macros.seed_terms", "coupons.requests", "coupons.decide", "coupons.policy_page",
    "coupons.add_reason", "coupons.toggle_reason", "reports.index", "reports.export",
    "sla.calendar", "sla.closed_delete", "sla.live", "sla.live_rows", "sla.policy_list",
    "sla.policy_edit", "sla.policy_delete",
    "security.tokens", "security.revoke_token",
    "admin.hub", "admin.users", "admin.user_new", "admin.user_edit", "admin.user_active", "admin.user_reset",
    "admin.teams", "admin.team_rename", "admin.channels",
    "customers.merge", "customers.merge_preview", "customers.merge_undo",
    "line.status",
    "followup.plans", "followup.edit_plan", "followup.edit_step", "followup.delete_step", "followup.report",
}
MISSING = 987654
FORM = {"body": "x", "text": "x", "note": "x", "status": "closed", "priority": "urgent", "reason": "x",
        "amount": "500", "value": "500", "outcome": "saved", "active": "1", "label": "x", "tags": "x",
        "target_id": "1", "kind": "percent"}


def _ids(world, agent) -> dict:
    return {
        "ticket_id": world.ticket.id, "customer_id": world.ticket.customer_id,
        "attachment_id": world.png.id, "message_id": world.message.id, "item_id": world.outbox.id,
        "task_id": world.task.id, "coupon_id": MISSING, "post_id": MISSING, "macro_id": MISSING,
        "policy_id": MISSING, "closed_id": MISSING, "action_id": MISSING, "reason_id": MISSING,
        "term_id": MISSING, "token_id": MISSING, "agent_id": MISSING, "team_id": MISSING, "plan_id": MISSING, "step_id": MISSING, "section": "sla", "code": "ja", "token": "not-a-token", "score": 5,
        "external_id": "ext-1", "action": "delete", "filename": "css/app.css",
        "identity_id": world.ticket.customer.identities[0].id,
    }


def _calls(app, ids):
    """(endpoint, method, url) for every rule and method; fails on an argument we cannot fill."""
    uncovered = []
    for rule in app.url_map.iter_rules():
        unknown = set(rule.arguments) - set(ids)
        if unknown:
            uncovered.append(f"{rule.rule} ({', '.join(sorted(unknown))})")
            continue
        url = rule.build({k: ids[k] for k in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url
    assert not uncovered, f"routes not covered by the authorisation walk: {uncovered}"


def _call(client, method, url, headers=None):
    if url.startswith("/api/"):
        return client.open(url, method=method, json={"ticket_id": 1, "body": "x"}, headers=headers or {})
    return client.open(url, method=method, data=FORM if method != "GET" else None, headers=headers or {})


def _snapshot(world) -> tuple:
    ticket = db.session.get(Ticket, world.ticket.id)
    db.session.refresh(ticket)
    count = lambda model, col: db.session.scalar(select(func.count()).select_from(model).where(col == ticket.id))  # noqa: E731
    outbox = db.session.get(OutboxItem, world.outbox.id)
    task = db.session.get(Task, world.task.id)
    db.session.refresh(outbox), db.session.refresh(task)
    return (ticket.status, ticket.priority, ticket.assignee_id, ticket.team_id, ticket.customer_id,
            tuple(ticket.tags or ()), count(Message, Message.ticket_id), count(Event, Event.ticket_id),
            outbox.status, outbox.attempts, task.done_at)


@pytest.fixture
def world(app):
    return build_world()


def test_anonymous_gets_login_or_401_everywhere(app, client, world):
    for endpoint, method, url in _calls(app, _ids(world, None)):
        if endpoint in PUBLIC:
            continue
        response = _call(client, method, url)
        if url.startswith("/api/"):
            assert response.status_code == 401, (method, url, response.status_code)
        else:
            assert response.status_code in (302, 401), (method, url, response.status_code)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"], (method, url)
        assert MARKER not in response.get_data(as_text=True), (method, url)


def test_public_routes_do_not_leak_or_act_unsigned(app, client, world):
    for endpoint, method, url in _calls(app, _ids(world, None)):
        if endpoint not in PUBLIC or endpoint in ("static", "auth.login", "auth.language", "tickets.favicon"):
            continue
        response = _call(client, method, url)
        assert response.status_code < 500 or response.status_code == 503, (method, url)  # 503: unconfigured
        assert MARKER not in response.get_data(as_text=True), (method, url)
        if url.startswith("/hooks/"):
            assert response.status_code in (400, 401, 403, 404, 503), (method, url, response.status_code)


def test_agent_of_another_team_never_gets_the_object(app, client, login_as, world):
    login_as(world.agent)
    before = _snapshot(world)
    for endpoint, method, url in _calls(app, _ids(world, world.agent)):
        if endpoint in PUBLIC or endpoint == "auth.logout":
            continue
        response = _call(client, method, url)
        body = response.get_data(as_text=True)
        assert response.status_code < 500, (method, url, response.status_code)
        if endpoint in SUPERVISOR_ONLY:
            assert response.status_code == 403, (method, url, response.status_code)
        assert MARKER not in body, (method, url, response.status_code)
        allowed = (401,) if url.startswith("/api/") else (200, 302, 303, 400, 403, 404, 405, 409, 422)
        assert response.status_code in allowed, (method, url, response.status_code)
        assert _snapshot(world) == before, (method, url, "changed another team's ticket")


def test_api_as_agent_of_another_team(app, client, world):
    headers = {"Authorization": f"Bearer {create_token(world.agent)}"}
    before = _snapshot(world)
    for endpoint, method, url in _calls(app, _ids(world, world.agent)):
        if not url.startswith("/api/"):
            continue
        response = _call(client, method, url, headers)
        assert response.status_code < 500, (method, url)
        assert MARKER not in response.get_data(as_text=True), (method, url)
        assert _snapshot(world) == before, (method, url, "changed another team's ticket")
    assert client.get(f"/api/v1/tickets/{world.ticket.id}", headers=headers).status_code == 404


def test_supervisor_sees_it(client, login_as, world):
    """The walk is meaningful: the same URLs do show the object to someone allowed."""
    login_as(world.supervisor)
    assert MARKER in client.get(f"/tickets/{world.ticket.id}").get_data(as_text=True)
    assert client.get(f"/attachments/{world.png.id}").status_code == 200
