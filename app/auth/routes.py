"""Login and logout pages, and the language switch."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp, throttle
from app.auth.forms import LoginForm
from app.auth.services import authenticate, end_sessions
from app.extensions import limiter


def safe_next(target: str | None) -> str:
    """Only our own paths: '/x' but never '//host' or 'http://host'."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc \
            and "\\" not in target:
        return target
    return url_for("tickets.inbox")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("LOGIN_RATE_PER_IP", "10 per minute"), methods=["POST"])
def login():
    """Sign in with email and password (failures throttled per account and address: throttle.py)."""
    if current_user.is_authenticated:
        return redirect(url_for("tickets.inbox"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        source = request.remote_addr or ""
        wait = throttle.wait_seconds(form.email.data, source)
        if wait:
            flash(_("Too many failed sign-ins from here. Try again in %(minutes)s min.",
                    minutes=max(1, -(-wait // 60))), "error")
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}
        agent = authenticate(form.email.data, form.password.data)
        if agent is not None:
            throttle.record_success(form.email.data, source)
            login_user(agent, remember=form.remember.data)
            return redirect(safe_next(form.next.data))
        throttle.record_failure(form.email.data, source)
        flash(_("Wrong email or password."), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out (POST, so a link on another site cannot sign anyone out) — everywhere."""
    end_sessions(current_user._get_current_object())
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/language/<code>", methods=["POST"])
def language(code: str):
    """Switch the UI language for this browser."""
    if code in ("ja", "en"):
        session["locale"] = code
    return redirect(safe_next(request.form.get("next")))


@bp.teardown_app_request
def _forget_loaded_agent(_exc=None):
    """Drop Flask-Login's per-request user cache from `g` when the request ends.

    `g` belongs to the app context, which a request reuses when one is already pushed (tests,
    CLI jobs, Socket.IO events handled inside a worker's context): without this, the next
    request in that context would see the previous request's agent.
    """
    from flask import g

    g.pop("_login_user", None)
