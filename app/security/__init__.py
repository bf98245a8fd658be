"""Hardening shared by every feature: security headers/CSP, secret redaction in logs, fresh login.

`init_security(app)` is called from create_app(); the blueprint holds the re-authentication page.
"""
from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("security", __name__, template_folder="templates")


def init_security(app: Flask) -> None:
    from app.security.fresh import init_fresh
    from app.security.headers import init_headers
    from app.security.inputs import init_inputs
    from app.security.redact import init_redaction

    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    app.config.setdefault("HSTS_ENABLED", secure)
    # Flask-Login's remember-me cookie gets the same flags as the session cookie.
    app.config.setdefault("REMEMBER_COOKIE_SECURE", secure)
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    init_headers(app)
    init_redaction(app)
    init_fresh(app)
    init_inputs(app)
    _trust_proxies(app)
    app.register_blueprint(bp)


def _trust_proxies(app: Flask) -> None:
    """Behind PROXY_HOPS reverse proxies (nginx: 1), take the client address from X-Forwarded-For.

    The login limits count failures per (account, address): without this every client seems to
    come from the proxy, and the per-address limits would act on everyone at once. Off by default,
    because a client reaching the app directly could then forge the header.
    """
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


from app.security import routes, tokens  # noqa: E402,F401
