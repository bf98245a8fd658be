"""Public, signed, expiring URLs for the images an agent sends on LINE, and what they serve.

A LINE image message carries URLs, not bytes (originalContentUrl and previewImageUrl, https),
and the LINE app downloads them lazily, maybe days later, without any login. So each image of a
message sent to LINE gets an unguessable URL: the attachment id signed with SECRET_KEY
(itsdangerous, its own salt) and stamped with the time, valid LINE_MEDIA_URL_DAYS (default 14).
A tampered or expired token is refused; so is any attachment that is not an image of an outgoing
LINE message (an inbound file, an email's attachment), whatever the token says.

The URLs are built from PUBLIC_BASE_URL (the app's external https address; the worker has no
request to take it from). LINE requires https, so a URL that is not https is not sent.
"""
from __future__ import annotations

from io import BytesIO
from typing import Any, Optional

from PIL import Image, UnidentifiedImageError

from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.attachments.services import inline_type
from app.extensions import db
from app.models import Attachment

SALT = "tsunagu.line-media"
DEFAULT_DAYS = 14
#: What LINE accepts for an image message (JPEG or PNG), and its size limits.
IMAGE_TYPES = ("image/jpeg", "image/png")
MAX_ORIGINAL_BYTES = 10 * 1024 * 1024
MAX_PREVIEW_BYTES = 1024 * 1024
#: A reply or push takes at most 5 messages: the text, then up to 4 images.
MAX_IMAGES = 4


def _serializer(config: dict[str, Any]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config["SECRET_KEY"], salt=SALT)


def max_age(config: dict[str, Any]) -> int:
    return int(config.get("LINE_MEDIA_URL_DAYS") or DEFAULT_DAYS) * 86400


def token(config: dict[str, Any], attachment_id: int) -> str:
    return _serializer(config).dumps({"a": attachment_id})


def attachment_id_from(config: dict[str, Any], value: str) -> Optional[int]:
    """The attachment id in a valid, unexpired token; None otherwise."""
    try:
        data = _serializer(config).loads(value, max_age=max_age(config))
    except (SignatureExpired, BadSignature):
        return None
    found = data.get("a") if isinstance(data, dict) else None
    return found if isinstance(found, int) else None


def urls(config: dict[str, Any], attachment_id: int) -> tuple[str, str]:
    """(originalContentUrl, previewImageUrl) for an image attachment."""
    value = token(config, attachment_id)
    base = (config.get("PUBLIC_BASE_URL") or "").rstrip("/")

    def build(endpoint: str) -> str:
        if base:
            return base + url_for(endpoint, token=value)
        return url_for(endpoint, token=value, _external=True)

    if has_request_context():
        return build("line.media_original"), build("line.media_preview")
    with current_app.test_request_context():
        return build("line.media_original"), build("line.media_preview")


def check_image(filename: str, content_type: str, data: bytes) -> Optional[str]:
    """Why this upload cannot go out as a LINE image (English, for N_-style messages), or None."""
    probe = Attachment(filename=filename, content_type=content_type, data=data)
    if inline_type(probe) not in IMAGE_TYPES:
        return "not_image"
    if len(data) > min(MAX_ORIGINAL_BYTES, int(current_app.config["MAX_ATTACHMENT_BYTES"])):
        return "too_large"
    return None


def small(data: bytes, max_bytes: int, side: int) -> Optional[tuple[bytes, str]]:
    """A JPEG of at most `side` pixels a side and `max_bytes` (Pillow); None when unreadable."""
    try:
        with Image.open(BytesIO(data)) as image:
            image.thumbnail((side, side))
            out = BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return (out.getvalue(), "image/jpeg") if out.tell() <= max_bytes else None


def preview(data: bytes, ctype: str) -> Optional[tuple[bytes, str]]:
    """What previewImageUrl serves: the image itself when small enough, else a 1024 px JPEG."""
    if len(data) <= MAX_PREVIEW_BYTES:
        return data, ctype
    return small(data, MAX_PREVIEW_BYTES, 1024)


def servable(attachment_id: int) -> Optional[tuple[Attachment, str]]:
    """(attachment, content type) when it is an image an agent sent on LINE; None otherwise."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.data is None:
        return None
    message = attachment.message
    if message.channel != "line" or message.direction != "out" or message.outbox is None:
        return None
    ctype = inline_type(attachment)
    return (attachment, ctype) if ctype in IMAGE_TYPES else None
