"""LINE profile pictures: the profile API's pictureUrl kept on the identity, and a small copy.

The page's Content-Security-Policy allows only our own images, so the picture is fetched once
(when the profile is first read, or its URL changes), size-limited (LINE_PICTURE_MAX_BYTES),
re-encoded by Pillow into a small JPEG (which also drops anything that is not an image) and
served from our origin to agents. A picture that cannot be fetched leaves the URL stored and the
page shows the name's initial instead; it never fails the webhook.
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


def store_pictures(pictures: dict[str, str]) -> int:
    """Fetch and keep the pictures of these LINE users whose picture URL is new; returns how many
    identities changed (one commit)."""
    identities = db.session.scalars(select(Identity).where(Identity.kind == "line",
                                                           Identity.value.in_(list(pictures))))
    changed = 0
    for identity in identities:
        url = pictures[identity.value]
        if identity.picture_url == url and identity.picture_type:
            continue
        data = fetch(url)
        made = media.small(data, STORED_MAX_BYTES, SIDE) if data else None
        identity.picture_url = url[:1000]
        identity.picture, identity.picture_type = made if made else (None, None)
        changed += 1
    if changed:
        db.session.commit()
    return changed
