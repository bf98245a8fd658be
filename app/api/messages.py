"""Messages: POST /messages ingests a message from any source through the one ingest path.

The body is decoded here rather than by request.get_json() so that bytes which are not UTF-8
survive as lone surrogates in the string they were in; the schema then refuses that string by
field name (422) instead of the whole body failing to parse. The exact request bytes are kept
as the message's raw source.
"""
from __future__ import annotations

import json

from flask import request, url_for
from marshmallow import ValidationError

from app.api import bp
from app.api.auth import bad_request, current_agent, flatten_errors, requires, validation_error
from app.api.schemas import IngestResultSchema, MessageInSchema
from app.api.services import inbound_from_api
from app.extensions import db
from app.ingest import IngestError, ingest

#: IngestError field names that differ from the request's.
_FIELD_NAMES = {"body_text": "text", "body_html": "html"}


def _decode_body(raw: bytes):
    """The JSON object in `raw`, or raise ValueError saying why not."""
    if not raw.strip():
        raise ValueError("the body is empty; send a JSON object")
    try:
        data = json.loads(raw.decode("utf-8-sig", "surrogateescape"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


@bp.post("/messages")
@requires("messages:write")
def messages_create():
    """Ingest a message (a web form, a shop, a call system...), exactly once per external_id.
    ---
    post:
      tags: [messages]
      summary: Ingest a message
      description: >
        Stores the message in its customer's ticket, finding or creating the customer by the
        sender's identity. Posting the same channel + external_id again is harmless (200,
        status "duplicate"); reusing an external_id for different content is a 422.
        `created_at` defaults to the time of the request. `html` is sanitised before storing.
      requestBody:
        required: true
        content:
          application/json:
            schema: MessageInSchema
      responses:
        201:
          description: Stored as a new message
          headers:
            Location:
              description: The ticket the message was placed in
              schema: {type: string}
          content:
            application/json:
              schema: IngestResultSchema
        200:
          description: Already stored (a replay); nothing changed
          content:
            application/json:
              schema: IngestResultSchema
        400: BadRequest
        422: ValidationFailed
    """
    raw = request.get_data(cache=False)
    try:
        body = _decode_body(raw)
    except ValueError as exc:
        return bad_request(str(exc))
    try:
        data = MessageInSchema().load(body)
    except ValidationError as exc:
        return validation_error(flatten_errors(exc.messages))
    try:
        result = ingest(inbound_from_api(data, raw, current_agent()))
    except IngestError as exc:
        db.session.rollback()
        return validation_error({_FIELD_NAMES.get(k, k): v for k, v in exc.errors.items()})
    response = IngestResultSchema().dump(result)
    if result.status == "created":
        return response, 201, {"Location": url_for("api.tickets_show", ticket_id=result.ticket_id)}
    return response, 200
