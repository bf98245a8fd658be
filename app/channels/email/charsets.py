"""Charset decoding for Japanese mail: bodies, RFC 2047 headers and raw 8-bit headers.

Python's codecs are wrong on real Japanese mail in ways that lose text silently, so this module
owns every bytes->str step of the email channel:

- ISO-2022-JP carrying CP50220 extensions (①, ㈱, Ⅱ, 髙) and half-width katakana (``ESC ( I``)
  fails with every ``iso2022_jp*`` codec: jis.py converts the JIS bytes to Shift_JIS for cp932.
- Shift_JIS, Windows-31J, x-sjis... labels decode as cp932; EUC-JP with NEC extensions goes
  through the same JIS arithmetic.
- Labels Python does not know (iso-8859-8-i, win-1257, x-cp1251, windows-874, x-mac-roman,
  x-gbk...) are mapped by a table and by spelling rules. A missing, unknown or wrong label is
  detected (escape sequences, strict UTF-8, charset-normalizer restricted to Japanese and
  Western encodings, then, when none of those fits calmly, every encoding it knows). An unknown
  label never raises. `garbled()` tells mojibake that decoded without U+FFFD.
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
from charset_normalizer.md import mess_ratio

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
    # Labels from Outlook, old webmailers and the WHATWG list that Python does not know.
    "x-gbk": "gb18030", "gb_2312-80": "gb18030", "euc-cn": "gb18030", "x-euc-cn": "gb18030",
    "cn-gb": "gb18030", "csgb2312": "gb18030", "chinese": "gb18030", "iso-ir-58": "gb18030",
    "x-x-big5": "big5hkscs", "cn-big5": "big5hkscs", "big5": "big5hkscs", "x-big5": "big5hkscs",
    "windows-949": "cp949", "x-windows-949": "cp949", "ks_c_5601": "cp949", "korean": "cp949",
    "x-mac-roman": "mac_roman", "mac": "mac_roman", "x-mac": "mac_roman",
    "x-mac-ce": "mac_latin2", "x-mac-centraleurroman": "mac_latin2",
    "x-mac-cyrillic": "mac_cyrillic", "x-mac-ukrainian": "mac_cyrillic", "x-mac-greek": "mac_greek",
    "x-mac-turkish": "mac_turkish", "x-mac-icelandic": "mac_iceland", "x-mac-japanese": "cp932",
    "utf8mb4": "utf-8", "x-utf-8": "utf-8", "x-utf8": "utf-8", "utf-8-sig": "utf-8",
    "ucs-2": "utf-16", "iso-10646-ucs-2": "utf-16", "x-iso-10646-ucs-2-be": "utf-16-be",
    "tis-620": "cp874", "iso-8859-11": "cp874", "dos-874": "cp874", "x-cp874": "cp874",
    "visual": "iso8859-8", "logical": "iso8859-8", "iso-8859-8-i": "iso8859-8",
    "iso-8859-8-e": "iso8859-8", "iso-8859-6-i": "iso8859-6", "iso-8859-6-e": "iso8859-6",
    "ansi": "cp1252", "ms-ansi": "cp1252", "windows-latin-1": "cp1252", "iso8859-1": "cp1252",
    "iso2022_jp": "jis", "iso2022_jp_ext": "jis", "iso2022_jp_1": "jis", "iso2022_jp_2": "jis",
}
#: Spelling variants of Windows/IBM/DOS code pages: win-1257, x-cp1251, cp-866, ms-1250...
_CODE_PAGE = re.compile(r"(?:x-)?(?:windows|win|cp|ms|ibm|dos|ansi)[-_ ]?(\d{3,5})")
_LATIN = re.compile(r"(?:x-)?latin[-_ ](\d{1,2})")
_ISO_8859 = re.compile(r"(?:x-)?iso[-_ ]?8859[-_ ]?(\d{1,2})(?:[-_:][a-z0-9]+)*")
#: Encodings charset-normalizer may choose from: with Korean or Chinese candidates it reads
#: unlabelled EUC-JP as cp949, and a Japanese shop's unlabelled mail is Japanese or Western.
_DETECT = ["utf_8", "cp932", "euc_jp", "iso2022_jp", "cp1252"]
_SINGLE_BYTE = {"cp1252", "ascii"}
_JAPANESE_OR_UTF8 = {"utf-8", "cp932", "euc_jp", "jis", "ascii"}
#: charset-normalizer's "chaos" above which a restricted guess is not trusted.
_CALM = 0.1
_DETECT_BYTES = 64 * 1024
#: Below this a guess among every encoding is noise (a header word, a Content-ID).
_WIDE_MIN_BYTES = 40
#: Text codecs that are no MIME charset (a label naming one is treated as unknown).
_NOT_CHARSETS = {"raw-unicode-escape", "unicode-escape", "undefined", "idna", "punycode", "mbcs",
                 "oem", "palmos"}

#: An encoded-word; its text may hold blanks (`=?utf-8?Q?Hello _there!?=`, written by mailers
#: that do not encode spaces) or a fold (a B-word split across two lines).
_EW = re.compile(r"=\?([^?\s]+?)\?([bBqQ])\?([^?]*?)\?=")
_EW_FOLDED = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?]*?\r?\n[^?]*?\?=")
_FOLD_IN_WORD = re.compile(r"\r?\n[ \t]*")
_BLANKS = re.compile(r"\s+")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")
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
    key = label.strip().strip('"\'').strip().lower()
    key = key.split(None, 1)[0].rstrip(";") if key else key
    if not key.isascii():
        return None  # 8-bit bytes in a label (codecs.lookup would raise on them)
    if key in _ALIASES:
        return _ALIASES[key] or None
    candidates = [key]
    stripped = key
    while stripped.startswith("x-"):
        stripped = stripped[2:]
        candidates.append(stripped)
    for candidate in list(candidates):
        if (match := _CODE_PAGE.fullmatch(candidate)) is not None:
            candidates.append("cp" + match.group(1))
        elif (match := _ISO_8859.fullmatch(candidate)) is not None:
            candidates.append("iso8859-" + match.group(1))
        elif (match := _LATIN.fullmatch(candidate)) is not None:
            candidates.append("latin" + match.group(1))
    for candidate in candidates:
        if candidate in _ALIASES:
            return _ALIASES[candidate] or None
        try:
            info = codecs.lookup(candidate)
        except LookupError:
            continue
        # codecs also knows bytes-to-bytes "encodings" (base64, zlib, rot13): not charsets
        if getattr(info, "_is_text_encoding", True) and info.name not in _NOT_CHARSETS:
            return _ALIASES.get(info.name, info.name) or info.name
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
    # Japanese and Western first: with every candidate, charset-normalizer reads short EUC-JP
    # as cp949. Only when none of those fits calmly is every encoding it knows tried.
    best = charset_normalizer.from_bytes(data, cp_isolation=_DETECT).best()
    if (best is None or best.chaos > _CALM) and len(data) >= _WIDE_MIN_BYTES:
        wide = charset_normalizer.from_bytes(data[:_DETECT_BYTES]).best()
        if wide is not None and not wide.encoding.startswith(("utf_16", "utf_32")):
            best = wide
    if best is not None:
        encoding = codec_for(best.encoding) or best.encoding
        if encoding == "euc":
            return decode_euc(data)
        if encoding == "jis":
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
        if guess.clean and guess.charset not in _SINGLE_BYTE and (
                guess.charset in _JAPANESE_OR_UTF8 or garbled(data.decode("cp1252", "replace"))):
            return guess  # another code page (cp1251...) only when the label's reading is mojibake
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
        payload = _NOT_BASE64.sub("", payload)
        if len(payload) % 4 == 1:
            payload = payload[:-1]  # a lone sextet holds no byte
        try:
            return base64.b64decode(payload + "=" * (-len(payload) % 4))
        except (binascii.Error, ValueError):
            return b""
    data = payload.replace("_", " ").encode("ascii", "surrogateescape")
    return binascii.a2b_qp(data)


def decode_header(value: Optional[str]) -> str:
    """A header value as text: unfolded, RFC 2047 words joined per charset, 8-bit recovered."""
    if not value:
        return ""
    if "=?" in value and "\n" in value:
        # A fold inside an encoded-word belongs to neither the text nor the word.
        value = _EW_FOLDED.sub(lambda m: _FOLD_IN_WORD.sub("", m.group(0)), value)
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


#: UTF-8 read as a Latin code page: a lead byte (Ã, Â, ã, â...) followed by what a continuation
#: byte 0x80-0xBF becomes in cp1252/latin-1.
_MOJIBAKE = re.compile("[\u00c2-\u00ef][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
                       "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030"
                       "\u2039\u203a\u20ac\u2122]")
_SAMPLE = 4000
_LATIN_RANGE = re.compile("[\u0080-\u024f\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026"
                          "\u2030\u2039\u203a\u20ac\u2122]")


def garbled(text: str) -> bool:
    """Whether decoded text reads as mojibake: a few U+FFFD, UTF-8 shown as Latin-1, or text
    that charset-normalizer's mess detector finds chaotic (Cyrillic or Thai read as cp1252...)."""
    if not text or text.isascii():
        return False
    sample = text[:_SAMPLE]
    bad = sample.count("\ufffd")
    if bad >= 3 or bad * 50 >= len(sample.strip()):
        return True
    if len(_MOJIBAKE.findall(sample)) >= 3:
        return True
    # A wrong single-byte reading (Cyrillic, Hebrew, Thai or Shift_JIS shown as cp1252) is made
    # of Latin-1 letters and cp1252 punctuation; only such text goes to the mess detector, which
    # takes Japanese layout (full-width letters, ★■ rules, half-width kana) for noise.
    non_ascii = sum(1 for c in sample if c >= "\x80")
    if len(_LATIN_RANGE.findall(sample)) * 2 < non_ascii:
        return False
    return len(sample) >= 8 and mess_ratio(sample, 0.5) >= 0.5


def strip_nul(text: str) -> str:
    return text.replace("\x00", "") if "\x00" in text else text
