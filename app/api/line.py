"""POST /line/links: the shop's system links a LINE user to its customer (member id or order number).

Idempotent: linking the same user to the same customer again answers 200 "unchanged". A LINE
user we have not seen yet becomes an identity of the customer; one that chatted already has its
LINE-only customer merged into the shop's customer (undoable on the customer page). Errors say
what is wrong: 404 unknown_member / unknown_order, 409 identity_conflict (the LINE user belongs
to another shop customer), 422 for a malformed body. Needs an integration token with
commerce:write, like every write of the shop's data.
"""
from __future__ import annotations

from flask import jsonify
from marshmallow import Schema, fields, validate

from app.api import bp
from app.api.auth import current_agent, load_json, requires, validation_error
from app.channels.line import links


class LineLinkInSchema(Schema):
    line_user_id = fields.String(required=True, validate=validate.Regexp(r"^U[0-9a-f]{32}$"),
                                 metadata={"description": "The LINE user id (U + 32 hex digits)"})
    member_id = fields.String(validate=validate.Length(min=1, max=100),
                              metadata={"description": "The shop's member (customer) id"})
    order_number = fields.String(validate=validate.Length(min=1, max=100),
                                 metadata={"description": "An order number of the customer"})


class LineLinkResultSchema(Schema):
    status = fields.String(metadata={"description": "linked | merged | unchanged"})
    customer_id = fields.Integer()
    identity_id = fields.Integer()
    merged_from = fields.Integer(allow_none=True, metadata={"description": "The LINE-only customer merged in"})


@bp.post("/line/links")
@requires("commerce:write")
def line_links_create():
    """Link a LINE user to the shop's customer.
    ---
    post:
      tags: [line]
      summary: Link a LINE user to a customer by member id or order number
      description: >
        Exactly one of member_id and order_number. Idempotent. Needs an integration token with
        the commerce:write scope.
      requestBody:
        required: true
        content:
          application/json:
            schema: LineLinkInSchema
      responses:
        200:
          description: Merged into the customer, or already linked (unchanged)
          content:
            application/json:
              schema: LineLinkResultSchema
        201:
          description: A new LINE identity of the customer
          content:
            application/json:
              schema: LineLinkResultSchema
        400: BadRequest
        404: NotFound
        409:
          description: The LINE user is linked to another shop customer (identity_conflict)
          content:
            application/json:
              schema: Error
        422: ValidationFailed
    """
    data, refused = load_json(LineLinkInSchema())
    if refused is not None:
        return refused
    if ("member_id" in data) == ("order_number" in data):
        return validation_error({"member_id": "give exactly one of member_id and order_number"})
    try:
        target = links.find_target(data.get("member_id"), data.get("order_number"))
        result = links.link(current_agent(), data["line_user_id"], target, "api")
    except links.LinkRefused as exc:
        return jsonify(error=exc.code, message=str(exc)), exc.status
    payload = LineLinkResultSchema().dump(result)
    return payload, 201 if result.status == "linked" else 200
