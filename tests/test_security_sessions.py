"""Sessions and login: open redirects, cookie flags, fresh login, rate limits (memory and Redis)."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from app import create_app
from config import TestingConfig
from tests.factories import PASSWORD, make_agent

EVIL_NEXTS = ["//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:alert(1)",
              "http:evil.example", "\\\\evil.example", "/%2F%2Fevil.example", " //evil.example",
              "\t//evil.example", "/\t/evil.example"]


@pytest.mark.parametrize("target", EVIL_NEXTS)
def test_login_next_never_leaves_the_site(client, agent, target):
    response = client.post("/login", data={"email": agent.email, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location
    assert urlsplit(location).netloc == "" and urlsplit(location).scheme == ""


def test_login_next_keeps_our_own_paths(client, agent):
    response = client.post("/login", data={"email": agent.email, "password": PASSWORD, "next": "/search?q=x"})
    assert response.headers["Location"] == "/search?q=x"


def test_session_cookie_flags(client, agent):
    response = client.post("/login", data={"email": agent.email, "password": PASSWORD})
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_policy_changes_need_a_fresh_password(app, client, supervisor, login_as):
    login_as(supervisor)
    assert client.get("/coupons/policy").status_code == 200
    assert client.get("/sla/policies").status_code == 200
    app.config["FRESH_LOGIN_SECONDS"] = 0
    time.sleep(0.01)
    for url in ("/coupons/policy", "/sla/policies", "/sla/calendar"):
        response = client.get(url)
        assert response.status_code == 302 and "/reauth" in response.headers["Location"], url
    response = client.post("/coupons/policy", data={"role": "agent"}, headers={"Referer": "http://localhost/coupons/policy"})
    assert response.status_code == 302 and "/reauth?next=/coupons/policy" in response.headers["Location"]
    assert client.post("/reauth?next=/sla/policies", data={"password": "wrong-one", "next": "/sla/policies"}).status_code == 200
    app.config["FRESH_LOGIN_SECONDS"] = 900
    response = client.post("/reauth", data={"password": PASSWORD, "next": "/sla/policies"})
    assert response.status_code == 302 and response.headers["Location"] == "/sla/policies"
    assert client.get("/sla/policies").status_code == 200


def test_remembered_session_is_not_fresh(app, client, supervisor, login_as):
    login_as(supervisor)
    with client.session_transaction() as session:
        session["_fresh"] = False  # what Flask-Login sets when a remember-me cookie restores it
    response = client.get("/coupons/policy")
    assert response.status_code == 302 and "/reauth" in response.headers["Location"]


def _limited_app(app, tmp_path, **extra):
    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      INSTANCE_DIR=str(tmp_path / "rl"), RATELIMIT_ENABLED=True, **extra)


def test_wrong_passwords_from_many_addresses_do_not_lock_the_owner_out(app, tmp_path):
    """No per-account lock: the limit is per (account, address) (tests/test_security_login_limits.py)."""
    limited = _limited_app(app, tmp_path, RATELIMIT_STORAGE_URI="memory://")
    victim = make_agent("agent")
    statuses = []
    for n in range(7):  # every attempt from another address
        client = limited.test_client()
        statuses.append(client.post("/login", data={"email": victim.email.upper(), "password": "guess"},
                                    environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code)
    assert statuses == [200] * 7
    assert limited.test_client().post("/login", data={"email": victim.email, "password": PASSWORD},
                                      environ_base={"REMOTE_ADDR": "10.0.1.1"}).status_code == 302


def test_login_is_rate_limited_per_ip(app, tmp_path):
    limited = _limited_app(app, tmp_path, RATELIMIT_STORAGE_URI="memory://")
    client = limited.test_client()
    statuses = [client.post("/login", data={"email": f"u{n}@x.example", "password": "guess"},
                            environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code for n in range(12)]
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]


def test_rate_limit_is_shared_through_redis(app, tmp_path, redis_server):
    redis_server.flushall()
    # create_app() derives RATELIMIT_STORAGE_URI from REDIS_URL; set it directly here so these
    # apps do not also start Socket.IO Redis listeners.
    first = _limited_app(app, tmp_path, RATELIMIT_STORAGE_URI=redis_server.url)
    second = _limited_app(app, tmp_path, RATELIMIT_STORAGE_URI=redis_server.url)
    codes = []
    for n in range(11):  # alternate between two "processes"; one address, a new account each time
        web = (first, second)[n % 2]
        codes.append(web.test_client().post("/login", data={"email": f"u{n}@x.example", "password": "x"},
                                            environ_base={"REMOTE_ADDR": "10.1.0.9"}).status_code)
    assert codes == [200] * 10 + [429]
