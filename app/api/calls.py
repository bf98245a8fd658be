"""Calls: POST /calls logs a phone call (from a phone system) through the one ingest path."""
from __future__ import annotations

from datetime import timedelta

from marshmallow import Schema, fields, validate

from app.api import bp
from app.api.auth import current_agent, load_json, requires, validation_error
from app.fields import Moment, Text, Whole
from app.calls.services import CALL_DIRECTIONS, OUTCOMES, CallInput, log_call
from app.extensions import db
from app.ingest import IngestError


class CallInSchema(Schema):
    """A phone call to log. `call_id` is the phone system's id: posting it again is harmless."""

    call_id = Text(required=True, validate=validate.Length(min=1, max=200))
    number = Text(required=True, validate=validate.Length(min=1, max=40),
                  metadata={"example": "090-1234-5678"})
    direction = fields.String(load_default="inbound", validate=validate.OneOf(CALL_DIRECTIONS))
    started_at = Moment(required=True)
    duration_seconds = Whole(load_default=0, validate=validate.Range(min=0, max=86400))
    summary = Text(load_default="", validate=validate.Length(max=20000))
    outcome = fields.String(load_default="resolved", validate=validate.OneOf(OUTCOMES))
    follow_up_at = Moment(load_default=None, allow_none=True, max_future=timedelta(days=400),
                                        metadata={"description": "Callback promised by this time"})
    caller_name = Text(load_default="", validate=validate.Length(max=200))


class CallResultSchema(Schema):
    status = fields.String(metadata={"enum": ["created", "duplicate"]})
    message_id = fields.Integer()
    ticket_id = fields.Integer()
    customer_id = fields.Integer()


@bp.post("/calls")
@requires("calls:write")
def calls_create():
    """Log a phone call, matched to its customer by the number.
    ---
    post:
      tags: [calls]
      summary: Log a phone call
      description: >
        The number is normalised (Japan by default) and matched to a customer, who is created
        when none matches. A follow-up time creates a callback task. Posting the same call_id
        again answers 200 "duplicate" and changes nothing.
      requestBody:
        required: true
        content:
          application/json:
            schema: CallInSchema
      responses:
        201:
          description: Logged
          content:
            application/json:
              schema: CallResultSchema
        200:
          description: Already logged
          content:
            application/json:
              schema: CallResultSchema
        400: BadRequest
        422: ValidationFailed
    """
    data, refused = load_json(CallInSchema())
    if refused is not None:
        return refused
    try:
        message, created = log_call(CallInput(**data), agent_id=current_agent().id)
    except IngestError as exc:
        db.session.rollback()
        return validation_error(exc.errors)
    result = {"status": "created" if created else "duplicate", "message_id": message.id,
              "ticket_id": message.ticket_id, "customer_id": message.customer_id}
    return CallResultSchema().dump(result), 201 if created else 200
