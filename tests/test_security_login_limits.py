"""Login limits shared by every web process through the database, by account and address.

Issue 20, item 5: with four processes and no Redis, 20 of 20 bad logins were answered, and five
wrong passwords locked the owner out. Here several app instances (separate Flask-Limiter memory,
like separate processes) share one database.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import create_app
from app.extensions import db
from app.models import LoginThrottle, utcnow
from config import TestingConfig
from tests.factories import PASSWORD, make_agent

ATTACKER = "203.0.113.66"
OWNER_HOME = "198.51.100.7"


@pytest.fixture
def processes(app, tmp_path):
    """Three app instances on the same database, limits on, no Redis. Flask-Limiter's memory
    storage is one per Python process (these instances would share it, real processes do not), so
    its per-address limit is set out of the way: what is measured is the database's count alone."""
    return [create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                       INSTANCE_DIR=str(tmp_path / f"p{n}"), RATELIMIT_ENABLED=True,
                       RATELIMIT_STORAGE_URI="memory://", LOGIN_FAILURES_PER_SOURCE=12,
                       LOGIN_RATE_PER_IP="1000 per minute")
            for n in range(3)]


def _try(web, email, password, address):
    return web.test_client().post("/login", data={"email": email, "password": password},
                                  environ_base={"REMOTE_ADDR": address})


def test_twenty_guesses_over_three_processes_get_five_answers(processes):
    victim = make_agent("agent", name="被害 さくら")
    codes = [_try(processes[n % 3], victim.email, f"guess-{n}", ATTACKER).status_code for n in range(20)]
    assert codes == [200] * 5 + [429] * 15


def test_the_owner_still_signs_in_from_elsewhere_but_not_from_the_attackers_address(processes):
    victim = make_agent("agent", name="被害 さくら")
    for n in range(6):
        _try(processes[n % 3], victim.email, "wrong-password", ATTACKER)
    refused = _try(processes[0], victim.email, PASSWORD, ATTACKER)  # the right one, but from there
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert _try(processes[1], victim.email, PASSWORD, OWNER_HOME).status_code == 302


def test_the_wait_grows_with_each_further_failure(app, processes):
    victim = make_agent("agent", name="被害 さくら")
    for n in range(5):
        _try(processes[n % 3], victim.email, "nope", ATTACKER)
    first = int(_try(processes[0], victim.email, "nope", ATTACKER).headers["Retry-After"])
    assert 30 < first <= 61
    db.session.execute(update(LoginThrottle).values(blocked_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()  # the minute has passed
    assert _try(processes[1], victim.email, "nope", ATTACKER).status_code == 200  # one more try, wrong
    second = int(_try(processes[2], victim.email, "nope", ATTACKER).headers["Retry-After"])
    assert 90 < second <= 121


def test_one_address_trying_many_accounts_is_limited_across_processes(processes):
    codes = [_try(processes[n % 3], f"staff{n}@shop.example", "Summer2026!", ATTACKER).status_code
             for n in range(14)]
    assert codes == [200] * 12 + [429] * 2
    someone = make_agent("agent", name="別人 太郎")
    assert _try(processes[0], someone.email, PASSWORD, OWNER_HOME).status_code == 302


def test_a_success_clears_the_pair_and_a_quiet_hour_resets_the_count(app, processes):
    owner = make_agent("agent", name="うっかり 健")
    for n in range(4):
        _try(processes[n % 3], owner.email, "typo", OWNER_HOME)
    assert _try(processes[0], owner.email, PASSWORD, OWNER_HOME).status_code == 302
    for n in range(4):
        assert _try(processes[n % 3], owner.email, "typo again", OWNER_HOME).status_code == 200
    db.session.execute(update(LoginThrottle).values(last_failure_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    for n in range(4):  # 4 + 4 would have blocked, had the count not started again
        assert _try(processes[n % 3], owner.email, "typo", OWNER_HOME).status_code == 200
    pair = db.session.scalar(select(LoginThrottle).where(LoginThrottle.key.like("pair:%")))
    assert pair.failures == 4 and pair.blocked_until is None


def test_behind_a_proxy_each_client_address_counts_apart(app, tmp_path):
    """With PROXY_HOPS=1 the address is the client's (X-Forwarded-For), not the proxy's, so an
    attacker's failures do not block the owner who comes through the same proxy."""
    web = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                     INSTANCE_DIR=str(tmp_path / "proxied"), RATELIMIT_ENABLED=True,
                     RATELIMIT_STORAGE_URI="memory://", LOGIN_RATE_PER_IP="1000 per minute", PROXY_HOPS=1)
    victim = make_agent("agent", name="被害 さくら")

    def attempt(password, client_address):
        return web.test_client().post("/login", data={"email": victim.email, "password": password},
                                      environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                      headers={"X-Forwarded-For": client_address})

    assert [attempt("guess", ATTACKER).status_code for _ in range(6)] == [200] * 5 + [429]
    assert attempt(PASSWORD, OWNER_HOME).status_code == 302
