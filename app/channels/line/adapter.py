"""The LINE adapter: replies and pushes out, profiles, content and quota in. No database.

Delivery prefers the reply API (free) while the inbound event's reply token is valid (the reply
path put it in the message's meta); otherwise, or when LINE refuses the token, the push API,
which counts against the plan's monthly quota. A push carries an X-Line-Retry-Key derived from
the outbox message, so every retry of that message reuses it: LINE answers 409 (with
x-line-accepted-request-id) to a key it already accepted, which counts as delivered, and a lost
answer (connection dropped, read timeout: urllib3 errors, not ApiException) is simply retried.
A reply token cannot be retried safely (single use, no retry key), so a reply whose answer was
lost is "unverified" (probably sent — check) rather than pushed a second time.

Images an agent attached follow the text as image messages (one request, at most 5 messages)
whose URLs are our signed, expiring public links (media.py): LINE apps fetch them lazily.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

import urllib3
from linebot.v3.messaging import (ImageMessage, MessagingApi, MessagingApiBlob, PushMessageRequest,
                                  ReplyMessageRequest, TextMessage)
from linebot.v3.messaging.exceptions import ApiException

from app.channels.base import (ChannelAdapter, DeliveryResult, OutboundMessage, PermanentFailure,
                               TemporaryFailure, UnconfirmedDelivery)
from app.channels.line import media
from app.channels.line.client import api_client, data_client, timeout
from app.i18n import N_

#: Namespace of the retry keys (uuid5 of the outbox message): stable across retries and restarts.
RETRY_KEY_NAMESPACE = uuid.UUID("6f1d3c52-7a0e-4b8e-9a55-2c1e0b7d4a10")


#: LINE's limit on one text message.
MAX_TEXT = 5000


@dataclass(frozen=True)
class Profile:
    name: str
    picture_url: Optional[str]


@dataclass(frozen=True)
class Quota:
    #: 'limited' (a monthly cap in `limit`) or 'none' (unlimited).
    kind: str
    limit: Optional[int]
    used: int


def retry_key(outbound: OutboundMessage, secret: str = "") -> str:
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"{secret[:8]}:{outbound.ticket_id}:{outbound.message_id}"))


def _detail(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
        message = body.get("message") or ""
        details = "; ".join(f"{d.get('property', '')}: {d.get('message', '')}" for d in body.get("details") or [])
    except (TypeError, ValueError, AttributeError):
        message, details = str(exc.body or "")[:300], ""
    return f"LINE API {exc.status}: {message}{' (' + details + ')' if details else ''}".strip()


def _header(exc: ApiException, name: str) -> Optional[str]:
    for key, value in (exc.headers or {}).items():
        if key.lower() == name:
            return value
    return None


def token_valid(meta: dict[str, Any], now: Optional[datetime] = None) -> bool:
    expires = meta.get("reply_token_expires_at")
    if not meta.get("reply_token") or not expires:
        return False
    return (now or datetime.now(timezone.utc)) < datetime.fromisoformat(expires)


class LineChannel(ChannelAdapter):
    name = "line"
    identity_kind = "line"
    can_reply = True
    unreachable_refusal = N_("The customer has blocked our LINE account (unfollowed it): a message would not "
                             "reach them.")
    max_images = media.MAX_IMAGES

    @classmethod
    def enabled(cls, config: dict[str, Any]) -> bool:
        return bool(config.get("LINE_CHANNEL_SECRET") and config.get("LINE_CHANNEL_ACCESS_TOKEN"))

    @classmethod
    def image_refusal(cls, filename: str, content_type: str, data: bytes) -> Optional[str]:
        problem = media.check_image(filename, content_type, data)
        if problem == "not_image":
            return N_("%(name)s cannot be sent on LINE: only JPEG and PNG images can.")
        if problem == "too_large":
            return N_("%(name)s is too large to send on LINE (10 MB at most).")
        return None

    def _images(self, outbound: OutboundMessage) -> list[ImageMessage]:
        """The attached images as image messages with signed https URLs."""
        images = []
        for attachment in outbound.attachments:
            if attachment.content_type.split(";")[0].strip().lower() not in media.IMAGE_TYPES:
                continue
            original, preview = media.urls(self.config, attachment.id)
            if not (original.startswith("https://") and preview.startswith("https://")):
                raise PermanentFailure("LINE needs https image URLs: set PUBLIC_BASE_URL to the app's "
                                       f"https address (got {original.split('/line/')[0]})")
            images.append(ImageMessage(original_content_url=original, preview_image_url=preview))
        return images[:media.MAX_IMAGES]

    def _messages(self, outbound: OutboundMessage) -> list[Any]:
        body, images = (outbound.body_text if outbound.body_text.strip() else ""), self._images(outbound)
        texts = [TextMessage(text=body[i:i + MAX_TEXT]) for i in range(0, len(body), MAX_TEXT)]
        return texts[:5 - len(images)] + images

    def deliver(self, outbound: OutboundMessage) -> DeliveryResult:
        """Reply while the token is valid, else push with the message's retry key."""
        if not outbound.body_text.strip() and not outbound.attachments:
            raise PermanentFailure("empty LINE message")
        if token_valid(outbound.meta):
            result = self._reply(outbound)
            if result is not None:
                return result
        return self._push(outbound)

    def _reply(self, outbound: OutboundMessage) -> Optional[DeliveryResult]:
        """The reply API's result, or None when LINE refused the token (expired or used): push."""
        with api_client(self.config) as client:
            try:
                MessagingApi(client).reply_message_with_http_info(
                    ReplyMessageRequest(reply_token=outbound.meta["reply_token"],
                                        messages=self._messages(outbound)),
                    _request_timeout=timeout(self.config))
            except ApiException as exc:
                if exc.status == 400 and "reply token" in str(exc.body or "").lower():
                    return None
                if exc.status == 429 or (exc.status or 0) >= 500:
                    raise TemporaryFailure(_detail(exc)) from exc
                raise PermanentFailure(_detail(exc)) from exc
            except urllib3.exceptions.HTTPError as exc:
                raise UnconfirmedDelivery(
                    f"LINE reply API did not answer ({type(exc).__name__}); the reply token is single-use, "
                    "so the reply may have been delivered: check before sending again") from exc
        return DeliveryResult(meta={"line_mode": "reply", "reply_token_used": True})

    def _push(self, outbound: OutboundMessage) -> DeliveryResult:
        key = retry_key(outbound, self.config.get("LINE_CHANNEL_SECRET") or "")
        with api_client(self.config) as client:
            try:
                response = MessagingApi(client).push_message_with_http_info(
                    PushMessageRequest(to=outbound.to, messages=self._messages(outbound)),
                    x_line_retry_key=key, _request_timeout=timeout(self.config))
            except ApiException as exc:
                accepted = _header(exc, "x-line-accepted-request-id")
                if exc.status == 409 and accepted:  # an earlier attempt with this key got through
                    return DeliveryResult(meta={"line_mode": "push", "retry_key": key,
                                                "line_request_id": accepted, "recovered": True})
                if exc.status == 429 or (exc.status or 0) >= 500:
                    raise TemporaryFailure(_detail(exc)) from exc
                raise PermanentFailure(_detail(exc)) from exc
            except urllib3.exceptions.HTTPError as exc:  # lost answer: the same key makes a retry safe
                raise TemporaryFailure(f"LINE API unreachable: {type(exc).__name__}: {exc}") from exc
        request_id = {k.lower(): v for k, v in (response.headers or {}).items()}.get("x-line-request-id")
        return DeliveryResult(meta={"line_mode": "push", "retry_key": key, "line_request_id": request_id})

    def profile(self, user_id: str) -> Optional[Profile]:
        """The user's display name and picture; None when LINE does not give them (not a friend)."""
        with api_client(self.config) as client:
            try:
                found = MessagingApi(client).get_profile(user_id, _request_timeout=timeout(self.config))
            except (ApiException, urllib3.exceptions.HTTPError):
                return None
        return Profile(found.display_name or "", found.picture_url)

    def content(self, message_id: str) -> tuple[bytes, Optional[str]]:
        """(bytes, content type) of an image/video/audio/file message; raises ApiException or
        urllib3 errors."""
        with data_client(self.config) as client:
            response = MessagingApiBlob(client).get_message_content_with_http_info(
                message_id, _request_timeout=timeout(self.config))
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        return bytes(response.data or b""), headers.get("content-type")

    def quota(self) -> Quota:
        """This month's push quota and consumption (raises ApiException / urllib3 errors)."""
        with api_client(self.config) as client:
            api = MessagingApi(client)
            limit = api.get_message_quota(_request_timeout=timeout(self.config))
            used = api.get_message_quota_consumption(_request_timeout=timeout(self.config))
        return Quota(limit.type, limit.value if limit.type == "limited" else None, int(used.total_usage or 0))
