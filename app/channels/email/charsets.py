"""Charset decoding for Japanese mail: bodies, RFC 2047 headers and raw 8-bit headers.

Python's codecs are wrong on real Japanese mail in ways that lose text silently, so this module
owns every bytes->str step of the email channel:

- ISO-2022-JP carrying CP50220 extensions (①, ㈱, Ⅱ, 髙) and half-width katakana (``ESC ( I``)
  fails with every ``iso2022_jp*`` codec: jis.py converts the JIS bytes to Shift_JIS for cp932.
- Shift_JIS, Windows-31J, x-sjis... labels decode as cp932; EUC-JP with NEC extensions goes
  through the same JIS arithmetic.
- A missing, unknown or wrong label is detected (escape sequences, strict UTF-8, then
  charset-normalizer restricted to plausible encodings). An unknown label never raises.
- Adjacent RFC 2047 encoded-words of one charset are joined as bytes before decoding, so a
  character (or an ISO-2022-JP shift state) split across two words survives.

Every function returns text without lone surrogates; `Decoded.clean` says whether the decode was
strict (False means some bytes became U+FFFD).
"""
from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass
from typing import Optional

import charset_normalizer

from app.channels.email import jis

#: Labels seen in the wild that Python does not know or decodes too narrowly.
_ALIASES = {
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "x-sjis", "s-jis", "shift_jis-2004", "ms_kanji",
                     "csshiftjis", "windows-31j", "cswindows31j", "x-ms-cp932", "cp932", "ms932",
                     "ibm-943", "ibm943", "sjis-open", "sjis-win", "x-shift_jis", "shiftjis"), "cp932"),
    **dict.fromkeys(("iso-2022-jp", "csiso2022jp", "iso2022jp", "iso-2022-jp-ms", "cp50220", "cp50221",
                     "cp50222", "iso-2022-jp-1", "x-windows-iso2022jp", "jis", "iso-2022-jp-2"), "jis"),
    **dict.fromkeys(("euc-jp", "eucjp", "x-euc-jp", "euc_jp", "cseucpkdfmtjapanese", "eucjp-ms",
                     "euc-jp-ms", "cp51932", "eucjp-win", "ujis"), "euc"),
    "iso-2022-jp-3": "iso2022_jp_2004", "iso-2022-jp-2004": "iso2022_jp_2004",
    "gb2312": "gb18030", "gbk": "gb18030", "ks_c_5601-1987": "cp949", "euc-kr": "cp949",
    # WHATWG practice: these labels mean windows-1252 in real mail.
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "ascii",
    "ascii": "ascii", "utf8": "utf-8", "utf-8": "utf-8", "x-unknown": "", "unknown-8bit": "",
    "unknown": "", "default": "", "x-user-defined": "",
}
#: Encodings charset-normalizer may choose from: with Korean or Chinese candidates it reads
#: unlabelled EUC-JP as cp949, and a Japanese shop's unlabelled mail is Japanese or Western.
_DETECT = ["utf_8", "cp932", "euc_jp", "iso2022_jp", "cp1252"]
_SINGLE_BYTE = {"cp1252", "ascii"}

