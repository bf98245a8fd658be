"""Byte-level repairs the `email` package needs before (or after) it can parse real mail.

- `repair_header_block`: one malformed line in the middle of the header block (no colon, a space
  before the colon, a name with a space) makes the stdlib parser end the headers there, so the
  Subject, From and Message-ID after it land in the body. The line is fixed or taken out when
  well-formed header fields follow it; the raw message itself is always stored unchanged.
- `normalise_cte`: `Base64 `, `"quoted-printable"`, `base-64`, `7-bit`: the token the stdlib
  compares against, so transfer encodings with trailing blanks or odd spelling are decoded.
- `split_uuencoded`: `begin 644 name ... end` blocks inside a text body, as attachments.
- `unglue_close_delimiter`: a closing delimiter written at the end of the last line.
"""
from __future__ import annotations

import binascii
import re
from typing import Optional

#: What the stdlib's feed parser accepts as a header line (see email.feedparser.headerRE).
_STDLIB_LINE = re.compile(rb"(From |[\041-\071\073-\176]*:|[\t ])")
#: A field name followed by blanks before the colon (obsolete syntax): `Subject : ...`.
_SPACED_COLON = re.compile(rb"([\041-\071\073-\176]+)[ \t]+:")
#: A well-formed field line (name of printable characters, then a colon).
_FIELD = re.compile(rb"[\041-\071\073-\176]+:")
_BLANK_LINE = re.compile(rb"(\r?\n)\r?\n")
#: Unstructured fields: a stray line after one is most likely its lost continuation.
_TEXT_FIELDS = (b"subject:", b"comments:", b"keywords:", b"thread-topic:")
_HEAD_SCAN = 256 * 1024


def repair_header_block(raw: bytes) -> tuple[bytes, int]:
    """(raw with its header block repaired, number of lines fixed or taken out)."""
    end = _BLANK_LINE.search(raw, 0, _HEAD_SCAN)
    if end is None:
        return raw, 0
    head = raw[:end.end(1)]
    lines = head.splitlines(keepends=True)
    if all(_STDLIB_LINE.match(line) for line in lines):
        return raw, 0
    out: list[bytes] = []
    fixed = 0
    for i, line in enumerate(lines):
        if _STDLIB_LINE.match(line):
            out.append(line)
            continue
        spaced = _SPACED_COLON.match(line)
        if spaced is not None:
            out.append(spaced.group(1) + b":" + line[spaced.end():])
            fixed += 1
            continue
        rest = [x for x in lines[i + 1:] if x.strip()]
        if not any(_FIELD.match(x) for x in rest) or not all(
                _STDLIB_LINE.match(x) or _SPACED_COLON.match(x) for x in rest):
            return raw, 0  # the body starts here (no blank line after the headers): the stdlib's case
        previous = _last_field(out)
        if previous is not None and previous.lower().startswith(_TEXT_FIELDS) and line.strip():
            out.append(b" " + line.lstrip())
        fixed += 1
    return b"".join(out) + raw[end.end(1):], fixed


def _last_field(lines: list[bytes]) -> Optional[bytes]:
    for line in reversed(lines):
        if line[:1] not in (b" ", b"\t"):
            return line
    return None


_CTE_ALIASES = {"base-64": "base64", "b64": "base64", "quoted_printable": "quoted-printable",
                "quotedprintable": "quoted-printable", "qp": "quoted-printable", "7-bit": "7bit",
                "8-bit": "8bit", "uuencode": "x-uuencode", "uue": "x-uuencode", "x-uue": "x-uuencode"}
_COMMENT = re.compile(r"\([^()]*\)")


def normalise_cte(value: Optional[str]) -> Optional[str]:
    """The Content-Transfer-Encoding token: case, blanks, quotes, comments and spellings ironed."""
    if value is None:
        return None
    token = _COMMENT.sub(" ", str(value)).replace('"', " ").replace("'", " ").replace(";", " ").split()
    if not token:
        return ""
    word = token[0].lower()
    return _CTE_ALIASES.get(word, word)


_UU_BEGIN = re.compile(rb"^begin[ \t]+[0-7]{3,4}[ \t]+([^\r\n]+?)[ \t]*\r?$", re.M)
_UU_END = re.compile(rb"^end[ \t]*\r?$", re.M)


def _uu_line(line: bytes) -> bytes:
    line = line.rstrip(b"\r\n")
    if not line:
        return b""
    try:
        return binascii.a2b_uu(line)
    except binascii.Error:
        # Some encoders pad lines with junk (or strip trailing blanks): take the declared length.
        count = ((line[0] - 32) & 63) * 4 + 5
        try:
            return binascii.a2b_uu(line[:count // 3].ljust(count // 3))
        except binascii.Error:
            return b""


def split_uuencoded(data: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """(text without its uuencoded blocks, [(file name bytes, file bytes)])."""
    if b"begin " not in data:
        return data, []
    files: list[tuple[bytes, bytes]] = []
    text = bytearray()
    pos = 0
    while (begin := _UU_BEGIN.search(data, pos)) is not None:
        end = _UU_END.search(data, begin.end())
        if end is None:
            break
        body = data[begin.end():end.start()].split(b"\n")
        decoded = b"".join(_uu_line(line) for line in body)
        text += data[pos:begin.start()]
        files.append((begin.group(1), decoded))
        pos = end.end() + (data[end.end():end.end() + 1] == b"\n")
    text += data[pos:]
    return bytes(text), files


def unglue_close_delimiter(part, payload: list) -> None:
    """`...last line--boundary--` with no line break before the closing delimiter: the stdlib
    keeps it (and any epilogue) in the last part, which shows it as text or corrupts base64."""
    boundary = part.get_boundary()
    last = payload[-1] if payload else None
    if not boundary or last is None or last.is_multipart():
        return
    try:
        content = last.get_payload()
    except (LookupError, UnicodeError):  # a charset parameter with 8-bit bytes
        return
    if isinstance(content, str):
        cut = content.rfind(f"--{boundary}--")
        if cut >= 0:
            last.set_payload(content[:cut])
