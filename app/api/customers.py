"""Customers: GET /customers/<id> (with identities) and its timeline of messages and events."""
from __future__ import annotations

from flask import request
from marshmallow import ValidationError

from app.api import bp
from app.api.auth import current_agent, flatten_errors, validation_error
from app.api.schemas import CustomerSchema, TimelinePageSchema, TimelineQuerySchema
from app.api.services import customer_timeline
from app.auth.access import get_customer_for


@bp.get("/customers/<int:customer_id>")
def customers_show(customer_id: int):
    """A customer and the identities every channel finds them by.
    ---
    get:
      tags: [customers]
      summary: Get a customer
      parameters:
        - in: path
          name: customer_id
          required: true
          schema: {type: integer}
      responses:
        200:
          description: The customer
          content:
            application/json:
              schema: CustomerSchema
        404: NotFound
    """
    return CustomerSchema().dump(get_customer_for(current_agent(), customer_id))


@bp.get("/customers/<int:customer_id>/timeline")
def customers_timeline(customer_id: int):
    """The customer's messages and events in time order (only tickets the agent may see).
    ---
    get:
      tags: [customers]
      summary: Get a customer's timeline
      parameters:
        - in: path
          name: customer_id
          required: true
          schema: {type: integer}
        - in: query
          schema: TimelineQuerySchema
      responses:
        200:
          description: One page of timeline entries
          content:
            application/json:
              schema: TimelinePageSchema
        404: NotFound
        422: ValidationFailed
    """
    agent = current_agent()
    customer = get_customer_for(agent, customer_id)
    try:
        args = TimelineQuerySchema().load(request.args)
    except ValidationError as exc:
        return validation_error(flatten_errors(exc.messages))
    return TimelinePageSchema().dump(customer_timeline(agent, customer, **args))
