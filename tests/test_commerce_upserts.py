"""Commerce data in through the API: idempotent upserts by external id, identity matching, OpenAPI."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from app.auth.services import create_token
from app.commerce.upserts import Upserter, UpsertError
from app.extensions import db
from app.models import Coupon, Customer, Identity, Order, OrderLine, Product, Subscription
from tests.factories import make_ticket


@pytest.fixture
def headers(agent):
    """The shop's sync: an integration token with commerce:write (a person's token gets 403)."""
    token = create_token(agent, scopes=["commerce:write", "read"], integration="shop-sync")
    return {"Authorization": f"Bearer {token}"}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


PRODUCT = {"name": "酵素青汁", "variant": "30包", "family": "aojiru", "sku": "AO-30", "price": 4200,
           "subscription_price": 3780}


def put(client, headers, path, body):
    return client.put(f"/api/v1/{path}", json=body, headers=headers)


def test_product_upsert_is_idempotent(client, headers):
    first = put(client, headers, "products/P-100", PRODUCT)
    assert first.status_code == 201 and first.get_json()["status"] == "created"
    again = put(client, headers, "products/P-100", PRODUCT)
    assert again.status_code == 200 and again.get_json()["status"] == "unchanged"
    changed = put(client, headers, "products/P-100", dict(PRODUCT, price=4400))
    assert changed.get_json()["status"] == "updated"
    assert count(Product) == 1 and db.session.scalar(select(Product.price)) == 4400


def test_api_requires_a_token(client):
    assert client.put("/api/v1/products/P-1", json=PRODUCT).status_code == 401


def test_customer_is_matched_to_the_person_who_emailed_support(client, headers):
    ticket, _ = make_ticket("定期便について", sender="Hanako.Yamada@Example.JP")
    response = put(client, headers, "customers/C-1", {"name": "山田 花子", "name_kana": "ヤマダ ハナコ",
                                                      "email": "hanako.yamada@example.jp", "phone": "０９０-１２３４-５６７８"})
    assert response.get_json()["status"] == "updated"
    assert response.get_json()["id"] == ticket.customer_id
    assert count(Customer) == 1
    customer = db.session.get(Customer, ticket.customer_id)
    assert customer.external_id == "C-1" and customer.name == "山田 花子"
    phone = db.session.scalar(select(Identity).where(Identity.kind == "phone"))
    assert phone.value == "+819012345678" and phone.display == "090-1234-5678"
    # a caller from that number is the same customer (identity by phone)
    response = put(client, headers, "customers/C-1", {"name": "山田 花子", "name_kana": "ヤマダ ハナコ",
                                                      "email": "hanako.yamada@example.jp", "phone": "09012345678"})
    assert response.get_json()["status"] == "unchanged"


def test_identity_of_another_customer_is_never_moved(client, headers):
    put(client, headers, "customers/C-1", {"name": "A", "email": "shared@example.jp"})
    response = put(client, headers, "customers/C-2", {"name": "B", "email": "shared@example.jp"})
    body = response.get_json()
    assert body["status"] == "created" and "belongs to customer" in body["warnings"][0]
    assert count(Customer) == 2 and count(Identity) == 1


def test_bad_identity_is_a_422_naming_the_field(client, headers):
    response = put(client, headers, "customers/C-9", {"email": "not-an-address"})
    assert response.status_code == 422 and "email" in response.get_json()["fields"]
    assert count(Customer) == 0


def test_order_upsert_with_lines_coupon_and_idempotency(client, headers, app):
    put(client, headers, "products/P-1", PRODUCT)
    ticket, _ = make_ticket("質問", sender="buyer@example.jp")
    coupon = Coupon(customer_id=ticket.customer_id, code="ABCDE-FGHJK", value=500, status="issued", max_uses=1)
    db.session.add(coupon)
    db.session.commit()
    order = {"customer_external_id": "C-7", "email": "buyer@example.jp", "ordered_at": "2025-04-01T10:00:00+09:00",
             "status": "shipped", "coupon_code": "abcde-fghjk",
             "lines": [{"product_external_id": "AO-30", "quantity": 2, "unit_price": 3780},
                       {"name": "送料", "quantity": 1, "unit_price": 0}]}
    first = put(client, headers, "orders/O-1", order)
    assert first.status_code == 201, first.get_json()
    for _ in range(2):
        assert put(client, headers, "orders/O-1", order).get_json()["status"] == "unchanged"
    stored = db.session.scalar(select(Order))
    assert stored.customer_id == ticket.customer_id and stored.total == 7560
    assert stored.ordered_at == datetime(2025, 4, 1, 1, 0, tzinfo=timezone.utc)
    assert [(ln.quantity, ln.name) for ln in stored.lines] == [(2, "酵素青汁 30包"), (1, "送料")]
    db.session.refresh(coupon)
    assert coupon.uses == 1 and coupon.status == "redeemed"
    fewer = dict(order, lines=order["lines"][:1])
    assert put(client, headers, "orders/O-1", fewer).get_json()["status"] == "updated"
    assert count(OrderLine) == 1


def test_unknown_product_or_subscription_is_refused_and_nothing_is_written(client, headers):
    order = {"email": "x@example.jp", "ordered_at": "2025-04-01T10:00:00+09:00",
             "lines": [{"product_external_id": "NOPE", "quantity": 1}]}
    response = put(client, headers, "orders/O-2", order)
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"lines.0.product_external_id": "unknown product 'NOPE'"}
    sub = {"email": "x@example.jp", "product_external_id": "NOPE"}
    assert put(client, headers, "subscriptions/S-1", sub).status_code == 422
    assert count(Customer) == 0 and count(Order) == 0 and count(Subscription) == 0
    missing = put(client, headers, "orders/O-3", {"ordered_at": "2025-04-01T10:00:00+09:00"})
    assert missing.status_code == 422 and "customer_external_id" in missing.get_json()["fields"]
    naive = put(client, headers, "orders/O-4", {"email": "x@example.jp", "ordered_at": "2025-04-01T10:00:00"})
    assert naive.status_code == 422 and "ordered_at" in naive.get_json()["fields"]


def test_subscription_upsert(client, headers):
    put(client, headers, "products/P-1", PRODUCT)
    body = {"customer_external_id": "C-1", "email": "sub@example.jp", "product_external_id": "P-1",
            "cycle_days": 45, "quantity": 2, "next_ship_date": "2025-05-01", "deliveries": 6}
    assert put(client, headers, "subscriptions/S-1", body).status_code == 201
    assert put(client, headers, "subscriptions/S-1", body).get_json()["status"] == "unchanged"
    sub = db.session.scalar(select(Subscription))
    assert (sub.cycle_days, sub.quantity, sub.price, sub.deliveries) == (45, 2, 7560, 6)
    paused = dict(body, status="paused", paused_until="2025-07-01")
    assert put(client, headers, "subscriptions/S-1", paused).get_json()["status"] == "updated"
    bad = put(client, headers, "subscriptions/S-1", dict(body, status="gone", cycle_days=0))
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"status", "cycle_days"}


def test_upserter_without_http(app):
    u = Upserter()
    with pytest.raises(UpsertError):
        u.upsert_product("P-x", {"price": 1})
    result = u.upsert_product("P-x", {"name": "お試しセット", "price": 980})
    db.session.commit()
    assert result.status == "created" and u.product("P-x").id == result.id


def test_endpoints_are_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for path in ("/products/{external_id}", "/customers/{external_id}", "/orders/{external_id}",
                 "/subscriptions/{external_id}"):
        operation = document["paths"]["/api/v1" + path]["put"]
        assert "422" in operation["responses"] and "401" in operation["responses"]
        assert operation["requestBody"]["content"]["application/json"]["schema"]
    assert "OrderIn" in str(document["components"]["schemas"].keys())
