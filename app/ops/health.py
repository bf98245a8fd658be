"""/healthz (database, Redis, each channel's last successful poll) and /readyz (can serve).

Anyone may ask /healthz whether we are up, so its public answer is the status alone (with the
status code): the details name mailboxes, the X account id and error texts (issue 20, item 7).
The details are for a signed-in admin or a monitor holding HEALTH_TOKEN
(`Authorization: Bearer <HEALTH_TOKEN>`).
"""
from __future__ import annotations

import hmac
from datetime import timedelta

from flask import current_app, jsonify, request
from flask_login import current_user
from sqlalchemy import text

from app.channels.state import states
from app.extensions import csrf, db, limiter
from app.models import utcnow
from app.ops import bp


def _check_db() -> tuple[bool, str]:
    try:
        db.session.execute(text("SELECT 1"))
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        db.session.rollback()
        return False, type(exc).__name__


def _check_redis() -> tuple[bool, str]:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return True, "not configured"
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
        return True, "ok"
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__


def _channels() -> list[dict]:
    stale_after = timedelta(seconds=max(current_app.config["WORKER_POLL_SECONDS"] * 10, 300))
    now = utcnow()
    report = []
    for state in states():
        fresh = state.last_success_at is not None and now - state.last_success_at < stale_after
        report.append({"channel": state.channel, "key": state.key, "ok": fresh and not state.last_error,
                       "last_success_at": state.last_success_at.isoformat() if state.last_success_at else None,
                       "last_error": state.last_error})
    return report


def may_see_details() -> bool:
    """A signed-in admin, or the HEALTH_TOKEN bearer (compared in constant time)."""
    expected = current_app.config.get("HEALTH_TOKEN") or ""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if expected and scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8", "surrogateescape"), expected.encode("utf-8")):
        return True
    return bool(getattr(current_user, "is_authenticated", False) and current_user.is_admin)


@bp.route("/healthz")
@csrf.exempt
@limiter.exempt
def healthz():
    """200 when the database (and Redis, if configured) answer; details only for admins/monitors."""
    db_ok, db_detail = _check_db()
    redis_ok, redis_detail = _check_redis()
    channels = _channels() if db_ok else []
    ok = db_ok and redis_ok
    body = {"status": "ok" if ok and all(c["ok"] for c in channels) else ("degraded" if ok else "down")}
    if may_see_details():
        body.update(database=db_detail, redis=redis_detail, channels=channels)
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Authorization, Cookie"
    return response, 200 if ok else 503


@bp.route("/readyz")
@csrf.exempt
@limiter.exempt
def readyz():
    """Ready to take traffic: the database answers."""
    db_ok, detail = _check_db()
    return jsonify(status="ready" if db_ok else "not ready", database=detail), 200 if db_ok else 503
