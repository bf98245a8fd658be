"""The X adapter: mentions and search pages in as InboundMessages, public replies out. No database.

Every post becomes an InboundMessage whose raw source is that post's own JSON document (the post,
its author from `includes.users`, and the partial errors that concern it), so a post whose author
is deleted or protected is still stored, with the reason. Replies go out with POST /2/tweets and
`reply.in_reply_to_tweet_id`; a 403 "duplicate content" first looks for our earlier post (a retry
after a timeout may follow a success) so a reply is never posted twice. When that look-up fails,
or finds no post of ours with that text at all, the reply is probably out there but unconfirmed:
UnconfirmedDelivery, which the outbox marks "probably sent — check" instead of retrying it for ever
(issue 20, item 8). Only the same text found replying to another post means ours was not posted.
"""
from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

import requests
import tweepy

from app.channels.base import (ChannelAdapter, DeliveryResult, OutboundMessage, PermanentFailure,
                               TemporaryFailure, UnconfirmedDelivery)
from app.channels.x.client import RateLimit, error_detail, has_user_keys, make_client, rate_limit
from app.channels.x.text import validate_public_reply
from app.ingest.identity import Sender
from app.ingest.types import InboundMessage

TWEET_FIELDS = ["author_id", "conversation_id", "created_at", "in_reply_to_user_id", "referenced_tweets",
                "entities", "lang", "note_tweet"]
USER_FIELDS = ["name", "username", "protected"]
_TWITTER_EPOCH_MS = 1288834974657
_LEADING_MENTIONS = re.compile(r"^(?:@\w+\s+)+")
_URL = re.compile(r"https?://\S+")


class XFetchError(Exception):
    """A read failed; `retry_after` is when X said to come back (seconds), when it said."""

    def __init__(self, detail: str, retry_after: Optional[float] = None, status: Optional[int] = None):
        super().__init__(detail)
        self.detail, self.retry_after, self.status = detail, retry_after, status


@dataclass
class Page:
    """One page of a timeline or search, parsed."""

    messages: list[InboundMessage]
    #: Posts X returned (what the monthly read cap counts), including ones we skip.
    result_count: int
    next_token: Optional[str]
    newest_id: Optional[str]
    oldest_id: Optional[str]
    rate: RateLimit = field(default_factory=RateLimit)
    #: Partial errors (deleted or protected authors, missing referenced posts).
    errors: list[dict[str, Any]] = field(default_factory=list)


def post_time(post: dict[str, Any]) -> datetime:
    """created_at, or the time inside the snowflake id when X left it out."""
    if post.get("created_at"):
        return datetime.fromisoformat(post["created_at"].replace("Z", "+00:00")).astimezone(timezone.utc)
    return datetime.fromtimestamp(((int(post["id"]) >> 22) + _TWITTER_EPOCH_MS) / 1000, timezone.utc)


def post_url(post_id: str, handle: Optional[str]) -> str:
    return f"https://x.com/{handle}/status/{post_id}" if handle else f"https://x.com/i/web/status/{post_id}"


