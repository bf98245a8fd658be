"""Marshmallow schemas of the JSON API: what requests may contain and what responses look like.

The OpenAPI document (spec.py) is generated from these classes, so a field added here is
documented at the same time. Input strings go through `Text`, which refuses what cannot be
stored (lone surrogates from undecodable bytes, NUL) and names the field in the 422.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from app.customers.event_text import summary as event_summary
from app.fields import Moment, Text
from app.channels import registry
from app.models import IDENTITY_KINDS, STATUSES

ISO = "iso"  # isoformat() of an aware UTC datetime: "2025-04-01T01:02:03+00:00"


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------

class SenderSchema(Schema):
    """Who sent the message, as its channel knows them."""

    kind = fields.String(required=True, validate=validate.OneOf(IDENTITY_KINDS),
                         metadata={"description": "email | phone | x (numeric X user id)"})
    value = Text(required=True, validate=validate.Length(min=1, max=254),
                 metadata={"example": "hanako@example.jp"})
    name = Text(load_default="", validate=validate.Length(max=200),
                metadata={"description": "Display name (From name, X display name)"})
    display = Text(load_default="", validate=validate.Length(max=254),
                   metadata={"description": "As a person recognises it: X handle, number as typed"})


class SenderField(fields.Field):
    """`from`: a SenderSchema object, or a plain string meaning an email address."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            return SenderSchema().load(value)  # errors come back per key: from.kind, from.name
        if not isinstance(value, str):
            raise ValidationError("must be an email address or an object {kind, value, name}")
        if not value.strip():
            raise ValidationError("the sender is required")
        try:
            return SenderSchema().load({"kind": "email", "value": value})
        except ValidationError as exc:  # the caller gave one string: name it, not "from.value"
            raise ValidationError(" ".join(exc.messages.get("value", ["invalid"]))) from None


def _known_channel(name: str) -> None:
    if not registry.is_known(name):
        raise ValidationError(f"unknown channel {name!r}; known: {', '.join(registry.names())}")


class MessageInSchema(Schema):
    """A message to ingest. Unknown fields are refused so typos do not pass silently."""

    channel = Text(required=True, validate=_known_channel,
                   metadata={"description": "A registered channel: api, web, email, phone, x",
                             "example": "web"})
    external_id = Text(required=True, validate=validate.Length(min=1, max=500),
                       metadata={"description": "The source's id for the message; with `channel` "
                                                "the dedupe key (a replay answers 200 duplicate)"})
    sender = SenderField(required=True, data_key="from", metadata={
        "description": "Sender object, or a plain string meaning an email address"})
    subject = Text(load_default="", validate=validate.Length(max=2000))
    text = Text(load_default="", metadata={"description": "Plain-text body (at most MAX_BODY_CHARS)"})
    html = Text(load_default=None, allow_none=True,
                metadata={"description": "Optional HTML body; sanitised with nh3 before storing"})
    created_at = Moment(
        load_default=None, allow_none=True,
        metadata={"description": "When the customer sent it: ISO 8601 with a UTC offset. "
                                 "Omitted or null: the time of this request."})
    thread_key = Text(load_default=None, allow_none=True, validate=validate.Length(max=500),
                      metadata={"description": "Key later replies will cite in reply_to_keys"})
    reply_to_keys = fields.List(Text(validate=validate.Length(max=500)), load_default=list,
                                validate=validate.Length(max=50),
                                metadata={"description": "thread_keys this message answers"})

    @validates_schema(skip_on_field_errors=False)  # report it along with the other fields
    def _has_body(self, data, **kwargs):
        if "text" not in data:  # text itself was invalid and already has its error
            return
        if not (data.get("text") or "").strip() and not (data.get("html") or "").strip():
            raise ValidationError("text or html is required", field_name="text")


class PageQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class TicketQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    channel = fields.String()
    customer_id = fields.Integer()


class TimelineQuerySchema(PageQuerySchema):
    order = fields.String(load_default="asc", validate=validate.OneOf(("asc", "desc")),
                          metadata={"description": "asc: oldest first (default); desc: newest first"})


# ---------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------

class MessageSchema(Schema):
    id = fields.Integer()
    ticket_id = fields.Integer()
    channel = fields.String()
    external_id = fields.String(allow_none=True, metadata={
        "description": "The channel's own id, unique per channel: the Message-ID for email (a reused one "
                       "gets '#' and a digest appended), the post id for X, the id given to POST /messages; "
                       "null for notes and for replies the channel has not accepted yet",
        "example": "<20260401.1234@mail.example.jp>"})
    direction = fields.String(metadata={"enum": ["in", "out", "internal"]})
    sender = fields.String()
    subject = fields.String()
    body_text = fields.String()
    created_at = fields.DateTime(format=ISO)
    delivery_status = fields.String(
        metadata={"enum": ["received", "note", "queued", "sending", "sent", "failed", "unverified"]})


class TicketSchema(Schema):
    id = fields.Integer()
    subject = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    priority = fields.String()
    channel = fields.String()
    customer_id = fields.Integer()
    assignee_id = fields.Integer(allow_none=True)
    team_id = fields.Integer(allow_none=True)
    intent = fields.String(allow_none=True)
    tags = fields.Method("_tags", metadata={"type": "array", "items": {"type": "string"}})
    created_at = fields.DateTime(format=ISO)
    last_activity_at = fields.DateTime(format=ISO)

    def _tags(self, ticket) -> list[str]:
        return [tag.name for tag in ticket.tags]


class TicketDetailSchema(TicketSchema):
    messages = fields.List(fields.Nested(MessageSchema))


class TicketPageSchema(Schema):
    items = fields.List(fields.Nested(TicketSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class IdentitySchema(Schema):
    kind = fields.String(metadata={"enum": list(IDENTITY_KINDS)})
    value = fields.String(metadata={"description": "Normalised: lower-case address, E.164, X id"})
    display = fields.String()
    name = fields.String()


class CustomerSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    name_kana = fields.String()
    created_at = fields.DateTime(format=ISO)
    identities = fields.List(fields.Nested(IdentitySchema))


class EventSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"example": "ticket.status"})
    ticket_id = fields.Integer(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    data = fields.Dict()
    note = fields.String()
    created_at = fields.DateTime(format=ISO)
    #: The event as a sentence, in the request's language (Accept-Language or the agent's choice).
    summary = fields.Function(lambda event: event_summary(event), dump_only=True, metadata={
        "type": "string", "description": "What happened, as a sentence for people (dates in the shop's "
                                         "time zone); the other fields are for programs",
        "example": "Yamada skipped a delivery: Dec 12 → Jan 11"})


class TimelineEntrySchema(Schema):
    type = fields.String(metadata={"enum": ["message", "event"]})
    id = fields.Integer()
    ticket_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime(format=ISO)
    message = fields.Nested(MessageSchema, allow_none=True)
    event = fields.Nested(EventSchema, allow_none=True)


class TimelinePageSchema(Schema):
    items = fields.List(fields.Nested(TimelineEntrySchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class IngestResultSchema(Schema):
    status = fields.String(metadata={"enum": ["created", "duplicate"]})
    message_id = fields.Integer()
    ticket_id = fields.Integer()
    customer_id = fields.Integer()
    ticket_created = fields.Boolean()
    customer_created = fields.Boolean()


class ErrorSchema(Schema):
    error = fields.String()
    message = fields.String()


class ValidationErrorSchema(Schema):
    error = fields.String(metadata={"enum": ["validation"]})
    #: Named `fields` on the wire (a Schema attribute cannot be called that).
    field_errors = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields",
                               metadata={"description": "Field name (dotted when nested) to message"})
