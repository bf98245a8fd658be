"""ISO-2022-JP and EUC-JP the way Japanese mailers really write them (CP50220 / eucJP-ms).

Python has no CP50220 codec: ISO-2022-JP carrying NEC row 13 (①, ㈱, Ⅱ) or NEC-selected IBM
rows (髙, 﨑) inside ``ESC $ B`` fails with every ``iso2022_jp*`` codec, and half-width katakana
(``ESC ( I``) decodes only with ``iso2022_jp_ext``. The JIS bytes are therefore converted to
Shift_JIS arithmetically and decoded as cp932, which holds all of those; EUC-JP with NEC rows
goes through the same arithmetic. Rows 0x75-0x7E where cp932 has no character (au's emoji in
mail, user-defined characters) become private-use characters instead of U+FFFD plus a stray kana.
`encode_jis` is the reverse, for outbound mail.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Optional

_JIS_ESC = re.compile(rb"(\x1b\$[@B]|\x1b&@\x1b\$B|\x1b\$\([@BDOPQ]|\x1b\([BJIH]|\x0e|\x0f)")


def _jis_pair_to_sjis(j1: int, j2: int) -> bytes:
    s1 = ((j1 - 0x21) >> 1) + 0x81
    if s1 > 0x9F:
        s1 += 0x40
    if j1 & 1:
        s2 = j2 + (0x1F if j2 <= 0x5F else 0x20)
    else:
        s2 = j2 + 0x7E
    return bytes((s1, s2))


def _jis_to_sjis(data: bytes) -> Optional[bytes]:
    """ISO-2022-JP (with CP50220 extension rows and JIS X 0201 kana) as Shift_JIS bytes.

    Returns None when the data uses a set cp932 cannot hold (JIS X 0212 / 0213).
    """
    out = bytearray()
    mode = "ascii"
    saved = "ascii"
    for chunk in _JIS_ESC.split(data):
        if not chunk:
            continue
        if chunk[0] in (0x1B, 0x0E, 0x0F) and _JIS_ESC.fullmatch(chunk):
            if chunk == b"\x0e":
                saved, mode = mode, "kana"
            elif chunk == b"\x0f":
                mode = saved
            elif chunk.endswith((b"$@", b"$B")):
                mode = "kanji"
            elif chunk == b"\x1b(I":
                mode = "kana"
            elif chunk.startswith(b"\x1b$("):
                return None
            else:
                mode = "ascii"
            continue
        if b"\x1b" in chunk:
            return None  # ISO-2022-JP-2 designations (ESC $ A, ESC . A...): not for cp932
        if mode == "ascii":
            out += chunk
        elif mode == "kana":
            out += bytes(b + 0x80 if 0x21 <= b <= 0x5F else b for b in chunk)
        else:
            i, n = 0, len(chunk)
            while i < n:
                b = chunk[i]
                if b < 0x21 or b > 0x7E or i + 1 >= n or not 0x21 <= chunk[i + 1] <= 0x7E:
                    # Sloppy mailers end lines without ESC ( B; a stray byte becomes U+FFFD later.
                    out.append(b if b < 0x80 else 0x3F)
                    i += 1
                    continue
                out += _user_rows(_jis_pair_to_sjis(b, chunk[i + 1]))
                i += 2
    return bytes(out)


_cp932_defined: set[bytes] = set()


def _user_rows(pair: bytes) -> bytes:
    """JIS rows 0x75-0x7E (Shift_JIS lead bytes EB-EF) where cp932 has no character: the
    carriers' emoji (au mail writes them at 0x7521-0x7B7E) and user-defined characters. They go to
    the private-use area the way eucJP-ms / ISO-2022-JP-MS do (U+E000-U+E3AB, by moving the
    lead byte to cp932's user-defined F0-F4), so they are one PUA character each instead of
    U+FFFD plus a stray half-width kana. NEC-selected IBM characters in rows 0x79-0x7C (髙, ⅱ)
    keep their cp932 meaning."""
    if pair[0] < 0xEB or pair[0] > 0xEF:
        return pair
    if not _cp932_defined:
        for s1 in (0xED, 0xEE):
            for s2 in range(0x40, 0xFD):
                try:
                    bytes((s1, s2)).decode("cp932")
                except UnicodeDecodeError:
                    continue
                _cp932_defined.add(bytes((s1, s2)))
    return pair if pair in _cp932_defined else bytes((pair[0] + 5, pair[1]))


def decode_jis(data: bytes) -> tuple[str, bool]:
    """ISO-2022-JP as sent by iPhone, Outlook and Windows mailers (CP50220 semantics):
    (text, clean), clean False when bytes had to become U+FFFD."""
    try:
        return data.decode("iso2022_jp"), True
    except UnicodeDecodeError:
        pass
    sjis = _jis_to_sjis(data)
    if sjis is not None:
        try:
            return sjis.decode("cp932"), True
        except UnicodeDecodeError:
            pass
    for codec in ("iso2022_jp_2004", "iso2022_jp_2", "iso2022_jp_ext"):
        try:
            return data.decode(codec), True
        except UnicodeDecodeError:
            continue
    if sjis is not None:
        return sjis.decode("cp932", "replace"), False
    return data.decode("iso2022_jp_2004", "replace"), False


def decode_euc(data: bytes) -> tuple[str, bool]:
    """EUC-JP, including eucJP-ms / CP51932 NEC rows that Python's euc_jp rejects."""
    try:
        return data.decode("euc_jp"), True
    except UnicodeDecodeError:
        pass
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            out.append(b)
            i += 1
        elif b == 0x8E and i + 1 < n:  # half-width katakana
            out.append(data[i + 1])
            i += 2
        elif 0xA1 <= b <= 0xFE and i + 1 < n and data[i + 1] >= 0xA1:
            out += _user_rows(_jis_pair_to_sjis(b - 0x80, data[i + 1] - 0x80))
            i += 2
        else:  # 0x8F (JIS X 0212) or garbage: cannot be cp932
            out.append(0x3F)
            i += 3 if b == 0x8F else 1
    try:
        return bytes(out).decode("cp932"), True
    except UnicodeDecodeError:
        return data.decode("euc_jis_2004", "replace"), False


_HALF_KANA = re.compile("[\uff61-\uff9f]+")
_jis_table: dict[str, bytes] = {}


def _table() -> dict[str, bytes]:
    """char -> its two JIS bytes, standard rows first, then NEC row 13 and NEC-selected IBM rows."""
    if not _jis_table:
        for s1 in list(range(0x81, 0xA0)) + list(range(0xE0, 0xF0)):
            for s2 in range(0x40, 0xFD):
                if s2 == 0x7F:
                    continue
                try:
                    char = bytes((s1, s2)).decode("cp932")
                except UnicodeDecodeError:
                    continue
                if len(char) != 1 or char in _jis_table or "\ue000" <= char <= "\uf8ff":
                    continue
                j1 = ((s1 - 0x40 if s1 >= 0xE0 else s1) - 0x81) * 2 + 0x21
                if s2 >= 0x9F:
                    j1, j2 = j1 + 1, s2 - 0x7E
                else:
                    j2 = s2 - 0x1F if s2 < 0x7F else s2 - 0x20
                _jis_table[char] = bytes((j1, j2))
    return _jis_table


def encode_jis(text: str) -> Optional[bytes]:
    """Text as ISO-2022-JP the way Windows mailers write it (CP50220: NEC/IBM rows in ESC $ B,
    half-width katakana widened); None if a character has no JIS code (emoji, 𠮷...)."""
    text = _HALF_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    table = _table()
    out = bytearray()
    kanji = False
    for char in text:
        code = ord(char)
        if code < 0x80:
            if code == 0x1B:
                continue
            if kanji:
                out += b"\x1b(B"
                kanji = False
            out.append(code)
            continue
        pair = table.get(char)
        if pair is None:
            return None
        if not kanji:
            out += b"\x1b$B"
            kanji = True
        out += pair
    if kanji:
        out += b"\x1b(B"
    return bytes(out)
