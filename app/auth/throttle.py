"""Sign-in limits kept in the database: the same for every web process, with or without Redis.

Flask-Limiter's memory storage counts per process (4 processes let 20 of 20 bad guesses through)
and a per-account limit let anyone lock a user out with five wrong passwords (issue 20, item 5).
Here failures are counted per (account, source address) and per source address, in a table every
process shares:

- 5 failures for one account from one address: that pair waits 1 min, then 2, 4 ... up to 1 h
  after each further failure. The owner signing in from another address is not affected.
- 30 failures from one address, over any accounts: that address waits the same way.
- A success clears its pair. Counts start again after an hour without failures.

Only failures are counted, and a refused attempt is not checked nor counted, so an attacker
cannot push the delay past what their own failures earn. Disabled with RATELIMIT_ENABLED=False
(the test configuration), like the other limits.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import LoginThrottle, utcnow

QUIET_RESET = timedelta(hours=1)
MAX_WAIT = timedelta(hours=1)
BASE_WAIT = timedelta(minutes=1)


def _limits() -> dict[str, int]:
    return {"pair": int(current_app.config.get("LOGIN_FAILURES_PER_PAIR", 5)),
            "source": int(current_app.config.get("LOGIN_FAILURES_PER_SOURCE", 30))}


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def _keys(account: str, source: str) -> dict[str, str]:
    account = (account or "").strip().lower()[:254]
    source = (source or "unknown")[:60]
    return {"pair": f"pair:{account}|{source}", "source": f"source:{source}"}


def wait_seconds(account: str, source: str) -> Optional[int]:
    """Seconds this attempt must wait (refuse it with 429), or None to go ahead."""
    if not _enabled():
        return None
    now = utcnow()
    rows = db.session.scalars(select(LoginThrottle).where(
        LoginThrottle.key.in_(list(_keys(account, source).values())),
        LoginThrottle.blocked_until > now))
    waits = [int((row.blocked_until - now).total_seconds()) + 1 for row in rows]
    db.session.rollback()  # read only: leave no transaction open on SQLite
    return max(waits) if waits else None


def _count(key: str, limit: int) -> None:
    now = utcnow()
    stale = LoginThrottle.last_failure_at < now - QUIET_RESET
    # Atomic in SQL, so two processes counting at once both count.
    db.session.execute(update(LoginThrottle).where(LoginThrottle.key == key, stale)
                       .values(failures=0, blocked_until=None)
                       .execution_options(synchronize_session=False))
    result = db.session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                                .values(failures=LoginThrottle.failures + 1, last_failure_at=now)
                                .execution_options(synchronize_session=False))
    if result.rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(LoginThrottle(key=key, failures=1, last_failure_at=now))
        except IntegrityError:  # another process inserted it first
            db.session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                               .values(failures=LoginThrottle.failures + 1, last_failure_at=now)
                               .execution_options(synchronize_session=False))
    failures = db.session.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == key))
    if failures >= limit:
        wait = min(BASE_WAIT * (2 ** (failures - limit)), MAX_WAIT)
        db.session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                           .values(blocked_until=now + wait).execution_options(synchronize_session=False))


def record_failure(account: str, source: str) -> None:
    """Count a wrong password for the pair and the source. Commits."""
    if not _enabled():
        return
    limits = _limits()
    for kind, key in _keys(account, source).items():
        _count(key, limits[kind])
    db.session.commit()


def record_success(account: str, source: str) -> None:
    """A right password clears its pair (the source's count stays). Commits."""
    if not _enabled():
        return
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == _keys(account, source)["pair"]))
    db.session.commit()
