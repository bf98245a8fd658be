"""Ids, page numbers and text the database cannot store are refused up front (never a 500)."""
from __future__ import annotations

from app.auth.services import create_token


def test_huge_ids_are_not_found_on_every_backend(client, login_as, agent):
    login_as(agent)
    for url in ("/tickets/99999999999", "/customers/99999999999", "/attachments/99999999999",
                "/messages/99999999999/html"):
        assert client.get(url).status_code == 404, url


def test_api_refuses_out_of_range_numbers_and_nul(client, agent):
    headers = {"Authorization": f"Bearer {create_token(agent)}"}
    response = client.get("/api/v1/tickets?customer_id=4174550038115959296", headers=headers)
    assert response.status_code == 422 and "customer_id" in response.get_json()["fields"]
    assert client.get("/api/v1/tickets?page=99999999999999", headers=headers).status_code == 422
    assert client.get("/api/v1/tickets?channel=a%00b", headers=headers).status_code == 422
    response = client.put("/api/v1/products/p-1", json={"name": "x", "price": 365170384591803904},
                          headers=headers)
    assert response.status_code == 422 and response.get_json()["fields"] == {
        "price": "numbers must be at most 2147483647 and text must not contain NUL"}
    assert client.get("/api/v1/search?q=09012345678", headers=headers).status_code != 422  # phone numbers
