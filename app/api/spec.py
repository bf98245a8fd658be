"""The OpenAPI 3 document, generated from the code at GET /api/v1/openapi.json.

Every view of the `api` blueprint is documented from the YAML after `---` in its docstring
(apispec's FlaskPlugin); schemas named there are marshmallow classes (MarshmallowPlugin). To add
an endpoint, write a view in a new app/api module, import that module in app/api/__init__.py and
give the view such a docstring: nothing here needs to change. Operations of token-protected
views get the 401 response added; `@public` views get `security: []`.
"""
from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask, current_app

from app.api import bp
from app.api.auth import is_public, public, required_scope
from app.api.schemas import ErrorSchema, SenderField, SenderSchema, ValidationErrorSchema

TITLE = "Tsunagu API"
VERSION = "1.0.0"
OPENAPI_VERSION = "3.0.3"
DESCRIPTION = """JSON API of the Tsunagu helpdesk.

Authenticate with `Authorization: Bearer <token>`; an administrator creates tokens with
`flask --app wsgi create-token EMAIL [--scope S ...] [--integration NAME]`. A token acts as its
agent: tickets the agent may not see answer 404, as if they did not exist. Times are ISO 8601
with a UTC offset.

Each operation names the scope it needs in `x-required-scope`: `read` (every GET),
`messages:write`, `calls:write`, or `commerce:write` (the shop's data: only on an integration's
token). A person's token carries read, messages:write and calls:write unless created with fewer.
A token without the scope gets 403 `insufficient_scope`."""
_METHODS = ("get", "put", "post", "delete", "patch")


def _error(description: str, schema: Any = ErrorSchema) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _sender_field(self, field, **kwargs) -> dict:
    """`from` is either an email-address string or a Sender object."""
    if isinstance(field, SenderField):
        return {"oneOf": [{"type": "string", "format": "email"},
                          self.resolve_nested_schema(SenderSchema)]}
    return {}


def build_spec(app: Flask) -> dict:
    """The OpenAPI document of every view registered on the api blueprint."""
    marshmallow = MarshmallowPlugin()
    spec = APISpec(title=TITLE, version=VERSION, openapi_version=OPENAPI_VERSION,
                   plugins=[FlaskPlugin(), marshmallow], info={"description": DESCRIPTION},
                   security=[{"bearerAuth": []}])
    marshmallow.converter.add_attribute_function(_sender_field)
    spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "An API token from `flask --app wsgi create-token`"})
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.schema("ValidationError", schema=ValidationErrorSchema)
    spec.components.response("Unauthorized", _error("Missing, invalid or revoked token"))
    spec.components.response("NotFound", _error("No such object, or not visible to this agent"))
    spec.components.response("BadRequest", _error("The body is not a JSON object"))
    spec.components.response("InsufficientScope", _error("The token lacks the scope this operation needs"))
    spec.components.response("ValidationFailed", _error(
        "Invalid input: `fields` names each wrong field", ValidationErrorSchema))

    public_paths: set[str] = set()
    scopes: dict[tuple[str, str], str | None] = {}
    prefix = f"{bp.name}."
    endpoints = sorted({rule.endpoint for rule in app.url_map.iter_rules()
                        if rule.endpoint.startswith(prefix)})
    for endpoint in endpoints:
        view = app.view_functions[endpoint]
        spec.path(view=view, app=app)
        for rule in app.url_map.iter_rules(endpoint):
            for method in rule.methods or ():
                scopes[(FlaskPlugin.flaskpath2openapi(rule.rule), method.lower())] = required_scope(view, method)
        if is_public(view):
            public_paths.update(FlaskPlugin.flaskpath2openapi(rule.rule)
                                for rule in app.url_map.iter_rules(endpoint))
    document = spec.to_dict()
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            if path in public_paths:
                operation["security"] = []
            else:
                operation.setdefault("responses", {}).setdefault(
                    "401", {"$ref": "#/components/responses/Unauthorized"})
                operation["responses"].setdefault("403", {"$ref": "#/components/responses/InsufficientScope"})
                operation["x-required-scope"] = scopes.get((path, method))
    return document


def documented_methods(document: dict, path: str) -> set[str]:
    """Upper-case HTTP methods documented for `path` (used by the tests' completeness check)."""
    return {m.upper() for m in document.get("paths", {}).get(path, {}) if m in _METHODS}


@bp.get("/openapi.json")
@public
def openapi_document():
    """This OpenAPI document (no token needed).
    ---
    get:
      tags: [meta]
      summary: The OpenAPI document of this API
      responses:
        200:
          description: OpenAPI 3 document
          content:
            application/json:
              schema: {type: object}
    """
    cache = current_app.extensions.setdefault("tsunagu_api", {})
    if "openapi" not in cache:
        cache["openapi"] = build_spec(current_app)
    return cache["openapi"]
