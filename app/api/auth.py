"""Bearer-token authentication for every /api/v1 endpoint, and the JSON error helpers.

A request authenticates only with `Authorization: Bearer <token>` (tokens come from
`flask --app wsgi create-token`); the session cookie is ignored, which is why the blueprint can
be CSRF-exempt. The agent is kept in `g.agent` for the request and also becomes Flask-Login's
`current_user`, without touching the session. Views marked `@public` skip the check.

Scopes (issue 20, item 1): a token carries some of read, messages:write, calls:write and
commerce:write. A view declares what it needs with `@requires(scope)`; an undeclared GET needs
"read", and an undeclared write is refused (fail closed: a new write endpoint must say its scope).
commerce:write is honoured only on an integration's token, so no agent's token can rewrite a
customer's address or orders. A missing scope answers 403 `insufficient_scope`.
"""
from __future__ import annotations

from typing import Any, Callable

from flask import current_app, g, jsonify, request
from marshmallow import ValidationError

from app.api import bp
from app.auth.services import token_for
from app.models import Agent, ApiToken

REALM = 'Bearer realm="tsunagu"'


def public(view: Callable) -> Callable:
    """Mark a view as reachable without a token (the OpenAPI document)."""
    view.api_public = True
    return view


def is_public(view: Callable | None) -> bool:
    return bool(getattr(view, "api_public", False))


def requires(scope: str) -> Callable[[Callable], Callable]:
    """Declare the token scope a view needs (see the module docstring)."""
    def mark(view: Callable) -> Callable:
        view.api_scope = scope
        return view
    return mark


def required_scope(view: Callable | None, method: str) -> str | None:
    """The scope `view` needs for `method`; None means no token may call it."""
    declared = getattr(view, "api_scope", None)
    if declared:
        return declared
    return "read" if method in ("GET", "HEAD", "OPTIONS") else None


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
    row = token_for(token)
    if row is None:
        return unauthorized("the token is invalid or revoked", error="invalid_token")
    refusal = _scope_refusal(row, required_scope(current_app.view_functions.get(request.endpoint),
                                                 request.method))
    if refusal:
        return refusal
    agent = row.agent
    g.agent, g.api_token = agent, row
    # What login_user() leaves behind, minus the session: current_user is this agent.
    g._login_user = agent
    return None


def _scope_refusal(row: ApiToken, scope: str | None):
    if request.endpoint is None:  # no such route: let it answer 404/405
        return None
    if scope is None:
        return insufficient_scope("", "this endpoint does not accept API tokens")
    if row.allows(scope):
        return None
    if scope == "commerce:write" and not row.integration:
        return insufficient_scope(scope, "commerce data is written only by an integration token with "
                                         "the commerce:write scope, never by a person's token")
    return insufficient_scope(scope, f"this token lacks the {scope} scope")


def insufficient_scope(scope: str, message: str):
    response = jsonify(error="insufficient_scope", message=message, scope=scope)
    response.status_code = 403
    response.headers["WWW-Authenticate"] = REALM + f', error="insufficient_scope", scope="{scope}"'
    return response


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


def load_json(schema):
    """(data, None) for a JSON object body that `schema` (a marshmallow Schema instance) loads,
    else (None, the 400 / 422 response to return)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None, bad_request("the body must be a JSON object")
    try:
        return schema.load(body), None
    except ValidationError as exc:
        return None, validation_error(flatten_errors(exc.messages))
