"""Bearer-token authentication for every /api/v1 endpoint, and the JSON error helpers.

A request authenticates only with `Authorization: Bearer <token>` (tokens come from
`flask --app wsgi create-token`); the session cookie is ignored, which is why the blueprint can
be CSRF-exempt. The agent is kept in `g.agent` for the request and also becomes Flask-Login's
`current_user`, without touching the session. Views marked `@public` skip the check.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import current_app, g, jsonify, request

from app.api import bp
from app.auth.services import agent_for_token
from app.models import Agent

REALM = 'Bearer realm="tsunagu"'


def public(view: Callable) -> Callable:
    """Mark a view as reachable without a token (the OpenAPI document)."""
    view.api_public = True
    return view


def is_public(view: Callable | None) -> bool:
    return bool(getattr(view, "api_public", False))


def current_agent() -> Agent:
    """The agent the request's token belongs to."""
    return g.agent


@bp.before_request
def authenticate_request():
    if is_public(current_app.view_functions.get(request.endpoint)):
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return unauthorized("an Authorization: Bearer <token> header is required")
    agent = agent_for_token(token)
    if agent is None:
        return unauthorized("the token is invalid or revoked", error="invalid_token")
    g.agent = agent
    # What login_user() leaves behind, minus the session: current_user is this agent.
    g._login_user = agent
    return None


def unauthorized(message: str, error: str | None = None):
    challenge = REALM + (f', error="{error}"' if error else "")
    response = jsonify(error="unauthorized", message=message)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = challenge
    return response


def validation_error(errors: dict[str, str]):
    """422 {error: "validation", fields: {name: message}}."""
    return jsonify(error="validation", fields=errors), 422


def bad_request(message: str):
    return jsonify(error="bad_request", message=message), 400


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, str]:
    """Marshmallow's nested {field: [msg] | {sub: [msg]}} as {"field.sub": "msg msg"}."""
    if not isinstance(messages, dict):
        text = " ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
        return {prefix or "_body": text}
    flat: dict[str, str] = {}
    for key, value in messages.items():
        # A key may hold undecodable bytes (a misspelt field name): keep it printable.
        name = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
        flat.update(flatten_errors(value, f"{prefix}.{name}" if prefix else name))
    return flat
