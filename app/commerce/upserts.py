"""Idempotent upserts of what the shop system owns: products, customers, orders, subscriptions.

Keyed by the shop's external ids: sending the same record twice changes nothing (the result says
'unchanged' and no column, not even updated_at, is touched). Customers are matched by external
id, then by email or phone identity, normalised by app.ingest.identity — the one normaliser — so
a shop customer and the person who emailed support are the same Customer. An identity that
already belongs to another customer is never moved (that is a merge, for an agent to decide);
the upsert says so in its warnings.

Nothing here commits: the API, the hook and the CSV import own their transactions. New rows are
not flushed one by one, so a bulk import inserts a whole chunk in a few statements; `upsert()`
flushes so its result carries the id.
An `Upserter` keeps per-run caches (products, customers) so a bulk import does not look the same
product up 100,000 times; prefetch_* warm them a chunk at a time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.commerce.lookups import Lookups, survivor
from app.extensions import db
from app.ingest.identity import InvalidIdentity, format_phone_national
from app.models import Coupon, Customer, Identity, Order, OrderLine, Product, Subscription


class UpsertError(ValueError):
    """The record cannot be stored; `errors` maps a field to a message. Nothing was written."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class UpsertResult:
    #: created | updated | unchanged
    status: str
    obj: Any
    warnings: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.obj.id


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set only the attributes that differ; True when anything changed.

    `customer` is compared by id (loading the relationship would cost a query per record)."""
    changed = False
    for name, value in values.items():
        if name == "customer":
            if value.id is None or obj.customer_id != value.id:
                obj.customer = value
                changed = True
            continue
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


class Upserter(Lookups):
    """The upserts, with the run's caches (see lookups.py)."""

    def _normalised(self, email: Optional[str], phone: Optional[str]) -> list[tuple[str, str, str]]:
        """[(kind, value, as typed)] — raises UpsertError naming the bad field."""
        out, errors = [], {}
        for kind, raw in (("email", email), ("phone", phone)):
            if raw and str(raw).strip():
                try:
                    out.append((kind, self.norm(kind, str(raw)), str(raw).strip()))
                except InvalidIdentity as exc:
                    errors[kind] = str(exc)
        if errors:
            raise UpsertError(errors)
        return out

    # -- customers --------------------------------------------------------------------------------
    def customer(self, external_id: Optional[str], *, email: Optional[str] = None, phone: Optional[str] = None,
                 name: Optional[str] = None, name_kana: Optional[str] = None,
                 create: bool = True) -> tuple[Optional[Customer], str, list[str]]:
        """(customer, created|updated|unchanged, warnings): match by external id, then identity."""
        idents = self._normalised(email, phone)
        warnings: list[str] = []
        customer = None
        if external_id:
            if external_id in self.customers:
                customer = self.customers[external_id]
            else:
                customer = db.session.scalar(select(Customer).where(Customer.external_id == external_id))
            customer = survivor(customer) if customer is not None else None
        if customer is None:
            for kind, value, _typed in idents:
                found = self._by_identity(kind, value)
                if found is not None and (not external_id or found.external_id in (None, external_id)):
                    customer = found
                    break
        status = "unchanged"
        if customer is None:
            if not create:
                return None, "unchanged", warnings
            # Not flushed here: a bulk import inserts a whole chunk at once (ids come at the flush).
            customer = Customer(external_id=external_id or None, name=name or "", name_kana=name_kana or "")
            db.session.add(customer)
            status = "created"
        else:
            values = {}
            if external_id and customer.external_id is None:
                values["external_id"] = external_id
            if name:
                values["name"] = name
            if name_kana:
                values["name_kana"] = name_kana
            if _assign(customer, values):
                status = "updated"
        if customer.external_id:
            self.customers[customer.external_id] = customer
        for kind, value, typed in idents:
            owner = self._by_identity(kind, value)
            if owner is None:
                display = format_phone_national(value) if kind == "phone" else typed
                db.session.add(Identity(customer=customer, kind=kind, value=value, display=display,
                                        name=name or ""))
                self.identities[(kind, value)] = customer
                status = "updated" if status == "unchanged" else status
            elif owner is not customer:
                warnings.append(f"{kind} {value} belongs to customer #{owner.id}; not moved (merge them if they "
                                f"are the same person)")
        return customer, status, warnings

    def upsert_customer(self, external_id: str, data: dict[str, Any]) -> UpsertResult:
        customer, status, warnings = self.customer(
            external_id, email=data.get("email"), phone=data.get("phone"), name=data.get("name"),
            name_kana=data.get("name_kana"))
        return UpsertResult(status, customer, warnings)

    def _customer_ref(self, data: dict[str, Any]) -> tuple[Customer, list[str]]:
        customer, _status, warnings = self.customer(
            data.get("customer_external_id"), email=data.get("email"), phone=data.get("phone"),
            name=data.get("customer_name"))
        return customer, warnings

    # -- products ---------------------------------------------------------------------------------
    def upsert_product(self, external_id: str, data: dict[str, Any]) -> UpsertResult:
        product = db.session.scalar(select(Product).where(Product.external_id == external_id))
        values = {k: data[k] for k in ("name", "sku", "variant", "family", "price", "subscription_price", "active")
                  if k in data}
        if product is None:
            if not values.get("name"):
                raise UpsertError({"name": "required for a new product"})
            product = Product(external_id=external_id, **values)
            db.session.add(product)
            db.session.flush()
            self.products[external_id] = product
            return UpsertResult("created", product)
        return UpsertResult("updated" if _assign(product, values) else "unchanged", product)

    # -- subscriptions ----------------------------------------------------------------------------
    def subscription(self, external_id: str) -> Optional[Subscription]:
        if external_id not in self.subscriptions:
            self.subscriptions[external_id] = db.session.scalar(
                select(Subscription).where(Subscription.external_id == external_id))
        return self.subscriptions[external_id]

    def upsert_subscription(self, external_id: str, data: dict[str, Any]) -> UpsertResult:
        product = self.product(data["product_external_id"])
        if product is None:
            raise UpsertError({"product_external_id": f"unknown product {data['product_external_id']!r}"})
        customer, warnings = self._customer_ref(data)
        quantity = data.get("quantity") or 1
        price = data.get("price")
        if price is None:
            unit = product.subscription_price if product.subscription_price is not None else product.price
            price = unit * quantity
        values = {"customer": customer, "product_id": product.id, "status": data.get("status") or "active",
                  "cycle_days": data.get("cycle_days") or 30, "quantity": quantity, "price": price,
                  "deliveries": data.get("deliveries") or 0}
        for name in ("next_ship_date", "last_ship_date", "started_on", "paused_until", "cancelled_at"):
            if name in data:
                values[name] = data[name]
        sub = self.subscription(external_id)
        if sub is None:
            sub = Subscription(external_id=external_id, **values)
            db.session.add(sub)
            db.session.flush()
            self.subscriptions[external_id] = sub
            return UpsertResult("created", sub, warnings)
        if not _assign(sub, values):
            return UpsertResult("unchanged", sub, warnings)
        # The shop changed it: a retention action decided on the old state is now stale.
        sub.version = Subscription.version + 1
        return UpsertResult("updated", sub, warnings)

    # -- orders -----------------------------------------------------------------------------------
    def upsert_order(self, external_id: str, data: dict[str, Any]) -> UpsertResult:
        lines, errors = [], {}
        for i, line in enumerate(data.get("lines") or []):
            code = line.get("product_external_id")
            product = self.product(code) if code else None
            if code and product is None:
                errors[f"lines.{i}.product_external_id"] = f"unknown product {code!r}"
                continue
            name = line.get("name") or (product.label if product else "")
            lines.append((product.id if product else None, name[:200], line.get("quantity") or 1,
                          line.get("unit_price") or 0))
        sub_id = None
        if data.get("subscription_external_id"):
            sub = self.subscription(data["subscription_external_id"])
            if sub is None:
                errors["subscription_external_id"] = f"unknown subscription {data['subscription_external_id']!r}"
            else:
                sub_id = sub.id
        if errors:
            raise UpsertError(errors)
        customer, warnings = self._customer_ref(data)
        total = data.get("total")
        if total is None:
            total = sum(q * p for _pid, _n, q, p in lines)
        code = (data.get("coupon_code") or "").strip() or None
        values = {"customer": customer, "subscription_id": sub_id, "ordered_at": data["ordered_at"],
                  "total": total, "status": data.get("status") or "ordered", "coupon_code": code}
        if external_id in self.orders:
            order = self.orders[external_id]
        else:
            order = db.session.scalar(select(Order).where(Order.external_id == external_id)
                                      .options(selectinload(Order.lines)))
        old_code = order.coupon_code if order is not None else None
        if order is None:
            order = Order(external_id=external_id, **values)
            order.lines = [OrderLine(product_id=p, name=n, quantity=q, unit_price=u) for p, n, q, u in lines]
            db.session.add(order)
            status = "created"
        else:
            changed = _assign(order, values)
            current = [(ln.product_id, ln.name, ln.quantity, ln.unit_price) for ln in order.lines]
            if current != lines:
                order.lines = [OrderLine(product_id=p, name=n, quantity=q, unit_price=u) for p, n, q, u in lines]
                changed = True
            status = "updated" if changed else "unchanged"
        self.orders[external_id] = order
        if code:
            if order.id is None:
                db.session.flush()  # the redemption row needs the order's id
            _redeem(code, order, first_time=status == "created" or old_code != code)
        return UpsertResult(status, order, warnings)


def _redeem(code: str, order: Order, first_time: bool) -> None:
    """Count the coupon's use on this order (once per order, however often it is re-imported)."""
    try:
        from app.coupons.services import redeem
    except ImportError:
        redeem = None
    if redeem is not None:
        redeem(code, order.id)  # idempotent per (coupon, order) by a unique constraint
        return
    if not first_time:
        return
    coupon = db.session.scalar(select(Coupon).where(Coupon.code == code))
    if coupon is not None and coupon.status == "issued":
        coupon.uses += 1
        coupon.status = "redeemed" if coupon.uses >= coupon.max_uses else coupon.status


def upsert(kind: str, external_id: str, data: dict[str, Any], upserter: Optional[Upserter] = None) -> UpsertResult:
    """One record of `kind` (product | customer | order | subscription); flushes, does not commit."""
    u = upserter or Upserter()
    method = {"product": u.upsert_product, "customer": u.upsert_customer, "order": u.upsert_order,
              "subscription": u.upsert_subscription}[kind]
    result = method(external_id, data)
    db.session.flush()
    return result
