"""Decode text parts as they really come: wrong labels, legacy Vietnamese charsets, NFD.

Order of trust: the declared charset when it decodes cleanly and does not look like mojibake;
then the classic repair of UTF-8 bytes that were labelled (or decoded as) Latin-1 / cp1252;
then detection with charset-normalizer. Whatever happens, the result is NFC text and no
charset, known or not, raises.
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from functools import cache
from pathlib import Path

from charset_normalizer import from_bytes

_DATA = Path(__file__).resolve().parent / "data" / "vn_charmaps.json"

# Labels seen in the wild for the legacy Vietnamese charsets Python lacks.
_LEGACY_ALIASES = {
    "viscii": "viscii",
    "x-viet-viscii": "viscii",
    "csviscii": "viscii",
    "tcvn": "tcvn",
    "tcvn3": "tcvn",
    "tcvn-3": "tcvn",
    "tcvn5712-1": "tcvn",
    "tcvn-5712": "tcvn",
    "x-viet-tcvn5712": "tcvn",
    "x-viet-tcvn": "tcvn",
}
# Labels that mean something Python knows under another name.
_ALIASES = {
    "windows-1258": "cp1258",
    "x-cp1258": "cp1258",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "gb2312": "gb18030",  # a superset: mail labelled gb2312 often carries GBK characters
    "gbk": "gb18030",
    "iso-8859-8-i": "iso-8859-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "",
    "unknown-8bit": "",
    "us-ascii": "ascii",
}
# UTF-8 read as Latin-1/cp1252 leaves these pairs: "Ã©", "Ä‘", "áº¡", "Æ°"...
_MOJIBAKE = re.compile(r"[ÃÄÅÆáºá»Â][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]")


@cache
def _legacy_tables() -> dict[str, str]:
    return json.loads(_DATA.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def python_codec(label: str | None) -> str | None:
    """The Python codec for a MIME charset label, or None when Python has none."""
    if not label:
        return None
    name = label.strip().strip('"').lower()
    name = _ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):  # ValueError: a NUL inside the label
        return None


def decode_legacy_vietnamese(data: bytes, table_name: str) -> str:
    table = _legacy_tables()[table_name]
    return unicodedata.normalize("NFC", "".join(table[b] for b in data))


def looks_like_mojibake(text: str) -> bool:
    return len(_MOJIBAKE.findall(text)) >= 2


def repair_mojibake(text: str) -> str | None:
    """UTF-8 bytes that were decoded as Latin-1 or cp1252: undo it, or None if it isn't that."""
    for codec in ("cp1252", "latin-1"):
        try:
            repaired = text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if not looks_like_mojibake(repaired):
            return repaired
    return None


def detect(data: bytes) -> str:
    """charset-normalizer's best guess; UTF-8 with replacements when it has none."""
    best = from_bytes(data).best()
    if best is not None:
        return str(best)
    return data.decode("utf-8", errors="replace")


def decode_text(data: bytes, declared: str | None) -> str:
    """Bytes of a text part → NFC text, whatever the label says."""
    label = (declared or "").strip().strip('"').lower()
    if label in _LEGACY_ALIASES:
        return decode_legacy_vietnamese(data, _LEGACY_ALIASES[label])
    text = _decode_best(data, python_codec(label))
    return unicodedata.normalize("NFC", text)


def _decode_best(data: bytes, codec: str | None) -> str:
    if data.isascii():
        return data.decode("ascii")
    if codec is not None:
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            text = None
        if text is not None:
            if codec not in ("utf_8", "utf-8") and _is_utf8(data):
                # Declared a single-byte charset, but the bytes are valid UTF-8 with
                # multi-byte sequences: the label is wrong (a common webmail bug).
                return data.decode("utf-8")
            if looks_like_mojibake(text):
                return repair_mojibake(text) or text
            return text
    if _is_utf8(data):
        text = data.decode("utf-8")
        return repair_mojibake(text) if looks_like_mojibake(text) and repair_mojibake(text) else text
    return detect(data)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def fix_header_text(text: str) -> str:
    """Headers decoded by the email package may still be mojibake or NFD."""
    if looks_like_mojibake(text):
        text = repair_mojibake(text) or text
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        # raw 8-bit bytes surrogate-escaped by the parser (RFC 6532 UTF-8 headers)
        raw = text.encode("utf-8", errors="surrogateescape")
        text = _decode_best(raw, None)
    return unicodedata.normalize("NFC", text)
