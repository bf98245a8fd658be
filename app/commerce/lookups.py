"""The caches an Upserter keeps for one run: lookups by external id and identity, prefetched a
chunk at a time so a bulk import asks the database a few questions per chunk, not per row.

A cache entry of None means "known not to exist" (a prefetch looked and found nothing).
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.ingest.identity import InvalidIdentity, normalise
from app.models import Customer, Identity, Order, Product, Subscription

#: Bounded IN lists (SQLite limits expression depth and parameters).
BATCH = 500


def survivor(customer: Customer) -> Customer:
    """Follow merges to the customer that survived."""
    while customer.merged_into_id:
        customer = db.session.get(Customer, customer.merged_into_id)
    return customer


class Lookups:
    """Per-run caches of products, customers (by external id and identity), orders, subscriptions."""

    def __init__(self) -> None:
        self.products: dict[str, Product] = {}
        #: external id -> customer, or None when known not to exist (a prefetch found nothing).
        self.customers: dict[str, Optional[Customer]] = {}
        self.identities: dict[tuple[str, str], Optional[Customer]] = {}
        self.orders: dict[str, Optional[Order]] = {}
        self.subscriptions: dict[str, Optional[Subscription]] = {}
        self._normal: dict[tuple[str, str], Any] = {}

    def forget(self) -> None:
        """Drop the caches (after a rollback they may hold objects that no longer exist)."""
        self.__init__()

    # -- lookups ----------------------------------------------------------------------------------
    def product(self, code: str) -> Optional[Product]:
        """A product by external id, or else by SKU (cart exports call either 商品コード)."""
        if code in self.products:
            return self.products[code]
        product = db.session.scalar(select(Product).where(Product.external_id == code))
        if product is None:
            product = db.session.scalars(select(Product).where(Product.sku == code).order_by(Product.id)).first()
        if product is not None:
            self.products[code] = product
        return product

    def prefetch_products(self) -> None:
        for product in db.session.scalars(select(Product)):
            self.products.setdefault(product.external_id, product)
            if product.sku:
                self.products.setdefault(product.sku, product)

    def prefetch_customers(self, external_ids: Iterable[str], identities: Iterable[tuple[str, str]]) -> None:
        ids = [i for i in set(external_ids) if i and i not in self.customers]
        for start in range(0, len(ids), BATCH):
            for customer in db.session.scalars(select(Customer).where(Customer.external_id.in_(ids[start:start + BATCH]))):
                self.customers[customer.external_id] = customer
        for i in ids:
            self.customers.setdefault(i, None)
        pairs = [p for p in set(identities) if p not in self.identities]
        for kind in {k for k, _v in pairs}:
            values = [v for k, v in pairs if k == kind]
            for start in range(0, len(values), BATCH):
                for identity in db.session.scalars(
                        select(Identity).where(Identity.kind == kind, Identity.value.in_(values[start:start + BATCH]))
                        .options(selectinload(Identity.customer))):
                    self.identities[(identity.kind, identity.value)] = identity.customer
        for pair in pairs:
            self.identities.setdefault(pair, None)

    def prefetch_orders(self, external_ids: Iterable[str]) -> None:
        ids = [i for i in set(external_ids) if i and i not in self.orders]
        for start in range(0, len(ids), BATCH):
            for order in db.session.scalars(select(Order).where(Order.external_id.in_(ids[start:start + BATCH]))
                                            .options(selectinload(Order.lines))):
                self.orders[order.external_id] = order
        for i in ids:
            self.orders.setdefault(i, None)

    def _by_identity(self, kind: str, value: str) -> Optional[Customer]:
        key = (kind, value)
        if key not in self.identities:
            identity = db.session.scalar(select(Identity).where(Identity.kind == kind, Identity.value == value))
            self.identities[key] = identity.customer if identity else None
        found = self.identities[key]
        return survivor(found) if found is not None else None

    def norm(self, kind: str, raw: str) -> str:
        """app.ingest.identity.normalise, remembered for the run (phone parsing is not cheap)."""
        key = (kind, raw)
        if key not in self._normal:
            try:
                self._normal[key] = normalise(kind, raw)
            except InvalidIdentity as exc:
                self._normal[key] = exc
        value = self._normal[key]
        if isinstance(value, InvalidIdentity):
            raise value
        return value
