"""Fresh login for sensitive changes (coupon policy, SLA policy, users, passwords).

Flask-Login marks a session fresh at password login; we also remember *when*, so "fresh" means
"signed in with a password in the last FRESH_LOGIN_SECONDS", not "at some point in this session".
"""
from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, current_app, redirect, request, session, url_for
from flask_login import current_user, login_fresh, user_logged_in

FRESH_AT = "_tsunagu_fresh_at"


def mark_fresh() -> None:
    session[FRESH_AT] = time.time()


def is_fresh() -> bool:
    limit = current_app.config.get("FRESH_LOGIN_SECONDS", 900)
    return login_fresh() and time.time() - session.get(FRESH_AT, 0) <= limit


def fresh_login_required(view):
    """Like flask_login.fresh_login_required, but time-bounded; sends the agent to /reauth."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user.is_authenticated and not is_fresh():
            # After a POST, come back to the page the form was on (the POST is not replayed).
            target = (request.full_path.rstrip("?") if request.method == "GET"
                      else urlsplit(request.referrer or "").path or "/")
            return redirect(url_for("security.reauth", next=target))
        return view(*args, **kwargs)

    return wrapper


def _on_login(_sender, **_extra) -> None:
    mark_fresh()


def init_fresh(app: Flask) -> None:
    app.config.setdefault("FRESH_LOGIN_SECONDS", 900)
    # One receiver for every app (connecting per app would pile up receivers in test runs).
    user_logged_in.connect(_on_login, weak=False)
