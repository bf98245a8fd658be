"""Security headers on every response: a nonce-based Content-Security-Policy and friends.

Scripts run only from our own origin or inline with the per-request nonce (`csp_nonce()` in
templates); no `'unsafe-inline'` for scripts or styles. Images come from us or data: URIs, so
remote images in customer mail are never fetched by the agent's browser. Responses that set
their own policy (the sandboxed email view) keep it.
"""
from __future__ import annotations

import secrets

from flask import Flask, Response, request


def csp_nonce() -> str:
    """The nonce of the current request (created on first use).

    Kept in the WSGI environ, not `g`: `g` lives in the app context, which a request reuses when
    one is already pushed (tests, Socket.IO), and a nonce must never be reused.
    """
    nonce = request.environ.get("tsunagu.csp_nonce")
    if nonce is None:
        nonce = request.environ["tsunagu.csp_nonce"] = secrets.token_urlsafe(16)
    return nonce


def content_security_policy(nonce: str) -> str:
    # ws:/wss: of our own host for Socket.IO ('self' covers them in CSP3, older browsers need it).
    host = request.host
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self' data:",
        f"connect-src 'self' ws://{host} wss://{host}",
        "font-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _set_headers(response: Response) -> Response:
    headers = response.headers
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = content_security_policy(csp_nonce())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    from flask import current_app

    if current_app.config.get("HSTS_ENABLED"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_headers(app: Flask) -> None:
    """Register the after-request hook and the `csp_nonce()` template global."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_set_headers)
