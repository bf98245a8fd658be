"""Secrets (X tokens, IMAP/SMTP passwords, webhook secrets, SECRET_KEY) never reach logs or pages."""
from __future__ import annotations

import json
import logging

from app import create_app
from app.extensions import db
from config import TestingConfig
from tests.factories import PASSWORD, make_agent

SECRETS = {
    "X_BEARER_TOKEN": "AAAAbearer-token-0123456789", "X_CONSUMER_SECRET": "consumer-secret-abcdef",
    "X_ACCESS_TOKEN": "1234-access-token-xyz", "X_ACCESS_TOKEN_SECRET": "access-secret-qwerty",
    "IMAP_PASSWORD": "imap-pass-987654", "SMTP_PASSWORD": "smtp-pass-555555",
    "CALLS_WEBHOOK_SECRET": "calls-hook-secret-1", "COMMERCE_WEBHOOK_SECRET": "shop-hook-secret-2",
    "SECRET_KEY": "flask-secret-key-for-this-test",
}
MAILBOX_PASSWORD = "mailbox-two-password"


def _app(app, tmp_path):
    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      INSTANCE_DIR=str(tmp_path / "s"), SEARCH_INDEX_DIR=str(tmp_path / "idx"),
                      EMAIL_MAILBOXES=json.dumps([{"user": "b@x.example", "password": MAILBOX_PASSWORD}]),
                      **SECRETS)


def test_secrets_are_redacted_from_every_log_record(app, tmp_path, caplog):
    _app(app, tmp_path)
    caplog.set_level(logging.DEBUG)
    every = list(SECRETS.values()) + [MAILBOX_PASSWORD]
    logging.getLogger("app.channels.x").info("Authorization: Bearer %s", SECRETS["X_BEARER_TOKEN"])
    logging.getLogger("app.channels.email").warning("login failed for user with %s",
                                                    {"password": SECRETS["IMAP_PASSWORD"]})
    logging.getLogger("werkzeug").error("oauth %s %s", SECRETS["X_ACCESS_TOKEN"], SECRETS["X_ACCESS_TOKEN_SECRET"])
    logging.getLogger().info("all: " + " ".join(every))
    try:
        raise RuntimeError(f"SMTP AUTH {SECRETS['SMTP_PASSWORD']} refused")
    except RuntimeError as exc:
        logging.getLogger("app.outbox").exception("delivery failed: %s", exc)
    from app.ops.logs import JsonFormatter

    json_lines = "".join(JsonFormatter().format(r) for r in caplog.records)
    assert "[REDACTED]" in caplog.text and "SMTP AUTH [REDACTED] refused" in caplog.text
    for value in every:
        assert value not in caplog.text, value
        assert value not in json_lines, value


def test_chatty_http_libraries_stay_above_debug(app):
    for name in ("tweepy", "urllib3", "oauthlib", "requests_oauthlib"):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name


def test_secrets_are_never_rendered_into_pages(app, tmp_path):
    secret_app = _app(app, tmp_path)
    with secret_app.app_context():
        supervisor = make_agent("supervisor")
        client = secret_app.test_client()
        bad = client.post("/login", data={"email": supervisor.email, "password": "typed-password-123"})
        assert b"typed-password-123" not in bad.data
        assert client.post("/login", data={"email": supervisor.email, "password": PASSWORD}).status_code == 302
        for rule in secret_app.url_map.iter_rules():
            if "GET" in rule.methods and not rule.arguments:
                body = client.get(rule.rule).data  # bytes: /favicon.ico is not text
                for value in list(SECRETS.values()) + [MAILBOX_PASSWORD]:
                    assert value.encode() not in body, (rule.rule, value)
        db.session.remove()
