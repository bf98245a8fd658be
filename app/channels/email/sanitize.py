"""Inbound HTML made safe to show an agent (nh3), and a text rendering of it.

nh3 (ammonia) keeps a whitelist of tags and attributes: no scripts, event handlers, `style`
attributes (so no CSS expressions or remote backgrounds), forms, svg or `javascript:` URLs.
On top of that, remote images would tell the sender when and where the agent read the mail, so
`<img src="http...">` is rewritten to `data-src` (not loaded) and the ticket page loads it when
the agent clicks. Inline `cid:` images stay as `src="cid:..."`; `resolve_cid()` maps them to the
attachment URLs the page serves.
"""
from __future__ import annotations

import html as htmllib
import re
from typing import Callable, Optional

import nh3

_TAGS = set(nh3.ALLOWED_TAGS) | {"font", "tfoot"}
_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES["*"] = {"title", "lang", "dir"}
_ATTRIBUTES["font"] = {"color", "size", "face"}
_ATTRIBUTES["td"] = _ATTRIBUTES.get("td", set()) | {"width", "valign", "bgcolor"}
_ATTRIBUTES["table"] = _ATTRIBUTES.get("table", set()) | {"width", "border", "cellpadding", "cellspacing"}
_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
_IMG_TAG = re.compile(r"<img\b[^>]*>")
_REMOTE_SRC = re.compile(r'\ssrc="(https?:[^"]*)"', re.I)
_CID_SRC = re.compile(r'src="cid:([^"]*)"', re.I)
_BLOCK_END = re.compile(r"(?i)<br\s*/?>|</(p|div|tr|li|h[1-6]|blockquote|table)>")
_BLANK_LINES = re.compile(r"\n[ \t\u3000]*\n(?:[ \t\u3000]*\n)+")


def _attribute_filter(tag: str, attr: str, value: str) -> Optional[str]:
    # No '<' or '>' inside an <img> tag of the output, so _IMG_TAG below can match whole tags.
    if tag == "img":
        if attr == "src":
            return value.replace("<", "%3C").replace(">", "%3E")
        return value.replace("<", "\uff1c").replace(">", "\uff1e")
    return value


_cleaner = nh3.Cleaner(
    tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_SCHEMES, strip_comments=True,
    link_rel="noopener noreferrer nofollow", attribute_filter=_attribute_filter,
    set_tag_attribute_values={"a": {"target": "_blank"}}, url_relative="deny",
)
_text_cleaner = nh3.Cleaner(tags=set(), attributes={}, strip_comments=True)


def _block_remote(match: re.Match) -> str:
    return _REMOTE_SRC.sub(lambda m: f' data-src="{m.group(1)}"', match.group(0))


def sanitize_html(html: str) -> str:
    """Safe HTML for the ticket page; remote images are not loaded until the agent asks."""
    cleaned = _cleaner.clean(html)
    if "<img" in cleaned:
        cleaned = _IMG_TAG.sub(_block_remote, cleaned)
    return cleaned.strip()


#: Sanitising is linear, but a 50 MB HTML part is not worth the CPU: beyond this many times the
#: limit the source is cut first (the cut result is then capped again after sanitising).
_HTML_SOURCE_FACTOR = 4


def sanitize_html_capped(source: str, limit: int) -> tuple[Optional[str], bool]:
    """(sanitised HTML of at most `limit` characters or None, whether it was cut).

    The cap comes after sanitising: sanitising can lengthen HTML (escaped '<', added rel and
    target attributes, closed tags), and a body capped before it and refused by ingest's length
    check afterwards turned a readable message into "could not read". When the result is too
    long, the source is cut before a tag, in proportion, and sanitised again (which closes the
    open elements); if that never fits, the HTML is dropped and the text alone is shown."""
    cut = len(source) > _HTML_SOURCE_FACTOR * limit
    if cut:
        source = source[:_HTML_SOURCE_FACTOR * limit]
    html = sanitize_html(source)
    if len(html) <= limit:
        return html or None, cut
    for _attempt in range(5):
        at = int(len(source) * limit / len(html) * 0.95)
        tag = source.rfind("<", 0, at)
        source = source[:tag if tag > at // 2 else at]
        html = sanitize_html(source)
        if len(html) <= limit:
            return html or None, True
    return None, True


def has_remote_images(clean_html: Optional[str]) -> bool:
    return bool(clean_html) and 'data-src="' in clean_html


def resolve_cid(clean_html: str, url_for_cid: Callable[[str], Optional[str]]) -> str:
    """Point `cid:` images at the URLs where their attachments are served (None leaves them)."""

    def repl(match: re.Match) -> str:
        url = url_for_cid(htmllib.unescape(match.group(1)))
        return f'src="{htmllib.escape(url)}"' if url else match.group(0)

    return _CID_SRC.sub(repl, clean_html)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body (for mail that has no text/plain part)."""
    marked = _BLOCK_END.sub(lambda m: "\n" + m.group(0), html)
    text = htmllib.unescape(_text_cleaner.clean(marked))
    text = "\n".join(line.rstrip() for line in text.replace("\r", "").split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()
