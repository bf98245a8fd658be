"""The search page, the header lookup, the status endpoint, the API endpoint and the CLI."""
from __future__ import annotations

import pytest

from app.auth.services import create_token
from app.extensions import db
from app.models import Team
from app.search.indexer import drain
from app.worker import _jobs
from tests.factories import make_agent, make_customer, make_ticket
from tests.search_backends import app, search_backend  # noqa: F401  (both backends)


def index_all() -> None:
    for _ in range(20):
        result = drain()
        if not result.get("queue") and not result.get("backfilling"):
            return


def test_search_page_highlights_and_escapes(app, client, agent, login_as):
    ticket, message = make_ticket('<script>alert(1)</script> 商品が届いていません & 困っています',
                                  subject="配送<b>について</b>")
    index_all()
    login_as(agent)
    response = client.get("/search", query_string={"q": "届いて"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'data-ticket-id="{ticket.id}"' in html
    assert "<mark>届いて</mark>" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<b>について</b>" not in html
    assert 'class="header-search"' in html  # the header box on every page


def test_search_page_filters_and_customers_tab(app, client, supervisor, login_as):
    ticket, _ = make_ticket("定期便を解約したいです", channel="api")
    make_customer("山田 花子")
    index_all()
    login_as(supervisor)
    found = client.get("/search", query_string={"q": "解約", "channel": "api", "status": "new",
                                                "date_from": "2020-01-01"}).get_data(as_text=True)
    assert f'data-ticket-id="{ticket.id}"' in found
    none = client.get("/search", query_string={"q": "解約", "status": "closed"}).get_data(as_text=True)
    assert "data-ticket-id" not in none
    people = client.get("/search", query_string={"q": "ﾔﾏﾀﾞ", "type": "customers"}).get_data(as_text=True)
    assert "data-customer-id" not in people  # no kana on this customer: kanji only
    people = client.get("/search", query_string={"q": "山田", "type": "customers"}).get_data(as_text=True)
    assert "<mark>山田</mark> 花子" in people


def test_quick_lookup_json_and_login_required(app, client, agent, login_as):
    customer = make_customer("佐藤 美咲", email="misaki@example.jp")
    index_all()
    assert client.get("/search/customers.json?q=佐藤").status_code == 302
    login_as(agent)
    data = client.get("/search/customers.json", query_string={"q": "さと"}).get_json()
    assert data["customers"] == []  # no kana stored for her
    data = client.get("/search/customers.json", query_string={"q": "misa"}).get_json()
    assert [c["id"] for c in data["customers"]] == [customer.id]
    assert "<mark>misaki</mark>" in data["customers"][0]["detail_html"]
    assert data["customers"][0]["url"].endswith(f"/customers/{customer.id}")


@pytest.mark.whoosh_only
def test_status_json_shows_the_lag(app, client, agent, login_as):
    make_ticket("遅れている")
    login_as(agent)
    status = client.get("/search/status.json").get_json()
    assert status["pending"] >= 1 and status["behind"]
    index_all()
    assert client.get("/search/status.json").get_json()["pending"] == 0


def test_api_search_customers_and_messages_with_authorisation(app, client):
    team_a, team_b = Team(name="A"), Team(name="B")
    db.session.add_all([team_a, team_b])
    db.session.commit()
    visible, _ = make_ticket("肌に合わないので返品したい")
    hidden, _ = make_ticket("肌が荒れました(チームB)")
    hidden.team_id = team_b.id
    db.session.commit()
    make_customer("高橋 結衣", email="yui@example.jp")
    index_all()
    token = create_token(make_agent("agent", team_id=team_a.id), "test")
    headers = {"Authorization": f"Bearer {token}"}
    messages = client.get("/api/v1/search", query_string={"q": "肌"}, headers=headers).get_json()
    assert [item["ticket"]["id"] for item in messages["items"]] == [visible.id]
    assert "<mark>肌</mark>" in messages["items"][0]["highlight"]
    assert messages["index"]["pending"] == 0
    people = client.get("/api/v1/search", query_string={"q": "yui@example.jp", "type": "customer"},
                        headers=headers).get_json()
    assert [item["customer"]["name"] for item in people["items"]] == ["高橋 結衣"]
    assert client.get("/api/v1/search", query_string={"q": "肌"}).status_code == 401
    bad = client.get("/api/v1/search", query_string={"type": "ticket"}, headers=headers)
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"q", "type"}
    document = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/search" in document["paths"]


def test_cli_reindex_with_progress_and_worker_job(app, runner):
    make_ticket("再構築のテスト")
    make_customer("伊藤 翔")
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 3 documents." in result.output  # 2 customers (one from the ticket) + 1 message
    assert "search" in _jobs
    status = runner.invoke(args=["search", "status"])
    assert '"available": true' in status.output
