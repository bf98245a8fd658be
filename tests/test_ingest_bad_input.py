"""Bad input to POST /api/v1/messages: a clear 4xx naming the field, and nothing stored.

Each case snapshots every table (but api_tokens, whose last_used_at moves with each request)
before and after the request: no row may appear, vanish or change.
"""
from __future__ import annotations

import json

import pytest

from app.auth.services import create_token
from app.extensions import db

GOOD = {"channel": "web", "external_id": "form-1", "from": "hanako@example.jp",
        "subject": "解約について", "text": "定期便を解約したいです。",
        "created_at": "2025-04-01T18:00:00+09:00"}


@pytest.fixture
def headers(agent):
    return {"Authorization": f"Bearer {create_token(agent)}"}


@pytest.fixture
def existing(client, headers):
    """A message already stored, so 'untouched' covers existing rows too."""
    response = client.post("/api/v1/messages", json=GOOD, headers=headers)
    assert response.status_code == 201
    return response.get_json()


def snapshot() -> dict[str, list]:
    db.session.rollback()
    return {table.name: sorted(map(tuple, db.session.execute(table.select()).all()), key=repr)
            for table in db.metadata.sorted_tables if table.name != "api_tokens"}


def post_json(client, headers, **changes):
    body = {**GOOD, "external_id": "form-2", **changes}
    return client.post("/api/v1/messages", json={k: v for k, v in body.items() if v is not ...},
                       headers=headers)


def post_bytes(client, headers, data: bytes):
    return client.post("/api/v1/messages", data=data, content_type="application/json",
                       headers=headers)


def assert_refused(response, field: str, before: dict, *, contains: str = "") -> None:
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "validation"
    assert field in body["fields"], body
    assert contains.lower() in body["fields"][field].lower()
    assert snapshot() == before


@pytest.mark.parametrize("changes, field, contains", [
    ({"channel": "fax"}, "channel", "unknown channel"),
    ({"from": ...}, "from", "missing"),
    ({"from": ""}, "from", ""),
    ({"from": "not-an-address"}, "from", "not an email"),
    ({"from": {"kind": "pigeon", "value": "x"}}, "from.kind", ""),
    ({"from": {"kind": "phone", "value": "12"}}, "from", "phone"),
    ({"from": 42}, "from", "email address or an object"),
    ({"external_id": ""}, "external_id", ""),
    ({"external_id": "x" * 501}, "external_id", ""),
    ({"text": "", "html": None}, "text", "required"),
    ({"text": 123}, "text", "string"),
    ({"created_at": "2025-13-45T99:00:00+09:00"}, "created_at", ""),
    ({"created_at": "yesterday"}, "created_at", ""),
    ({"created_at": "2025-04-01T18:00:00"}, "created_at", "aware"),  # no offset: ambiguous
    ({"text": "定期便\ud800"}, "text", "utf-8"),  # a lone surrogate escape in the JSON
    ({"subject": "件名\x00"}, "subject", "nul"),
    ({"reply_to_keys": ["ok", "\udcff"]}, "reply_to_keys.1", "utf-8"),
    ({"colour": "red"}, "colour", "unknown"),
])
def test_invalid_fields_are_named_and_nothing_is_stored(client, headers, existing, changes, field,
                                                        contains):
    before = snapshot()
    assert_refused(post_json(client, headers, **changes), field, before, contains=contains)


def test_external_id_reused_for_other_content(client, headers, existing):
    before = snapshot()
    response = post_json(client, headers, external_id=GOOD["external_id"], text="別の内容です")
    assert_refused(response, "external_id", before, contains="different message")


def test_oversized_body(app, client, headers, existing):
    app.config["MAX_BODY_CHARS"] = 1000
    before = snapshot()
    assert_refused(post_json(client, headers, text="あ" * 1001), "text", before, contains="1000")
    assert post_json(client, headers, text="あ" * 1000).status_code == 201  # the limit itself is fine


@pytest.mark.parametrize("field", ["subject", "text", "external_id"])
def test_invalid_utf8_bytes_in_a_field(client, headers, existing, field):
    body = json.dumps({**GOOD, "external_id": "form-3", field: "PLACEHOLDER"}, ensure_ascii=False)
    data = body.encode("utf-8").replace(b"PLACEHOLDER", b"ok \xff\xfe ok")
    before = snapshot()
    assert_refused(post_bytes(client, headers, data), field, before, contains="utf-8")


def test_invalid_utf8_in_the_senders_name(client, headers, existing):
    body = json.dumps({**GOOD, "external_id": "form-4",
                       "from": {"kind": "email", "value": "a@example.jp", "name": "NAME"}})
    before = snapshot()
    response = post_bytes(client, headers, body.encode().replace(b"NAME", b"\xe5\xb1"))  # cut char
    assert_refused(response, "from.name", before, contains="utf-8")


def test_shift_jis_body_is_refused_by_field(client, headers, existing):
    body = json.dumps({**GOOD, "external_id": "form-5", "text": "TEXT"}, ensure_ascii=False)
    data = body.encode("utf-8").replace(b"TEXT", "解約したい".encode("shift_jis"))
    before = snapshot()
    assert_refused(post_bytes(client, headers, data), "text", before, contains="utf-8")


@pytest.mark.parametrize("data, contains", [
    (b'{"channel": "web", "external_id": ', "not valid json"),
    (b"channel=web&text=hello", "not valid json"),
    (b"", "empty"),
    (b'["a", "list"]', "json object"),
    (b'{"channel": "web"\xff}', "not valid json"),
])
def test_a_body_that_is_not_a_json_object(client, headers, existing, data, contains):
    before = snapshot()
    response = post_bytes(client, headers, data)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "bad_request" and contains in body["message"].lower()
    assert snapshot() == before


def test_several_errors_are_reported_together(client, headers, existing):
    before = snapshot()
    response = post_json(client, headers, channel="fax", created_at="soon", text="")
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) >= {"channel", "created_at", "text"}
    assert snapshot() == before
