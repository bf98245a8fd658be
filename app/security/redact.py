"""Secrets never reach the logs: a log-record factory masks configured secret values.

A record factory (not a handler filter) so that every logger and every handler — caplog, JSON,
stderr, a file — sees the redacted text. Libraries that log request headers (tweepy, urllib3,
oauthlib) are also kept above DEBUG.
"""
from __future__ import annotations

import json
import logging

from flask import Flask

#: Config keys whose values are secrets (EMAIL_MAILBOXES may hold per-mailbox passwords).
SECRET_KEYS = (
    "SECRET_KEY", "IMAP_PASSWORD", "SMTP_PASSWORD", "X_BEARER_TOKEN", "X_CONSUMER_KEY",
    "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET", "CALLS_WEBHOOK_SECRET",
    "COMMERCE_WEBHOOK_SECRET", "COMMERCE_BACKEND_SECRET", "COMMERCE_BACKEND_TOKEN",
)
MASK = "[REDACTED]"
QUIET_LOGGERS = ("tweepy", "urllib3", "oauthlib", "requests_oauthlib", "imapclient")
_secrets: set[str] = set()
_plain = logging.Formatter()
_installed = False


def add_secret(value: str | None) -> None:
    """Mask `value` in every later log record (values shorter than 6 characters are ignored)."""
    if value and len(str(value)) >= 6:
        _secrets.add(str(value))


def redact(text: str) -> str:
    for value in sorted(_secrets, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


def _mailbox_passwords(raw: str) -> list[str]:
    try:
        boxes = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [b.get("password") for b in boxes if isinstance(b, dict) and b.get("password")]


def _install_factory() -> None:
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        if _secrets:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001  (a bad format string must still be logged)
                return record
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info and record.exc_info[0] is not None:
                # Formatters reuse exc_text when set: the traceback text is redacted once, here.
                record.exc_text = redact(_plain.formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def init_redaction(app: Flask) -> None:
    for key in SECRET_KEYS:
        add_secret(app.config.get(key))
    for password in _mailbox_passwords(app.config.get("EMAIL_MAILBOXES") or ""):
        add_secret(password)
    _install_factory()
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.INFO, logger.getEffectiveLevel()))
