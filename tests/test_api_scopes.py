"""API token scopes: every API path × every kind of token (issue 20, item 1).

A person's token reads, posts messages and logs calls; it can never write the shop's data
(customers' addresses, products, orders, subscriptions) — that needs an integration token with
commerce:write. The table below says what each endpoint needs; an endpoint missing from it fails
the test until someone decides its scope.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.services import create_token
from app.extensions import db
from app.models import ApiToken, Identity
from tests.factories import make_agent, make_ticket

#: endpoint -> the scope it needs (None: public)
NEEDS = {
    "api.openapi_document": None,
    "api.tickets_index": "read", "api.tickets_show": "read", "api.customers_show": "read",
    "api.customers_timeline": "read", "api.search": "read", "api.reports_sla": "read",
    "api.messages_create": "messages:write", "api.calls_create": "calls:write",
    "api.products_put": "commerce:write", "api.customers_put": "commerce:write",
    "api.orders_put": "commerce:write", "api.subscriptions_put": "commerce:write",
    "api.line_links_create": "commerce:write",
}
ALL = ["read", "messages:write", "calls:write", "commerce:write"]
#: name -> (scopes, integration); None scopes: the default of a person's token
TOKENS = {
    "person default": (None, None),
    "person read": (["read"], None),
    "person messages": (["messages:write"], None),
    "person calls": (["calls:write"], None),
    "shop sync (commerce only)": (["commerce:write"], "shop-sync"),
    "integration, every scope": (ALL, "erp"),
    "cti (calls only)": (["calls:write"], "cti"),
}
GRANTED = {
    "person default": {"read", "messages:write", "calls:write"},
    "person read": {"read"}, "person messages": {"messages:write"}, "person calls": {"calls:write"},
    "shop sync (commerce only)": {"commerce:write"}, "integration, every scope": set(ALL),
    "cti (calls only)": {"calls:write"},
}
BODIES = {
    "api.messages_create": {"channel": "web", "external_id": "scope-1", "from": "misaki@example.jp",
                            "text": "ポイントの残高を教えてください"},
    "api.calls_create": {"call_id": "scope-call-1", "number": "06-6123-4567",
                         "started_at": "2025-09-01T11:00:00+09:00", "summary": "住所変更"},
    "api.products_put": {"name": "黒酢ドリンク", "price": 2480},
    "api.customers_put": {"name": "佐藤 美咲", "email": "misaki@example.jp"},
    "api.orders_put": {"ordered_at": "2025-09-01T11:00:00+09:00", "email": "misaki@example.jp", "total": 2480},
    "api.subscriptions_put": {"product_external_id": "P-scope", "email": "misaki@example.jp"},
    "api.line_links_create": {"line_user_id": "U" + "5c" * 16, "member_id": "SC-1"},
}


def _calls(app, ticket):
    """(endpoint, method, url) for every method of every API route."""
    args = {"ticket_id": ticket.id, "customer_id": ticket.customer_id, "external_id": "SC-1"}
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", str(args[name])).replace(f"<string:{name}>", str(args[name]))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    return out


def test_every_api_endpoint_has_a_decided_scope(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")}
    assert endpoints == set(NEEDS), "decide the scope of: " + ", ".join(sorted(endpoints ^ set(NEEDS)))


@pytest.mark.parametrize("kind", sorted(TOKENS))
def test_every_path_by_every_token(app, client, kind):
    admin = make_agent("admin", name="管理 綾")
    ticket, _ = make_ticket("スコープ確認", sender="scope-check@example.jp")
    scopes, integration = TOKENS[kind]
    headers = {"Authorization": f"Bearer {create_token(admin, scopes=scopes, integration=integration)}"}
    seen = []
    for endpoint, method, url in _calls(app, ticket):
        needed = NEEDS[endpoint]
        response = client.open(url, method=method, json=BODIES.get(endpoint), headers=headers)
        allowed = needed is None or needed in GRANTED[kind]
        if allowed:
            assert response.status_code != 403, (kind, method, url, response.get_json())
            assert response.status_code < 500, (kind, method, url)
        else:
            assert response.status_code == 403, (kind, method, url, response.status_code)
            body = response.get_json()
            assert body["error"] == "insufficient_scope" and body["scope"] == needed
            assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
        seen.append((endpoint, allowed))
    assert {e for e, _ in seen} == set(NEEDS)


def test_an_agents_token_cannot_attach_an_attackers_address_to_a_customer(client, agent):
    """The reported attack: PUT /customers/C-10001 {"email": attacker} with an agent's token."""
    owner = make_agent("admin", name="管理 綾")
    shop = {"Authorization": "Bearer " + create_token(owner, scopes=["commerce:write"], integration="shop-sync")}
    assert client.put("/api/v1/customers/C-10001", json={"name": "高橋 誠", "email": "makoto@example.jp"},
                      headers=shop).status_code == 201
    attacker = {"Authorization": f"Bearer {create_token(agent)}"}
    for path, body in [("customers/C-10001", {"email": "attacker@evil.example"}),
                       ("products/P-evil", {"name": "偽商品", "price": 1}),
                       ("orders/O-evil", {"ordered_at": "2025-09-01T11:00:00+09:00", "customer_external_id": "C-10001"})]:
        response = client.put(f"/api/v1/{path}", json=body, headers=attacker)
        assert response.status_code == 403 and "integration" in response.get_json()["message"]
    emails = set(db.session.scalars(select(Identity.value).where(Identity.kind == "email")))
    assert "attacker@evil.example" not in emails and "makoto@example.jp" in emails


