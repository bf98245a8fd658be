"""Search: GET /search?q=&type=customer|message (the same search, and rules, as the search page)."""
from __future__ import annotations

from flask import jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.api import bp
from app.api.auth import current_agent, flatten_errors, validation_error
from app.api.schemas import CustomerSchema, MessageSchema, Text, TicketSchema
from app.models import STATUSES
from app.search.query import SORTS, MessageFilters, search_customers, search_messages
from app.search.reconcile import lag


class SearchQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    q = Text(required=True, validate=validate.Length(min=1, max=200),
             metadata={"description": "Words, a name in kanji/kana, a phone number in any format, "
                                      "an email, an X handle or an order number",
                       "example": "肌に合わない"})
    type = fields.String(load_default="message", validate=validate.OneOf(("customer", "message")))
    channel = fields.String(metadata={"description": "messages only"})
    status = fields.String(validate=validate.OneOf(STATUSES), metadata={"description": "messages only"})
    assignee_id = fields.Integer(metadata={"description": "messages only: the ticket's assignee"})
    date_from = fields.Date(metadata={"description": "messages only: from this day (shop time zone)"})
    date_to = fields.Date(metadata={"description": "messages only: up to this day, inclusive"})
    sort = fields.String(load_default="relevance", validate=validate.OneOf(SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=500))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class SearchHitSchema(Schema):
    customer = fields.Nested(CustomerSchema, metadata={"description": "type=customer"})
    message = fields.Nested(MessageSchema, metadata={"description": "type=message"})
    ticket = fields.Nested(TicketSchema, metadata={"description": "type=message"})
    highlight = fields.String(metadata={"description": "HTML: escaped text, matches in <mark>"})


class SearchLagSchema(Schema):
    available = fields.Boolean()
    pending = fields.Integer(metadata={"description": "changes not yet in the index"})
    oldest_age_seconds = fields.Float()
    backfill_remaining = fields.Integer()
    behind = fields.Boolean()


class SearchResultSchema(Schema):
    type = fields.String()
    items = fields.List(fields.Nested(SearchHitSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer(metadata={"description": "messages: matches in the index (estimate)"})
    index = fields.Nested(SearchLagSchema)


@bp.get("/search")
def search():
    """Search customers or messages; messages of tickets the agent may not see never appear.
    ---
    get:
      tags: [search]
      summary: Search customers or messages
      parameters:
        - in: query
          schema: SearchQuerySchema
      responses:
        200:
          description: One page of hits, best first (or newest first with sort=newest)
          content:
            application/json:
              schema: SearchResultSchema
        422: ValidationFailed
        503:
          description: The search index is being rebuilt
          content:
            application/json:
              schema: ErrorSchema
    """
    try:
        args = SearchQuerySchema().load(request.args)
    except ValidationError as exc:
        return validation_error(flatten_errors(exc.messages))
    agent = current_agent()
    result = {"type": args["type"], "page": args["page"], "per_page": args["per_page"], "index": lag()}
    if args["type"] == "customer":
        hits, unavailable = search_customers(agent, args["q"], limit=args["per_page"], prefix=False)
        result.update(total=len(hits), items=[{"customer": h.customer, "highlight": str(h.name)}
                                              for h in hits])
    else:
        filters = MessageFilters(channel=args.get("channel"), status=args.get("status"),
                                 agent_id=args.get("assignee_id"), date_from=args.get("date_from"),
                                 date_to=args.get("date_to"), sort=args["sort"])
        found = search_messages(agent, args["q"], filters, page=args["page"], per_page=args["per_page"])
        unavailable = found.unavailable
        result.update(total=found.total, items=[
            {"message": h.message, "ticket": h.ticket, "highlight": str(h.snippet)} for h in found.hits])
    if unavailable:
        return jsonify(error="search_unavailable", message="the search index is being rebuilt"), 503
    return SearchResultSchema().dump(result)
