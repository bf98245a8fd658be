"""line-bot-sdk (v3) clients pointed at the configured hosts.

LINE_API_BASE_URL is the Messaging API host (reply, push, profile, quota); LINE_DATA_API_BASE_URL
the host of message content (images, files). Tests point both at a local server. urllib3's own
retries are off: the outbox owns retrying, so a lost answer is retried with the same retry key.
"""
from __future__ import annotations

from typing import Any

from linebot.v3.messaging import ApiClient, Configuration

DEFAULT_API = "https://api.line.me"
DEFAULT_DATA_API = "https://api-data.line.me"


def _configuration(host: str, token: str) -> Configuration:
    configuration = Configuration(host=host.rstrip("/"), access_token=token)
    configuration.retries = False
    return configuration


def api_client(config: dict[str, Any]) -> ApiClient:
    return ApiClient(_configuration(config.get("LINE_API_BASE_URL") or DEFAULT_API,
                                    config.get("LINE_CHANNEL_ACCESS_TOKEN") or ""))


def data_client(config: dict[str, Any]) -> ApiClient:
    return ApiClient(_configuration(config.get("LINE_DATA_API_BASE_URL") or DEFAULT_DATA_API,
                                    config.get("LINE_CHANNEL_ACCESS_TOKEN") or ""))


def timeout(config: dict[str, Any]) -> float:
    return float(config.get("LINE_HTTP_TIMEOUT") or 10)