def _errors_for(post: dict[str, Any], errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The partial errors about this post, its author or the posts it references."""
    ids = {str(post.get("id")), str(post.get("author_id"))}
    ids |= {str(ref.get("id")) for ref in post.get("referenced_tweets") or []}
    return [e for e in errors if str(e.get("value") or e.get("resource_id") or "") in ids]


def to_inbound(post: dict[str, Any], author: Optional[dict[str, Any]], errors: list[dict[str, Any]],
               source: str, raw: Optional[bytes] = None) -> InboundMessage:
    """One post (v2 JSON) as an InboundMessage; `source` is 'mention' or 'listening'."""
    post_id, author_id = str(post["id"]), str(post.get("author_id") or "")
    conversation = str(post.get("conversation_id") or post_id)
    mine = _errors_for(post, errors)
    if raw is None:
        raw = json.dumps({"data": post, "includes": {"users": [author] if author else []}, "errors": mine},
                         ensure_ascii=False).encode()
    handle = (author or {}).get("username")
    text = (post.get("note_tweet") or {}).get("text") or post.get("text") or ""
    meta: dict[str, Any] = {
        "source": source, "post_id": post_id, "author_id": author_id, "author_handle": handle,
        "author_name": (author or {}).get("name"), "url": post_url(post_id, handle),
        "conversation_id": conversation, "in_reply_to_user_id": post.get("in_reply_to_user_id"),
        "referenced_tweets": post.get("referenced_tweets") or [], "lang": post.get("lang"),
        "mentions": [{"id": str(m.get("id") or ""), "username": m.get("username") or ""}
                     for m in (post.get("entities") or {}).get("mentions") or []],
    }
    author_errors = [e for e in mine if e.get("resource_type") == "user"]
    if author is None:
        meta["author_unavailable"] = (author_errors[0].get("detail") or author_errors[0].get("title")
                                      if author_errors else "author not included in the response")
    return InboundMessage(
        channel="x", external_id=post_id,
        sender=Sender("x", author_id, name=(author or {}).get("name") or "",
                      display=f"@{handle}" if handle else ""),
        created_at=post_time(post), body_text=html.unescape(text), subject="", thread_key=conversation,
        reply_to_keys=(conversation,), match_subject=False, raw=raw, raw_content_type="application/json",
        meta=meta)


def inbound_from_raw(raw: bytes, source: str) -> InboundMessage:
    """Rebuild the InboundMessage from a stored raw post document (listening → ticket)."""
    doc = json.loads(raw)
    users = doc.get("includes", {}).get("users") or []
    return to_inbound(doc["data"], users[0] if users else None, doc.get("errors") or [], source, raw=raw)


def parse_page(body: dict[str, Any], source: str, our_id: str, rate: RateLimit = RateLimit()) -> Page:
    users = {str(u["id"]): u for u in body.get("includes", {}).get("users", [])}
    errors = body.get("errors") or []
    meta = body.get("meta") or {}
    posts = body.get("data") or []
    messages = [to_inbound(p, users.get(str(p.get("author_id"))), errors, source) for p in posts
                if str(p.get("author_id")) != str(our_id)]  # our own posts are not customer messages
    return Page(messages, int(meta.get("result_count", len(posts))), meta.get("next_token"),
                meta.get("newest_id"), meta.get("oldest_id"), rate, errors)


def _comparable(text: str) -> str:
    """Post text as X shows it back: unescaped, leading @mentions and link forms ignored."""
    text = unicodedata.normalize("NFC", html.unescape(text or ""))
    text = _LEADING_MENTIONS.sub("", text.strip())
    return " ".join(_URL.sub("<url>", text).split())


class XChannel(ChannelAdapter):
    name = "x"
    identity_kind = "x"
    can_reply = True

    @classmethod
    def enabled(cls, config: dict[str, Any]) -> bool:
        return bool(config.get("X_USER_ID") and config.get("X_BEARER_TOKEN"))

    @property
    def user_id(self) -> str:
        return str(self.config.get("X_USER_ID") or "")

    def _client(self, user_auth: bool = False):
        """One client (one keep-alive session) per adapter instance and auth kind."""
        cache = self.__dict__.setdefault("_clients", {})
        if user_auth not in cache:
            cache[user_auth] = make_client(self.config, user_auth=user_auth)
        return cache[user_auth]

    def _read(self, call, *args: Any, **kwargs: Any) -> requests.Response:
        try:
            return call(*args, **kwargs)
        except tweepy.TooManyRequests as exc:
            raise XFetchError(error_detail(exc), rate_limit(exc.response).seconds_to_reset(), 429) from exc
        except tweepy.HTTPException as exc:
            raise XFetchError(error_detail(exc), None, exc.response.status_code) from exc
        except requests.RequestException as exc:
            raise XFetchError(f"X API unreachable: {type(exc).__name__}: {exc}") from exc

    def fetch_mentions(self, since_id: Optional[str], pagination_token: Optional[str] = None,
                       max_results: int = 100) -> Page:
        """One page of the account's mentions newer than `since_id`, newest first."""
        client = self._client()
        params: dict[str, Any] = {"max_results": max(5, min(int(max_results), 100)),
                                  "expansions": ["author_id"], "tweet_fields": TWEET_FIELDS,
                                  "user_fields": USER_FIELDS}
        if since_id:
            params["since_id"] = since_id
        if pagination_token:
            params["pagination_token"] = pagination_token
        response = self._read(client.get_users_mentions, self.user_id, **params)
        return parse_page(response.json(), "mention", self.user_id, rate_limit(response))

    def search_recent(self, query: str, since_id: Optional[str], next_token: Optional[str] = None,
                      max_results: int = 50) -> Page:
        """One page of recent search results newer than `since_id`, newest first."""
        client = self._client()
        params: dict[str, Any] = {"max_results": max(10, min(int(max_results), 100)),
                                  "expansions": ["author_id"], "tweet_fields": TWEET_FIELDS,
                                  "user_fields": USER_FIELDS}
        if since_id:
            params["since_id"] = since_id
        if next_token:
            params["next_token"] = next_token
        response = self._read(client.search_recent_tweets, query, **params)
        return parse_page(response.json(), "listening", self.user_id, rate_limit(response))

    def find_own_reply(self, text: str, in_reply_to: str) -> Optional[dict[str, Any]]:
        """Our recent post replying to `in_reply_to` with the same text (after a duplicate 403)."""
        return self.look_for_own_reply(text, in_reply_to)[0]

    def look_for_own_reply(self, text: str, in_reply_to: str) -> tuple[Optional[dict[str, Any]], bool]:
        """(our recent reply to `in_reply_to` with this text or None, whether our recent posts hold
        this text at all). XFetchError when the look-up fails."""
        client = self._client()
        response = self._read(client.get_users_tweets, self.user_id, max_results=100,
                              tweet_fields=["referenced_tweets", "created_at", "conversation_id"])
        wanted, seen = _comparable(text), False
        for post in response.json().get("data") or []:
            if _comparable(post.get("text", "")) != wanted:
                continue
            seen = True
            replied = {str(r.get("id")) for r in post.get("referenced_tweets") or [] if r.get("type") == "replied_to"}
            if str(in_reply_to) in replied:
                return post, True
        return None, seen

    def _result(self, post_id: str, **extra: Any) -> DeliveryResult:
        url = post_url(post_id, self.config.get("X_HANDLE"))
        return DeliveryResult(external_id=post_id, meta={"post_id": post_id, "url": url, **extra})

    def deliver(self, outbound: OutboundMessage) -> DeliveryResult:
        """Post the reply publicly; TemporaryFailure on 429/5xx/network, PermanentFailure on 4xx."""
        in_reply_to = outbound.meta.get("in_reply_to_post_id") or (
            outbound.reply_to_keys[-1] if outbound.reply_to_keys else None)
        if not in_reply_to:
            raise PermanentFailure("no X post to reply to (in_reply_to_post_id is missing)")
        if not has_user_keys(self.config):
            raise PermanentFailure("X user-context keys (X_CONSUMER_KEY/SECRET, X_ACCESS_TOKEN/SECRET) "
                                   "are not configured; public replies cannot be posted")
        problems = validate_public_reply(outbound.body_text, check_database=False, config=self.config)
        if problems:  # the reply form checks first; this keeps a queued row from bypassing it
            raise PermanentFailure(" ".join(p.message for p in problems))
        client = self._client(user_auth=True)
        try:
            response = client.create_tweet(text=outbound.body_text, in_reply_to_tweet_id=in_reply_to,
                                           user_auth=True)
        except tweepy.TooManyRequests as exc:
            raise TemporaryFailure(error_detail(exc), rate_limit(exc.response).seconds_to_reset()) from exc
        except tweepy.TwitterServerError as exc:
            raise TemporaryFailure(error_detail(exc)) from exc
        except tweepy.Forbidden as exc:
            detail = error_detail(exc)
            if "duplicate" not in detail.lower():
                raise PermanentFailure(detail) from exc
            try:
                earlier, seen = self.look_for_own_reply(outbound.body_text, str(in_reply_to))
            except XFetchError as lookup:  # X has the text; whether as our reply here, unknown
                raise UnconfirmedDelivery(f"{detail} (looking for our earlier post failed: {lookup.detail})") from exc
            if earlier is None and seen:  # the same text answers another post: ours was not posted
                raise PermanentFailure(detail) from exc
            if earlier is None:  # older than our recent posts, or deleted: cannot confirm
                raise UnconfirmedDelivery(f"{detail} (our earlier post was not among our recent posts)") from exc
            # Our earlier attempt was posted. Its id goes in meta only: if two identical replies were
            # queued, both find the same post, and the unique external id must not collide.
            found = self._result(str(earlier["id"]), recovered=True)
            return DeliveryResult(external_id=None, meta=found.meta)
        except tweepy.HTTPException as exc:
            raise PermanentFailure(error_detail(exc)) from exc
        except requests.RequestException as exc:  # timeout or refused: the outbox retries
            raise TemporaryFailure(f"X API unreachable: {type(exc).__name__}: {exc}") from exc
        data = response.json().get("data") or {}
        if not data.get("id"):
            raise TemporaryFailure(f"X accepted the post but returned no id: {response.text[:300]}")
        return self._result(str(data["id"]))