def test_commerce_write_on_a_persons_token_is_refused_even_if_stored(client, agent):
    """A row edited by hand (or an old bug) cannot make a person's token write commerce data."""
    token = create_token(agent)
    row = db.session.scalar(select(ApiToken))
    row.scopes = " ".join(ALL)
    db.session.commit()
    response = client.put("/api/v1/products/P-1", json={"name": "青汁"},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


def test_create_token_refuses_commerce_write_for_a_person_and_unknown_scopes(app, agent):
    with pytest.raises(ValueError, match="integration"):
        create_token(agent, scopes=["commerce:write"])
    with pytest.raises(ValueError, match="unknown scope"):
        create_token(agent, scopes=["admin"])
    with pytest.raises(ValueError, match="at least one scope"):
        create_token(agent, integration="shop-sync")


def test_revoked_integration_token_stops_working(client, app):
    admin = make_agent("admin", name="管理 綾")
    token = create_token(admin, scopes=["commerce:write"], integration="shop-sync")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.put("/api/v1/products/P-7", json={"name": "酵素"}, headers=headers).status_code == 201
    result = app.test_cli_runner().invoke(args=["revoke-token", str(db.session.scalar(select(ApiToken.id)))])
    assert result.exit_code == 0, result.output
    assert client.put("/api/v1/products/P-7", json={"name": "酵素"}, headers=headers).status_code == 401


def test_cli_create_token_with_scopes_and_integration(app, client, agent):
    admin = make_agent("admin", name="管理 綾")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-token", admin.email, "--integration", "shop-sync",
                                 "--scope", "commerce:write,read"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    row = db.session.scalar(select(ApiToken).where(ApiToken.integration == "shop-sync"))
    assert row.scope_set == {"commerce:write", "read"} and row.agent_id == admin.id
    assert client.put("/api/v1/customers/C-5", json={"name": "中村 光"},
                      headers={"Authorization": f"Bearer {token}"}).status_code == 201
    # a person's token asking for commerce:write, and an agent creating an integration token
    assert runner.invoke(args=["create-token", agent.email, "--scope", "commerce:write"]).exit_code != 0
    assert runner.invoke(args=["create-token", agent.email, "--integration", "x", "--scope", "read"]).exit_code != 0
    listing = runner.invoke(args=["list-tokens"]).output
    assert "shop-sync" in listing and "commerce:write read" in listing and token not in listing


def test_openapi_document_names_each_operations_scope(client):
    document = client.get("/api/v1/openapi.json").get_json()
    put = document["paths"]["/api/v1/customers/{external_id}"]["put"]
    assert put["x-required-scope"] == "commerce:write" and "403" in put["responses"]
    assert document["paths"]["/api/v1/messages"]["post"]["x-required-scope"] == "messages:write"
    assert document["paths"]["/api/v1/tickets"]["get"]["x-required-scope"] == "read"


def test_admins_see_tokens_with_scopes_and_revoke_them_others_get_403(app, client, login_as, agent):
    admin = make_agent("admin", name="管理 綾")
    secret = create_token(admin, scopes=["commerce:write", "read"], integration="futureshop-sync")
    create_token(agent, name="電話システム")
    login_as(agent)
    assert client.get("/admin/tokens").status_code == 403
    client.post("/logout")
    login_as(admin)
    page = client.get("/admin/tokens").get_data(as_text=True)
    assert "futureshop-sync" in page and "commerce:write" in page and "電話システム" in page
    assert secret not in page and "tsu_" not in page  # only hashes are stored; nothing to show
    row = db.session.scalar(select(ApiToken).where(ApiToken.integration == "futureshop-sync"))
    assert client.post(f"/admin/tokens/{row.id}/revoke").status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).revoked is True
    assert client.put("/api/v1/products/P-1", json={"name": "青汁"},
                      headers={"Authorization": f"Bearer {secret}"}).status_code == 401