_EW = re.compile(r"=\?([^?\s]+?)\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


@dataclass(frozen=True)
class Decoded:
    text: str
    #: The encoding actually used ("jis" for ISO-2022-JP via cp932, "cp932", "utf-8", ...).
    charset: str
    #: False when undecodable bytes were replaced with U+FFFD.
    clean: bool = True


def codec_for(label: Optional[str]) -> Optional[str]:
    """Our codec name for a MIME charset label; None when missing or unknown."""
    if not label:
        return None
    key = label.strip().strip('"\'').lower()
    if key in _ALIASES:
        return _ALIASES[key] or None
    try:
        return codecs.lookup(key).name
    except LookupError:
        return None


def decode_jis(data: bytes) -> Decoded:
    text, clean = jis.decode_jis(data)
    return Decoded(text, "jis", clean)


def decode_euc(data: bytes) -> Decoded:
    text, clean = jis.decode_euc(data)
    return Decoded(text, "euc_jp", clean)


def detect(data: bytes) -> Decoded:
    """Decode bytes whose charset is missing, unknown or wrong."""
    if data.isascii():
        if b"\x1b$" in data or b"\x1b(I" in data:
            return decode_jis(data)
        return Decoded(data.decode("ascii"), "ascii")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data, cp_isolation=_DETECT).best()
    if best is not None:
        encoding = best.encoding
        if encoding == "euc_jp":
            return decode_euc(data)
        if encoding in ("iso2022_jp",):
            return decode_jis(data)
        try:
            return Decoded(data.decode(encoding), encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    for codec in ("cp932", "euc_jp"):
        try:
            return Decoded(data.decode(codec), codec)
        except UnicodeDecodeError:
            continue
    return Decoded(data.decode("cp932", "replace"), "cp932", clean=False)


def decode_bytes(data: bytes, label: Optional[str]) -> Decoded:
    """Decode `data` labelled `label` (may be None, unknown or a lie)."""
    if not data:
        return Decoded("", codec_for(label) or "ascii")
    codec = codec_for(label)
    if codec == "jis":
        if b"\x1b" in data or data.isascii():
            return decode_jis(data)
        return detect(data)  # labelled JIS but 8-bit: Shift_JIS or UTF-8 in disguise
    if codec == "euc":
        result = decode_euc(data)
        return result if result.clean else detect(data)
    if codec is None:
        return detect(data)
    if codec in _SINGLE_BYTE and not data.isascii():
        # A latin label on Japanese text is a classic mislabel; trust it only when nothing
        # Japanese or UTF-8 fits better.
        guess = detect(data)
        if guess.clean and guess.charset not in _SINGLE_BYTE:
            return guess
        if codec == "ascii":
            return Decoded(data.decode("cp1252", "replace"), "cp1252", clean=False)
    try:
        return Decoded(data.decode(codec), codec)
    except UnicodeDecodeError:
        guess = detect(data)
        return guess if guess.clean else Decoded(data.decode(codec, "replace"), codec, clean=False)
    except LookupError:
        return detect(data)


# -- headers -----------------------------------------------------------------------------------

def raw_bytes(value: str) -> bytes:
    """The original bytes of a value parsed by BytesParser (8-bit bytes are kept as surrogates)."""
    try:
        return value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # real text, not parser output
        return value.encode("utf-8", "surrogateescape")


def _plain(chunk: str) -> str:
    if chunk.isascii():
        return decode_jis(chunk.encode()).text if "\x1b" in chunk else chunk
    try:
        data = chunk.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # already real text (a str built by us, not by the parser)
        return chunk.encode("utf-8", "replace").decode("utf-8")
    return detect(data).text


def _word_bytes(encoding: str, payload: str) -> bytes:
    if encoding in "bB":
        payload = payload.rstrip("=")
        payload += "=" * (-len(payload) % 4)
        try:
            return base64.b64decode(payload)
        except (binascii.Error, ValueError):
            return base64.b64decode(payload[: len(payload) // 4 * 4] or "", validate=False)
    data = payload.replace("_", " ").encode("ascii", "surrogateescape")
    return binascii.a2b_qp(data)


def decode_header(value: Optional[str]) -> str:
    """A header value as text: unfolded, RFC 2047 words joined per charset, 8-bit recovered."""
    if not value:
        return ""
    value = _FOLD.sub("", value)
    if "=?" not in value:
        return _plain(value).replace("\r", "").replace("\n", " ").strip()
    parts: list[str] = []
    run_charset: Optional[str] = None
    run = bytearray()
    pos = 0

    def flush() -> None:
        nonlocal run_charset
        if run_charset is not None:
            parts.append(decode_bytes(bytes(run), run_charset).text)
            run.clear()
            run_charset = None

    for match in _EW.finditer(value):
        between = value[pos:match.start()]
        charset = match.group(1).split("*", 1)[0].lower()
        if between and not (between.isspace() and run_charset is not None):
            flush()
            parts.append(_plain(between))
        # Whitespace between adjacent encoded-words is dropped (RFC 2047 6.2); words of one
        # charset are joined as bytes so a character split across them survives.
        if run_charset is not None and charset != run_charset:
            flush()
        run_charset = charset
        run += _word_bytes(match.group(2), match.group(3))
        pos = match.end()
    flush()
    if pos < len(value):
        parts.append(_plain(value[pos:]))
    return "".join(parts).replace("\r", "").replace("\n", " ").strip()


def strip_nul(text: str) -> str:
    return text.replace("\x00", "") if "\x00" in text else text
