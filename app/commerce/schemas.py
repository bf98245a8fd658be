"""What the shop system may send us (API PUTs and the signed hook): marshmallow schemas.

Shared by app/api/commerce.py and app/commerce/hooks.py so both accept exactly the same shapes.
Loaded data is plain typed Python that app.commerce.upserts takes as it is.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from app.fields import Day, Moment, Text, Whole
from app.models.commerce import SUBSCRIPTION_STATUSES

ORDER_STATUSES = ("ordered", "shipped", "delivered", "cancelled", "returned")
_ID = validate.Length(min=1, max=100)


class _Strict(Schema):
    class Meta:
        unknown = EXCLUDE


class CustomerRefMixin:
    """Who the order or subscription belongs to: the shop's customer id and/or email/phone."""

    customer_external_id = Text(load_default=None, allow_none=True, validate=_ID,
                                metadata={"description": "The shop's customer id (顧客番号)"})
    email = Text(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = Text(load_default=None, allow_none=True, validate=validate.Length(max=40))
    customer_name = Text(load_default=None, allow_none=True, validate=validate.Length(max=200))

    @validates_schema
    def _has_customer(self, data, **kwargs):
        if not (data.get("customer_external_id") or data.get("email") or data.get("phone")):
            raise ValidationError("customer_external_id, email or phone is required",
                                  field_name="customer_external_id")


class ProductInSchema(_Strict):
    name = Text(required=True, validate=validate.Length(min=1, max=200), metadata={"example": "酵素青汁 30包"})
    sku = Text(load_default="", validate=validate.Length(max=100))
    variant = Text(load_default="", validate=validate.Length(max=100), metadata={"example": "30包"})
    family = Text(load_default="", validate=validate.Length(max=100),
                  metadata={"description": "Variants of one product share a family (swap candidates)"})
    price = Whole(load_default=0, validate=validate.Range(min=0), metadata={"description": "Yen, tax included"})
    subscription_price = Whole(load_default=None, allow_none=True, validate=validate.Range(min=0))
    active = fields.Boolean(load_default=True)


class CustomerInSchema(_Strict):
    name = Text(load_default="", validate=validate.Length(max=200))
    name_kana = Text(load_default="", validate=validate.Length(max=200))
    email = Text(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = Text(load_default=None, allow_none=True, validate=validate.Length(max=40))


class OrderLineInSchema(_Strict):
    product_external_id = Text(load_default=None, allow_none=True, validate=_ID,
                               metadata={"description": "The product's external id or SKU (商品コード)"})
    name = Text(load_default="", validate=validate.Length(max=200))
    quantity = Whole(load_default=1, validate=validate.Range(min=1, max=100000))
    unit_price = Whole(load_default=0, validate=validate.Range(min=0))


class OrderInSchema(CustomerRefMixin, _Strict):
    ordered_at = Moment(required=True,
                                      metadata={"description": "ISO 8601 with a UTC offset"})
    total = Whole(load_default=None, allow_none=True, validate=validate.Range(min=0),
                           metadata={"description": "Yen; defaults to the sum of the lines"})
    status = fields.String(load_default="ordered", validate=validate.OneOf(ORDER_STATUSES))
    coupon_code = Text(load_default=None, allow_none=True, validate=validate.Length(max=40))
    subscription_external_id = Text(load_default=None, allow_none=True, validate=_ID)
    lines = fields.List(fields.Nested(OrderLineInSchema), load_default=list, validate=validate.Length(max=500))


class SubscriptionInSchema(CustomerRefMixin, _Strict):
    product_external_id = Text(required=True, validate=_ID)
    status = fields.String(load_default="active", validate=validate.OneOf(SUBSCRIPTION_STATUSES))
    cycle_days = Whole(load_default=30, validate=validate.Range(min=1, max=365))
    quantity = Whole(load_default=1, validate=validate.Range(min=1, max=1000))
    price = Whole(load_default=None, allow_none=True, validate=validate.Range(min=0),
                           metadata={"description": "Yen per delivery; defaults to the product's price x quantity"})
    next_ship_date = Day(load_default=None, allow_none=True)
    last_ship_date = Day(load_default=None, allow_none=True)
    deliveries = Whole(load_default=0, validate=validate.Range(min=0))
    started_on = Day(load_default=None, allow_none=True)
    paused_until = Day(load_default=None, allow_none=True)
    cancelled_at = Moment(load_default=None, allow_none=True)


class UpsertResultSchema(Schema):
    status = fields.String(metadata={"enum": ["created", "updated", "unchanged"]})
    id = fields.Integer()
    external_id = fields.String()
    warnings = fields.List(fields.String())


SCHEMAS = {"product": ProductInSchema, "customer": CustomerInSchema, "order": OrderInSchema,
           "subscription": SubscriptionInSchema}
