"""Shop backends: how a subscription action (or a coupon) reaches the shop system.

`local` (the default, and the demo): Tsunagu's own records are the truth, so an action is
acknowledged at once. `webhook`: a signed JSON POST to the shop's endpoint
(COMMERCE_BACKEND_URL). The body is signed with HMAC-SHA256 over "<timestamp>.<body>" using
COMMERCE_BACKEND_SECRET, sent as `X-Tsunagu-Signature: sha256=<hex>` with `X-Tsunagu-Timestamp`;
the action's idempotency key rides along so the shop can ignore a retry it already applied.
Answers: 200/201/204 = applied; 202 = accepted, the shop confirms later through
POST /hooks/commerce (event `action.result`); 408/425/429/5xx, timeouts and connection errors =
retried with backoff; any other 4xx = refused, with the shop's message as the reason.

Backends only talk to the shop; they never touch the database (app.shop.delivery does).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import requests

ACKED, PENDING, FAILED = "acked", "pending", "failed"
SIGNATURE_HEADER = "X-Tsunagu-Signature"
TIMESTAMP_HEADER = "X-Tsunagu-Timestamp"
RETRYABLE_STATUS = {408, 425, 429}


@dataclass(frozen=True)
class BackendResult:
    #: acked | pending | failed
    status: str
    #: Why it is not acked (the shop's message, the timeout...), for the agent.
    error: Optional[str] = None
    #: pending only: send again later (False = the shop accepted and will confirm by itself).
    retry: bool = False


class CommerceBackend:
    """The interface: send one action's payload to the shop, say what happened."""

    name = "base"

    def __init__(self, config: Mapping[str, Any]):
        self.config = config

    def send(self, payload: dict[str, Any]) -> BackendResult:  # pragma: no cover - interface
        raise NotImplementedError


class LocalBackend(CommerceBackend):
    """Tsunagu is the shop's record: nothing to send, applied at once."""

    name = "local"

    def send(self, payload: dict[str, Any]) -> BackendResult:
        return BackendResult(ACKED)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of "<timestamp>.<body>" (the same scheme as the inbound hook)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    expected = sign(secret, timestamp, body)
    given = (signature or "").removeprefix("sha256=").strip()
    return hmac.compare_digest(expected, given)


def _shop_message(response: requests.Response) -> str:
    """The shop's own explanation when it gives one, else the status line."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error", "detail", "reason"):
            if isinstance(data.get(key), str) and data[key].strip():
                return f"HTTP {response.status_code}: {data[key].strip()[:500]}"
    text = (response.text or "").strip()
    return f"HTTP {response.status_code}" + (f": {text[:200]}" if text else "")


class WebhookBackend(CommerceBackend):
    """A signed JSON POST to the shop's endpoint."""

    name = "webhook"

    def send(self, payload: dict[str, Any]) -> BackendResult:
        url = self.config.get("COMMERCE_BACKEND_URL")
        secret = self.config.get("COMMERCE_BACKEND_SECRET")
        if not url or not secret:
            return BackendResult(FAILED, "COMMERCE_BACKEND_URL and COMMERCE_BACKEND_SECRET must be set")
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: timestamp,
                   SIGNATURE_HEADER: "sha256=" + sign(secret, timestamp, body),
                   "Idempotency-Key": str(payload.get("idempotency_key") or payload.get("action_id")),
                   "User-Agent": "Tsunagu-commerce/1"}
        timeout = float(self.config.get("COMMERCE_BACKEND_TIMEOUT", 5.0))
        try:
            response = requests.post(url, data=body, headers=headers, timeout=timeout)
        except requests.Timeout:
            return BackendResult(PENDING, f"the shop did not answer within {timeout:g} s", retry=True)
        except requests.RequestException as exc:
            return BackendResult(PENDING, f"could not reach the shop: {type(exc).__name__}", retry=True)
        if response.status_code == 202:
            return BackendResult(PENDING, None, retry=False)
        if 200 <= response.status_code < 300:
            return BackendResult(ACKED)
        if response.status_code >= 500 or response.status_code in RETRYABLE_STATUS:
            return BackendResult(PENDING, _shop_message(response), retry=True)
        return BackendResult(FAILED, _shop_message(response))


_BACKENDS: dict[str, type[CommerceBackend]] = {}


def register(backend: type[CommerceBackend]) -> type[CommerceBackend]:
    _BACKENDS[backend.name] = backend
    return backend


register(LocalBackend)
register(WebhookBackend)


def names() -> list[str]:
    return sorted(_BACKENDS)


def get(name: str, config: Mapping[str, Any]) -> CommerceBackend:
    """The backend called `name`; an unknown name is a configuration error, said plainly."""
    try:
        return _BACKENDS[name](config)
    except KeyError:
        raise ValueError(f"unknown commerce backend {name!r}; known: {', '.join(names())}") from None


def configured_name(config: Mapping[str, Any]) -> str:
    return config.get("COMMERCE_BACKEND") or "local"

