"""Commerce data in: PUT /products|customers|orders|subscriptions/<external_id> (idempotent upserts).

The shop system keys everything by its own ids; sending the same body twice answers 200
"unchanged" and changes nothing. Customers are matched by external id, then email/phone identity.
"""
from __future__ import annotations

from flask import request
from marshmallow import ValidationError

from app import bus
from app.api import bp
from app.api.auth import bad_request, flatten_errors, requires, validation_error
from app.commerce.schemas import SCHEMAS, UpsertResultSchema
from app.commerce.upserts import UpsertError, upsert
from app.extensions import db

MAX_EXTERNAL_ID = 100


def _put(kind: str, external_id: str):
    external_id = external_id.strip()
    if not external_id or len(external_id) > MAX_EXTERNAL_ID:
        return validation_error({"external_id": f"required, at most {MAX_EXTERNAL_ID} characters"})
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return bad_request("the body must be a JSON object")
    try:
        data = SCHEMAS[kind]().load(body)
        result = upsert(kind, external_id, data)
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        return validation_error(flatten_errors(exc.messages))
    except UpsertError as exc:
        db.session.rollback()
        return validation_error(exc.errors)
    if kind == "subscription" and result.status == "updated":
        bus.publish("subscription.synced", subscription_id=result.id)  # open retention panels refetch
    payload = UpsertResultSchema().dump({"status": result.status, "id": result.id, "external_id": external_id,
                                         "warnings": result.warnings})
    return payload, 201 if result.status == "created" else 200


_DOC = """{summary}
    ---
    put:
      tags: [commerce]
      summary: {summary}
      description: >
        Idempotent upsert by the shop's id; the same body twice changes nothing. Needs an
        integration token with the commerce:write scope (a person's token answers 403).
      parameters:
        - in: path
          name: external_id
          required: true
          schema: {{type: string, maxLength: 100}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {schema}
      responses:
        200:
          description: Updated, or unchanged
          content:
            application/json:
              schema: UpsertResultSchema
        201:
          description: Created
          content:
            application/json:
              schema: UpsertResultSchema
        400: BadRequest
        403: InsufficientScope
        422: ValidationFailed
    """


def _documented(summary: str, schema: str):
    """The OpenAPI text, and the scope: only an integration token with commerce:write writes."""
    def wrap(view):
        view.__doc__ = _DOC.format(summary=summary, schema=schema)
        return requires("commerce:write")(view)
    return wrap


@bp.put("/products/<string:external_id>")
@_documented("Create or update a product", "ProductInSchema")
def products_put(external_id: str):
    return _put("product", external_id)


@bp.put("/customers/<string:external_id>")
@_documented("Create or update a customer (matched by id, then email/phone)", "CustomerInSchema")
def customers_put(external_id: str):
    return _put("customer", external_id)


@bp.put("/orders/<string:external_id>")
@_documented("Create or update an order with its lines", "OrderInSchema")
def orders_put(external_id: str):
    return _put("order", external_id)


@bp.put("/subscriptions/<string:external_id>")
@_documented("Create or update a subscription", "SubscriptionInSchema")
def subscriptions_put(external_id: str):
    return _put("subscription", external_id)
