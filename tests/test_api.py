"""JSON API v1: bearer auth, tickets, customers, timeline, POST /messages and the OpenAPI document."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from apispec_webframeworks.flask import FlaskPlugin
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy import func, select

from app.auth.services import create_token
from app.extensions import db
from app.ingest import ingest
from app.models import ApiToken, Customer, Event, Identity, Message, RawSource, Team, Ticket
from tests.factories import inbound, make_agent

T0 = datetime(2025, 4, 1, 9, 0, tzinfo=timezone.utc)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def headers(agent):
    return bearer(create_token(agent))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def post_message(client, headers, **fields):
    body = {"channel": "web", "external_id": "form-1", "from": "hanako@example.jp",
            "subject": "定期便について", "text": "次回のお届けを遅らせたいです。",
            "created_at": "2025-04-01T18:00:00+09:00"}
    body.update(fields)
    return client.post("/api/v1/messages", json=body, headers=headers)


# --- authentication ---------------------------------------------------------------------------

@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwdw=="])
def test_without_a_valid_token_answers_401_json(client, agent, header):
    response = client.get("/api/v1/tickets", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"] == "unauthorized"


def test_revoked_token_and_session_cookie_do_not_authenticate(client, agent, login_as):
    token = create_token(agent)
    db.session.execute(ApiToken.__table__.update().values(revoked=True))
    db.session.commit()
    response = client.get("/api/v1/tickets", headers=bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    login_as(agent)  # a browser session is not an API credential (the API is CSRF-exempt)
    assert client.get("/api/v1/tickets").status_code == 401


def test_token_from_the_cli_works(client, runner):
    result = runner.invoke(args=["create-user", "api@tsunagu.test", "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["create-token", "api@tsunagu.test"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    response = client.get("/api/v1/tickets", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {"items": [], "page": 1, "per_page": 25, "total": 0}


# --- tickets ----------------------------------------------------------------------------------

def test_ticket_list_filters_and_paginates(client, headers):
    results = [ingest(inbound(f"問い合わせ{i}", channel="web" if i % 2 else "api",
                              sender="same@example.jp" if i < 2 else None,
                              created_at=T0 + timedelta(minutes=i))) for i in range(5)]
    ticket = db.session.get(Ticket, results[4].ticket_id)
    ticket.status = "pending"
    db.session.commit()

    page1 = client.get("/api/v1/tickets?per_page=2", headers=headers).get_json()
    assert (page1["total"], page1["page"], page1["per_page"]) == (5, 1, 2)
    assert [t["id"] for t in page1["items"]] == [results[4].ticket_id, results[3].ticket_id]
    page3 = client.get("/api/v1/tickets?per_page=2&page=3", headers=headers).get_json()
    assert [t["id"] for t in page3["items"]] == [results[0].ticket_id]

    web = client.get("/api/v1/tickets?channel=web", headers=headers).get_json()
    assert {t["channel"] for t in web["items"]} == {"web"} and web["total"] == 2
    pending = client.get("/api/v1/tickets?status=pending", headers=headers).get_json()
    assert [t["id"] for t in pending["items"]] == [results[4].ticket_id]
    mine = client.get(f"/api/v1/tickets?customer_id={results[0].customer_id}", headers=headers).get_json()
    assert {t["id"] for t in mine["items"]} == {results[0].ticket_id, results[1].ticket_id}


@pytest.mark.parametrize("query, field", [("per_page=101", "per_page"), ("page=0", "page"),
                                          ("status=bogus", "status"), ("customer_id=x", "customer_id")])
def test_ticket_list_refuses_bad_arguments(client, headers, query, field):
    response = client.get(f"/api/v1/tickets?{query}", headers=headers)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation" and field in body["fields"]


def test_ticket_detail_has_its_messages_in_order(client, headers):
    first = ingest(inbound("最初の質問", thread_key="<q1@shop>", external_id="<q1@shop>",
                           sender="taro@example.jp", created_at=T0))
    ingest(inbound("追加の質問", external_id="<q2@shop>", sender="taro@example.jp",
                   reply_to_keys=("<q1@shop>",), created_at=T0 + timedelta(hours=1)))
    response = client.get(f"/api/v1/tickets/{first.ticket_id}", headers=headers)
    assert response.status_code == 200
    data = response.get_json()
    assert data["id"] == first.ticket_id and data["customer_id"] == first.customer_id
    assert [m["body_text"] for m in data["messages"]] == ["最初の質問", "追加の質問"]
    message = data["messages"][0]
    assert set(message) >= {"id", "channel", "direction", "sender", "subject", "body_text",
                            "created_at", "delivery_status"}
    assert (message["direction"], message["delivery_status"]) == ("in", "received")
    created = datetime.fromisoformat(message["created_at"])
    assert created.utcoffset() is not None and created == T0


def test_tickets_of_another_team_are_404_and_not_listed(client):
    own, other = Team(name="定期便チーム"), Team(name="法人チーム")
    db.session.add_all([own, other])
    db.session.commit()
    agent = make_agent("agent", team_id=own.id)
    headers = bearer(create_token(agent))
    visible = ingest(inbound("見える", sender="a@example.jp"))
    hidden = ingest(inbound("見えない", sender="a@example.jp"))
    db.session.get(Ticket, visible.ticket_id).team_id = own.id
    db.session.get(Ticket, hidden.ticket_id).team_id = other.id
    db.session.commit()

    assert client.get(f"/api/v1/tickets/{visible.ticket_id}", headers=headers).status_code == 200
    response = client.get(f"/api/v1/tickets/{hidden.ticket_id}", headers=headers)
    missing = client.get("/api/v1/tickets/999999", headers=headers)
    assert response.status_code == missing.status_code == 404
    assert response.get_json() == missing.get_json()  # no hint that the ticket exists
    listed = client.get("/api/v1/tickets", headers=headers).get_json()
    assert [t["id"] for t in listed["items"]] == [visible.ticket_id] and listed["total"] == 1
    boss = bearer(create_token(make_agent("supervisor")))
    assert client.get(f"/api/v1/tickets/{hidden.ticket_id}", headers=boss).status_code == 200


# --- customers and timeline -------------------------------------------------------------------

def test_customer_detail_with_identities(client, headers):
    result = ingest(inbound("こんにちは", sender="Hanako@Example.JP", name="山田 花子"))
    db.session.add(Identity(customer_id=result.customer_id, kind="phone", value="+819012345678",
                            display="090-1234-5678"))
    db.session.commit()
    data = client.get(f"/api/v1/customers/{result.customer_id}", headers=headers).get_json()
    assert data["id"] == result.customer_id and data["name"] == "山田 花子"
    assert [(i["kind"], i["value"], i["display"]) for i in data["identities"]] == [
        ("email", "hanako@example.jp", "hanako@example.jp"),
        ("phone", "+819012345678", "090-1234-5678")]
    assert client.get("/api/v1/customers/999999", headers=headers).status_code == 404


def test_timeline_is_time_ordered_and_only_shows_visible_tickets(client):
    team = Team(name="別チーム")
    db.session.add(team)
    db.session.commit()
    headers = bearer(create_token(make_agent("agent")))
    later = ingest(inbound("二通目", sender="c@example.jp", created_at=T0 + timedelta(hours=2)))
    first = ingest(inbound("一通目", sender="c@example.jp", created_at=T0))
    hidden = ingest(inbound("秘密", sender="c@example.jp", created_at=T0 + timedelta(hours=1)))
    customer_id = first.customer_id
    db.session.get(Ticket, hidden.ticket_id).team_id = team.id
    db.session.add_all([
        Event(customer_id=customer_id, kind="subscription.skip", created_at=T0 + timedelta(hours=3)),
        Event(customer_id=customer_id, ticket_id=first.ticket_id, kind="ticket.status",
              data={"field": "status", "old": "new", "new": "open"}, created_at=T0 + timedelta(minutes=30)),
        Event(customer_id=customer_id, ticket_id=hidden.ticket_id, kind="ticket.status",
              created_at=T0 + timedelta(minutes=90)),
    ])
    db.session.commit()

    url = f"/api/v1/customers/{customer_id}/timeline"
    data = client.get(url, headers=headers).get_json()
    assert data["total"] == 4
    summary = [(e["type"], e["message"]["body_text"] if e["message"] else e["event"]["kind"])
               for e in data["items"]]
    assert summary == [("message", "一通目"), ("event", "ticket.status"), ("message", "二通目"),
                       ("event", "subscription.skip")]
    times = [datetime.fromisoformat(e["created_at"]) for e in data["items"]]
    assert times == sorted(times)
    assert data["items"][2]["ticket_id"] == later.ticket_id
    newest = client.get(url + "?order=desc&per_page=1&page=2", headers=headers).get_json()
    assert [e["message"]["body_text"] for e in newest["items"]] == ["二通目"]
    assert newest["total"] == 4


# --- POST /messages ---------------------------------------------------------------------------

def test_post_message_creates_then_replay_is_duplicate(client, headers):
    first = post_message(client, headers, html='<p>遅らせたい<script>alert(1)</script></p>')
    assert first.status_code == 201, first.get_json()
    created = first.get_json()
    assert created["status"] == "created"
    assert first.headers["Location"].endswith(f"/api/v1/tickets/{created['ticket_id']}")
    message = db.session.get(Message, created["message_id"])
    assert (message.ticket_id, message.customer_id) == (created["ticket_id"], created["customer_id"])
    assert message.created_at == datetime(2025, 4, 1, 9, 0, tzinfo=timezone.utc)
    assert "<script" not in message.body_html and "遅らせたい" in message.body_html
    assert message.raw.content_type == "application/json"
    assert json.loads(message.raw.content)["external_id"] == "form-1"

    again = post_message(client, headers, html='<p>遅らせたい<script>alert(1)</script></p>')
    assert again.status_code == 200
    assert again.get_json()["status"] == "duplicate"
    assert {k: again.get_json()[k] for k in ("message_id", "ticket_id", "customer_id")} == {
        k: created[k] for k in ("message_id", "ticket_id", "customer_id")}
    assert (count(Message), count(Ticket), count(Customer), count(RawSource)) == (1, 1, 1, 1)


def test_created_at_defaults_to_now(client, headers):
    before = datetime.now(timezone.utc)
    response = post_message(client, headers, created_at=None)
    assert response.status_code == 201
    stored = db.session.get(Message, response.get_json()["message_id"]).created_at
    assert before - timedelta(seconds=1) <= stored <= datetime.now(timezone.utc)


def test_two_channels_find_the_same_customer_by_identity(client, headers):
    web = post_message(client, headers, channel="web", external_id="form-9",
                       **{"from": "Hanako@Example.JP"}).get_json()
    mail = post_message(client, headers, channel="email", external_id="<m9@example.jp>",
                        text="メールでも連絡します",
                        **{"from": {"kind": "email", "value": "hanako@example.jp",
                                    "name": "山田 花子"}}).get_json()
    assert web["customer_id"] == mail["customer_id"]
    assert mail["status"] == "created" and mail["customer_created"] is False
    identities = db.session.scalars(select(Identity)).all()
    assert [(i.kind, i.value) for i in identities] == [("email", "hanako@example.jp")]
    tickets = client.get(f"/api/v1/tickets?customer_id={web['customer_id']}", headers=headers)
    assert {t["channel"] for t in tickets.get_json()["items"]} == {"web", "email"}


def test_concurrent_posts_of_the_same_message_store_one_row(app, headers, backend):
    """Two requests racing with the same message: one 201, one 200, exactly one row."""
    for round_ in range(3):
        body = {"channel": "api", "external_id": f"race-{round_}", "text": "同時送信",
                "from": f"race{round_}@example.jp", "created_at": "2025-04-01T09:00:00Z"}
        barrier = threading.Barrier(2)
        answers: list = []

        def post():
            client = app.test_client()
            barrier.wait()
            response = client.post("/api/v1/messages", json=body, headers=headers)
            answers.append((response.status_code, response.get_json()))

        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(code for code, _ in answers) == [200, 201], (backend, answers)
        assert answers[0][1]["message_id"] == answers[1][1]["message_id"]
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Message).where(
            Message.external_id == f"race-{round_}")) == 1
        assert db.session.scalar(select(func.count()).select_from(Identity).where(
            Identity.value == f"race{round_}@example.jp")) == 1


# --- OpenAPI ----------------------------------------------------------------------------------

def test_openapi_document_is_valid_and_complete(app, client):
    response = client.get("/api/v1/openapi.json")  # no token needed
    assert response.status_code == 200
    document = response.get_json()
    validate_openapi(document)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"]}
    assert document["security"] == [{"bearerAuth": []}]
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = FlaskPlugin.flaskpath2openapi(rule.rule)
        item = document["paths"][path]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = item[method.lower()]
            assert operation["summary"] and {"200", "201"} & set(operation["responses"])
            if rule.endpoint == "api.openapi_document":
                assert operation["security"] == []
            else:
                assert operation["responses"]["401"] == {"$ref": "#/components/responses/Unauthorized"}
    paths = document["paths"]
    assert "404" in paths["/api/v1/tickets/{ticket_id}"]["get"]["responses"]
    assert {p["name"] for p in paths["/api/v1/tickets"]["get"]["parameters"]} == {
        "page", "per_page", "status", "channel", "customer_id"}
    post = paths["/api/v1/messages"]["post"]
    assert set(post["responses"]) >= {"200", "201", "400", "401", "422"}
    schema_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    message_in = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert set(message_in["required"]) == {"channel", "external_id", "from"}
    assert len(message_in["properties"]["from"]["oneOf"]) == 2
