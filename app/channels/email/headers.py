"""Email header fields: Message-IDs, addresses, the sender, the date (raw values in, clean out)."""
from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone
from email.utils import getaddresses, parsedate_to_datetime
from typing import Optional

from app.channels.email.charsets import decode_header, raw_bytes
from app.ingest.identity import InvalidIdentity, normalise_email

#: Used when no header names a usable sender: the message is still stored and shown.
UNKNOWN_SENDER = "unknown-sender@invalid.invalid"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Message-IDs are printable ASCII: one with 8-bit bytes or controls is no id (the raw hash is).
_MSGID = re.compile(r"<([!-;=?-~]{1,490})>")
_BARE_ID = re.compile(r"[!-;=?-~]{1,490}")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
#: A raw ISO-2022-JP run (ESC $ B ... up to ESC ( B or the end) inside a header.
_JIS_RUN = re.compile(r"\x1b\$[@B][^\x1b]*(?:\x1b\([BJ]|$)")
_EW_ANY = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?]*\?=")
_ADDR_SPEC = re.compile(r"(?<![^\s<>\",;:])[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
                        r"(?![^\s<>\",;])")


def normalise_message_id(value: Optional[str]) -> Optional[str]:
    """'<abc@host>' from any spelling of a Message-ID header (comments, no brackets, folding)."""
    if not value:
        return None
    match = _MSGID.search(value)
    if match:
        return f"<{match.group(1)}>"
    if "<" in value:
        return None  # an id in brackets that is not printable ASCII
    bare = _BARE_ID.fullmatch(value.strip())
    return f"<{bare.group(0)}>" if bare and "@" in bare.group(0) else None


def message_ids(value: Optional[str]) -> list[str]:
    """All ids of an In-Reply-To / References header, in header order."""
    if not value:
        return []
    found = [f"<{m}>" for m in _MSGID.findall(value)]
    if not found:
        one = normalise_message_id(value)
        return [one] if one else []
    return found


def address_of(raw: str) -> Optional[str]:
    """The normalised address in a raw header value, or None if it is none."""
    data = raw_bytes(raw)
    if not data.isascii():
        try:
            data.decode("utf-8")  # SMTPUTF8 addresses are UTF-8; other 8-bit bytes are no address
        except UnicodeDecodeError:
            return None
    address = decode_header(raw)
    if _CONTROL.search(address):
        return None  # not an address anyone can write to (and PostgreSQL refuses NUL)
    try:
        return normalise_email(address)
    except InvalidIdentity:
        return None


def _strip_comments(value: str) -> tuple[str, list[str]]:
    """The value without (comments) outside quoted strings, and the comments' text.

    getaddresses() folds obsolete comments (`pete(his account)@silly.test(his host)`) into the
    display name; without them the address and name come out clean."""
    out: list[str] = []
    comments: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = escaped = False
    for char in value:
        if escaped:
            (current if depth else out).append(char)
            escaped = False
        elif char == "\\" and (quoted or depth):
            escaped = True
            if quoted:
                out.append(char)
        elif depth:
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if not depth:
                    comments.append("".join(current).strip())
                    current = []
                    out.append(" ")
                    continue
            current.append(char)
        elif char == '"':
            quoted = not quoted
            out.append(char)
        elif char == "(" and not quoted:
            depth = 1
        else:
            out.append(char)
    if depth:  # an unclosed comment: keep the text as it was
        return value, []
    return "".join(out), [c for c in comments if c]


def _jis_word(match: re.Match) -> str:
    text = decode_header(match.group(0))
    return f"=?UTF-8?B?{base64.b64encode(text.encode()).decode()}?="


def _pairs(value: Optional[str]) -> list[tuple[str, str]]:
    """(display, address) pairs of an address header as real mailers write it.

    Before getaddresses(): folds are undone (a quoted name folded across lines otherwise ends
    the parse), raw ISO-2022-JP runs become encoded-words (their bytes may be '"', '<' or ','),
    and comments are taken out (a bare address's comment is its display name)."""
    if not value:
        return []
    value = _FOLD.sub("", value).replace("\r", " ").replace("\n", " ")
    if "\x1b" in value:
        value = _JIS_RUN.sub(_jis_word, value)
    comments: list[str] = []
    if "(" in value:
        value, comments = _strip_comments(value)
    pairs = [(display, raw) for display, raw in getaddresses([value]) if raw or display]
    if len(pairs) == 1 and not pairs[0][0] and comments:
        pairs = [(" ".join(comments), pairs[0][1])]
    return pairs


def _bare_address(value: Optional[str]) -> Optional[tuple[str, str]]:
    """The last resort for a header getaddresses() cannot read (`=?ISO-2022-JP?B?...?= a@b.jp`,
    unbalanced quotes): the first addr-spec in it, the rest as the display name."""
    if not value or "@" not in value:
        return None
    text = _FOLD.sub("", value)
    words = _EW_ANY.sub(" ", text)
    match = _ADDR_SPEC.search(words)
    if match is None:
        return None
    address = address_of(match.group(0))
    if address is None:
        return None
    display = text.replace(match.group(0), " ").replace("<", " ").replace(">", " ").replace('"', " ")
    return address, " ".join(decode_header(display).split())


def sender(headers: dict[str, str]) -> tuple[str, str, bool]:
    """(address, name, found) from From, then Sender, Reply-To, Return-Path."""
    for name in ("from", "sender", "reply-to", "return-path"):
        for display, raw in _pairs(headers.get(name)):
            value = address_of(raw)
            if value:
                return value, _name(display), True
        bare = _bare_address(headers.get(name))
        if bare is not None:
            return bare[0], _name(bare[1]), True
    return UNKNOWN_SENDER, "", False


def _name(display: str) -> str:
    return " ".join(_CONTROL.sub(" ", decode_header(display)).split())[:200]


def addresses(value: Optional[str]) -> list[str]:
    found = [a for a in (address_of(raw) for _display, raw in _pairs(value)) if a]
    if not found and (bare := _bare_address(value)) is not None:
        found = [bare[0]]
    return found[:50]


def parse_date(value: Optional[str], received_at: Optional[datetime]) -> datetime:
    now = datetime.now(timezone.utc)
    fallback = received_at or now
    if fallback.tzinfo is None:
        fallback = fallback.replace(tzinfo=timezone.utc)
    try:
        parsed = parsedate_to_datetime(decode_header(value)) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        parsed = None
    if parsed is None:
        return fallback
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    if parsed > now + timedelta(days=1) or parsed.year < 1995:
        return fallback  # a skewed clock must not sort a ticket to the top of the inbox
    return parsed.astimezone(timezone.utc)
