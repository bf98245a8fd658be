"""Tickets: GET /tickets (filtered, paginated) and GET /tickets/<id> with its messages."""
from __future__ import annotations

from flask import request
from marshmallow import ValidationError

from app.api import bp
from app.api.auth import current_agent, flatten_errors, validation_error
from app.api.schemas import MessageSchema, TicketPageSchema, TicketQuerySchema, TicketSchema
from app.api.services import list_tickets, ticket_messages
from app.auth.access import get_ticket_for


@bp.get("/tickets")
def tickets_index():
    """List the tickets the agent may see, most recent activity first.
    ---
    get:
      tags: [tickets]
      summary: List tickets
      parameters:
        - in: query
          schema: TicketQuerySchema
      responses:
        200:
          description: One page of tickets
          content:
            application/json:
              schema: TicketPageSchema
        422: ValidationFailed
    """
    try:
        args = TicketQuerySchema().load(request.args)
    except ValidationError as exc:
        return validation_error(flatten_errors(exc.messages))
    page = list_tickets(current_agent(), **args)
    return TicketPageSchema().dump(page)


@bp.get("/tickets/<int:ticket_id>")
def tickets_show(ticket_id: int):
    """One ticket with its messages in time order.
    ---
    get:
      tags: [tickets]
      summary: Get a ticket and its messages
      parameters:
        - in: path
          name: ticket_id
          required: true
          schema: {type: integer}
      responses:
        200:
          description: The ticket
          content:
            application/json:
              schema: TicketDetailSchema
        404: NotFound
    """
    ticket = get_ticket_for(current_agent(), ticket_id)
    data = TicketSchema().dump(ticket)  # + messages: the shape TicketDetailSchema documents
    data["messages"] = MessageSchema(many=True).dump(ticket_messages(ticket))
    return data
