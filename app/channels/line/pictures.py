"""LINE profile pictures: the profile API's pictureUrl kept on the identity, and a small copy.

The page's Content-Security-Policy allows only our own images, so the picture is fetched once,
when an agent first sees it (not in the webhook, which LINE is waiting on), size-limited
(LINE_PICTURE_MAX_BYTES), re-encoded by Pillow into a small JPEG (which also drops anything that
is not an image) and served from our origin. The webhook only keeps the profile's URL (a new URL
drops the old copy). A picture that cannot be fetched is remembered as missing and the page shows
the name's initial instead.
"""
from __future__ import annotations

import logging
from typing import Optional

import urllib3
from flask import current_app
from sqlalchemy import select

from app.channels.line import media
from app.extensions import db
from app.models import Identity

log = logging.getLogger(__name__)
#: Largest picture downloaded, and the side of the stored copy.
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
SIDE = 160
STORED_MAX_BYTES = 64 * 1024
PICTURE_TIMEOUT = 3.0
_pool = urllib3.PoolManager(retries=False)


def fetch(url: str) -> Optional[bytes]:
    """The picture's bytes (http(s) only, at most LINE_PICTURE_MAX_BYTES), or None."""
    if not url.lower().startswith(("https://", "http://")):
        return None
    limit = int(current_app.config.get("LINE_PICTURE_MAX_BYTES") or DEFAULT_MAX_BYTES)
    # Fetched while LINE waits for the webhook's answer: a slow CDN must not hold it up long.
    seconds = min(float(current_app.config.get("LINE_HTTP_TIMEOUT") or 10), PICTURE_TIMEOUT)
    try:
        response = _pool.request("GET", url, preload_content=False, redirect=False,
                                 timeout=urllib3.Timeout(connect=seconds, read=seconds))
        try:
            if response.status != 200:
                return None
            data = response.read(limit + 1, decode_content=True)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        log.info("LINE profile picture not fetched: %s", exc)
        return None
    return data if data and len(data) <= limit else None


def note_pictures(pictures: dict[str, str]) -> int:
    """Keep the picture URLs of these LINE users (from their profiles); a changed URL drops the old
    copy. Nothing is downloaded here: the webhook stays fast, the copy is made on first view."""
    identities = db.session.scalars(select(Identity).where(Identity.kind == "line",
                                                           Identity.value.in_(list(pictures))))
    changed = 0
    for identity in identities:
        url = pictures[identity.value][:1000]
        if identity.picture_url != url:
            identity.picture_url, identity.picture, identity.picture_type = url, None, None
            changed += 1
    if changed:
        db.session.commit()
    return changed


def ensure_picture(identity: Identity) -> bool:
    """Make the small copy of the identity's picture if not tried yet; True when there is one.
    A failed try is remembered (picture_type ''): the page then shows the initial."""
    if identity.picture_type is None and identity.picture_url and current_app.config.get("LINE_FETCH_PICTURES", True):
        data = fetch(identity.picture_url)
        made = media.small(data, STORED_MAX_BYTES, SIDE) if data else None
        identity.picture, identity.picture_type = made if made else (None, "")
        db.session.commit()
    return bool(identity.picture_type)
