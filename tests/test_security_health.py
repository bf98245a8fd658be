"""/healthz tells the public only whether we are up (issue 20, item 7).

The details (database, Redis, each channel with its mailbox address, X account id and last
error text) are for a signed-in admin or a monitor with the HEALTH_TOKEN bearer.
"""
from __future__ import annotations

import pytest

from app.channels.state import record_error, record_success
from tests.factories import make_agent

SECRETS = ("kaiyaku@shop.example.jp", "1469920412", "535 5.7.8 auth failed for kaiyaku")
MONITOR = "hc-7f3a9c1e-tsunagu"


@pytest.fixture
def channels(app):
    record_success("email", "kaiyaku@shop.example.jp/INBOX")
    record_error("x", "1469920412", "535 5.7.8 auth failed for kaiyaku")
    app.config["HEALTH_TOKEN"] = MONITOR


def _leaks(response) -> list[str]:
    text = response.get_data(as_text=True)
    return [s for s in SECRETS if s in text]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {MONITOR}"},
                                     {"Authorization": "Bearer "}, {"Authorization": f"Bearer {MONITOR}x"}])
def test_anyone_gets_the_status_only(client, channels, headers):
    response = client.get("/healthz", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"status": "degraded"} and not _leaks(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_health_token_bearer_gets_the_details(client, channels):
    response = client.get("/healthz", headers={"Authorization": f"Bearer {MONITOR}"})
    body = response.get_json()
    assert body["status"] == "degraded" and body["database"] == "ok" and len(_leaks(response)) == 3


def test_without_a_configured_token_no_bearer_opens_the_details(app, client, channels):
    app.config["HEALTH_TOKEN"] = ""
    assert client.get("/healthz", headers={"Authorization": "Bearer "}).get_json() == {"status": "degraded"}


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_a_signed_in_agent_or_supervisor_gets_the_status_only(client, channels, login_as, role):
    login_as(make_agent(role, name="監督 次郎"))
    assert client.get("/healthz").get_json() == {"status": "degraded"}


def test_a_signed_in_admin_sees_the_details(client, channels, login_as):
    login_as(make_agent("admin", name="管理 三郎"))
    response = client.get("/healthz")
    assert "channels" in response.get_json() and len(_leaks(response)) == 3


def test_down_is_still_visible_to_the_public(app, client, channels):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json() == {"status": "down"}
