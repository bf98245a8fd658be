"""Phone calls: number normalisation, logging through ingest, follow-up tasks, the signed webhook."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.calls.services import CallInput, log_call, sign, verify_signature
from app.extensions import db
from app.ingest import IngestError
from app.ingest.identity import InvalidIdentity, normalise_phone
from app.models import Customer, Identity, Message, Task

SECRET = "calls-webhook-test-secret"


@pytest.mark.parametrize("typed, e164", [
    ("090-1234-5678", "+819012345678"),
    ("09012345678", "+819012345678"),
    ("+81 90 1234 5678", "+819012345678"),
    ("０９０－１２３４－５６７８", "+819012345678"),
    ("(03) 1234-5678", "+81312345678"),
    ("03-1234-5678", "+81312345678"),
    ("0120-123-456", "+81120123456"),
    ("+1 415 555 0100", "+14155550100"),
])
def test_phone_numbers_normalise_to_e164(typed, e164):
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize("bad", ["", "abc", "12", "090-1234-5678-9999-0000"])
def test_bad_phone_numbers_are_refused(bad):
    with pytest.raises(InvalidIdentity):
        normalise_phone(bad)


def _call(**kw) -> CallInput:
    base = dict(number="090-1111-2222", direction="inbound",
                started_at=datetime.now(timezone.utc) - timedelta(minutes=3), duration_seconds=180,
                summary="次回のお届けをスキップしたいとのこと", outcome="callback")
    base.update(kw)
    return CallInput(**base)


def test_call_is_ingested_and_matched_by_number(app, agent):
    customer = Customer(name="電話 太郎")
    db.session.add(customer)
    db.session.flush()
    db.session.add(Identity(customer_id=customer.id, kind="phone", value="+819011112222"))
    db.session.commit()
    message, created = log_call(_call(number="０９０（１１１１）２２２２"), agent_id=agent.id)
    assert created and message.customer_id == customer.id and message.channel == "phone"
    assert message.meta["duration_seconds"] == 180 and message.author_id == agent.id


def test_call_with_follow_up_creates_a_task(app, agent):
    due = datetime.now(timezone.utc) + timedelta(hours=2)
    message, _ = log_call(_call(follow_up_at=due), agent_id=agent.id)
    task = db.session.scalar(select(Task))
    assert task.ticket_id == message.ticket_id and task.assignee_id == agent.id
    assert abs((task.due_at - due).total_seconds()) < 1


def test_unknown_number_can_be_attached_to_an_existing_customer(app, agent):
    customer = Customer(name="既存 花子")
    db.session.add(customer)
    db.session.commit()
    message, _ = log_call(_call(number="080-9999-0000", attach_to_customer_id=customer.id), agent_id=agent.id)
    assert message.customer_id == customer.id
    assert db.session.scalar(select(Identity.value).where(Identity.kind == "phone")) == "+818099990000"


def test_bad_call_input_names_the_field(app):
    with pytest.raises(IngestError) as info:
        log_call(_call(number="not a number", direction="sideways"))
    assert set(info.value.errors) == {"number", "direction"}
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_signature_checks():
    body, ts = b'{"a":1}', str(int(time.time()))
    good = sign(SECRET, ts, body)
    assert verify_signature(SECRET, ts, good, body) is None
    assert verify_signature(SECRET, ts, good, body + b" ") == "bad signature"
    assert verify_signature(SECRET, ts, "sha256=00", body) == "bad signature"
    old = str(int(time.time()) - 3600)
    assert "replay" in verify_signature(SECRET, old, sign(SECRET, old, body), body)
    assert verify_signature(None, ts, good, body) is not None


def _post_hook(client, payload: dict, ts: str | None = None, secret: str = SECRET):
    body = json.dumps(payload, ensure_ascii=False).encode()
    ts = ts or str(int(time.time()))
    return client.post("/hooks/calls", data=body, content_type="application/json",
                       headers={"X-Tsunagu-Timestamp": ts, "X-Tsunagu-Signature": sign(secret, ts, body)})


def test_webhook_logs_call_once_and_refuses_bad_signatures(app, client):
    app.config["CALLS_WEBHOOK_SECRET"] = SECRET
    payload = {"call_id": "pbx-1", "number": "03-1234-5678", "direction": "inbound",
               "started_at": "2026-11-20T10:00:00+09:00", "duration_seconds": 95,
               "summary": "配送日の確認", "follow_up_at": "2026-11-21T12:00:00+09:00"}
    first = _post_hook(client, payload)
    assert first.status_code == 201, first.json
    again = _post_hook(client, payload)
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert _post_hook(client, payload, secret="wrong").status_code == 401
    stale = str(int(time.time()) - 3600)
    assert _post_hook(client, payload, ts=stale).status_code == 401
    assert _post_hook(client, {"call_id": "pbx-2", "number": "x", "started_at": "2026-11-20T10:00:00Z"}
                      ).status_code == 422
    assert db.session.scalar(select(func.count(Message.id))) == 1
    assert db.session.scalar(select(func.count(Task.id))) == 1


def test_call_form_logs_a_call(app, client, agent, login_as):
    login_as(agent)
    response = client.post("/calls/new", data={
        "number": "070-1234-0000", "direction": "inbound", "started_at": "2026-11-20T10:00",
        "duration_minutes": 4, "summary": "解約したいとのお電話", "outcome": "resolved",
        "customer_choice": "new"})
    assert response.status_code == 302
    message = db.session.scalar(select(Message))
    assert message.body_text == "解約したいとのお電話" and message.meta["duration_seconds"] == 240
    assert message.created_at == datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc)  # JST -> UTC


def test_api_logs_a_call(app, client, agent):
    from app.auth.services import create_token

    token = create_token(agent)
    headers = {"Authorization": f"Bearer {token}"}
    payload = {"call_id": "api-1", "number": "+81 90 5555 6666", "direction": "outbound",
               "started_at": "2026-11-20T10:00:00+09:00", "duration_seconds": 60,
               "summary": "休止のご案内をしました", "outcome": "resolved"}
    first = client.post("/api/v1/calls", json=payload, headers=headers)
    assert first.status_code == 201, first.json
    assert client.post("/api/v1/calls", json=payload, headers=headers).json["status"] == "duplicate"
    bad = client.post("/api/v1/calls", json={**payload, "call_id": "api-2", "number": "??"}, headers=headers)
    assert bad.status_code == 422 and "number" in bad.json["fields"]
    assert client.post("/api/v1/calls", json=payload).status_code == 401
