"""tweepy.Client construction: our base URL, a timeout, rate-limit headers, no secrets in logs.

tweepy 4.x hard-codes https://api.twitter.com. Rather than patching tweepy, a requests transport
adapter mounted on `client.session` rewrites that host to X_API_BASE_URL (the real API, a proxy,
or the local test server) and gives every request a timeout (requests has none by default, and a
hung connection would stall the worker). OAuth 1.0a signatures cover the URL, so a rewritten
user-context request is signed again for the URL actually requested.

Clients return raw `requests.Response` objects: we need the x-rate-limit-* headers and the exact
JSON of every post (stored as the raw source), both of which tweepy's Response tuple drops.
`wait_on_rate_limit` stays False: it would sleep inside the calling thread.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import requests
import tweepy
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth1

#: The host tweepy sends every request to.
TWEEPY_HOST = "https://api.twitter.com"
#: Loggers that print request headers (bearer token, OAuth header) at DEBUG.
_CHATTY_LOGGERS = ("tweepy", "requests_oauthlib", "oauthlib")


class BaseURLAdapter(HTTPAdapter):
    """Sends tweepy's requests to `base_url` instead of api.twitter.com, with a default timeout."""

    def __init__(self, base_url: str, timeout: float, oauth: Optional[OAuth1] = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.oauth = oauth

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        if url.startswith(TWEEPY_HOST) and self.base_url != TWEEPY_HOST:
            request.url = self.base_url + url[len(TWEEPY_HOST):]
            if self.oauth is not None and str(request.headers.get("Authorization", "")).startswith("OAuth "):
                del request.headers["Authorization"]
                self.oauth(request)  # sign for the URL we actually request
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def quiet_loggers() -> None:
    """Keep the loggers that would print tokens above DEBUG, whatever the root level is."""
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


def make_client(config: Mapping[str, Any], user_auth: bool = False) -> tweepy.Client:
    """A tweepy.Client for the configured account; `user_auth` adds the OAuth 1.0a user keys."""
    quiet_loggers()
    keys: dict[str, Any] = {}
    oauth = None
    if user_auth:
        keys = {"consumer_key": config.get("X_CONSUMER_KEY"), "consumer_secret": config.get("X_CONSUMER_SECRET"),
                "access_token": config.get("X_ACCESS_TOKEN"),
                "access_token_secret": config.get("X_ACCESS_TOKEN_SECRET")}
        oauth = OAuth1(keys["consumer_key"], keys["consumer_secret"], keys["access_token"],
                       keys["access_token_secret"])
    client = tweepy.Client(bearer_token=config.get("X_BEARER_TOKEN"), **keys,
                           return_type=requests.Response, wait_on_rate_limit=False)
    adapter = BaseURLAdapter(config.get("X_API_BASE_URL") or TWEEPY_HOST,
                             timeout=float(config.get("X_HTTP_TIMEOUT") or 20), oauth=oauth)
    client.session.mount(TWEEPY_HOST + "/", adapter)
    return client


def has_user_keys(config: Mapping[str, Any]) -> bool:
    return all(config.get(k) for k in ("X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN",
                                       "X_ACCESS_TOKEN_SECRET"))


@dataclass(frozen=True)
class RateLimit:
    """The x-rate-limit-* headers of one response (None when X did not send them)."""

    limit: Optional[int] = None
    remaining: Optional[int] = None
    #: Unix time when the window resets.
    reset: Optional[int] = None

    def seconds_to_reset(self, now: Optional[float] = None) -> Optional[float]:
        if self.reset is None:
            return None
        return max(1.0, self.reset - (now if now is not None else time.time()) + 1)


def _int(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def rate_limit(response: Optional[requests.Response]) -> RateLimit:
    if response is None:
        return RateLimit()
    headers = response.headers
    return RateLimit(_int(headers.get("x-rate-limit-limit")), _int(headers.get("x-rate-limit-remaining")),
                     _int(headers.get("x-rate-limit-reset")))


def error_detail(exc: BaseException) -> str:
    """What X said, for the agent: 'X API 403 Forbidden: <detail or error messages>'."""
    if isinstance(exc, tweepy.HTTPException):
        response = exc.response
        try:
            body = response.json()
        except Exception:  # not JSON: a proxy's HTML error page
            body = {}
        body = body if isinstance(body, dict) else {}
        title = body.get("title") or getattr(response, "reason", "") or ""
        messages = [str(m) for m in exc.api_messages if m] or ([str(body["detail"])] if body.get("detail") else [])
        return f"X API {getattr(response, 'status_code', '')} {title}: {'; '.join(messages) or title}".strip()
    return f"{type(exc).__name__}: {exc}"
