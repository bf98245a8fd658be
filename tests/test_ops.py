"""Health/readiness endpoints, request ids, channel leases."""
from __future__ import annotations

from app.channels.state import acquire_lease, get_state, record_error, record_success, release_lease
from app.extensions import db
from app.models import utcnow


def test_healthz_reports_database_and_channels(app, client):
    record_success("email", "support@shop/INBOX")
    record_error("x", "123", "401 Unauthorized")
    app.config["HEALTH_TOKEN"] = "monitor-token-for-tests"
    response = client.get("/healthz", headers={"Authorization": "Bearer monitor-token-for-tests"})
    assert response.status_code == 200
    body = response.json
    assert body["database"] == "ok" and body["redis"] == "not configured"
    by_key = {c["key"]: c for c in body["channels"]}
    assert by_key["support@shop/INBOX"]["ok"] is True
    assert by_key["123"]["ok"] is False and body["status"] == "degraded"


def test_healthz_checks_redis_when_configured(app, client, redis_server):
    app.config["REDIS_URL"] = redis_server.url
    app.config["HEALTH_TOKEN"] = "monitor-token-for-tests"
    assert client.get("/healthz", headers={"Authorization": "Bearer monitor-token-for-tests"}).json["redis"] == "ok"
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    assert client.get("/healthz").status_code == 503


def test_readyz_and_request_id(app, client):
    response = client.get("/readyz", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/readyz", headers={"X-Request-ID": "bad id <x>"}).headers["X-Request-ID"]
    assert generated != "bad id <x>" and len(generated) == 32


def test_one_lease_holder_at_a_time_and_expiry_hands_over(app):
    assert acquire_lease("email", "box", "worker-a", seconds=60)
    assert not acquire_lease("email", "box", "worker-b", seconds=60)
    assert acquire_lease("email", "box", "worker-a", seconds=60)  # renewal
    state = get_state("email", "box")
    state.lease_until = utcnow().replace(year=2000)  # the holder died long ago
    db.session.commit()
    assert acquire_lease("email", "box", "worker-b", seconds=60)
    release_lease("email", "box", "worker-b")
    assert acquire_lease("email", "box", "worker-c", seconds=60)
