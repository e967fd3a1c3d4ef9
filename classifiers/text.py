"""Vietnamese text folding for matching: lower case, no tone marks, đ → d, same length.

Folding maps each character to exactly one character, so an offset in the folded text is the
same offset in the original: evidence points at the words as the citizen wrote them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

_TOKEN = re.compile(r"[a-z0-9]+")


@cache
def _fold_char(char: str) -> str:
    if char in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", char)[0].lower()
    return base if len(base) == 1 else char.lower()


# Latin letters with diacritics live below U+1F00 (Vietnamese: Latin-1, Latin Extended-A/B,
# Latin Extended Additional); one translate() call folds them all.
_TABLE = {code: _fold_char(chr(code)) for code in range(0x80, 0x1F00) if _fold_char(chr(code)) != chr(code)}


def fold(text: str) -> str:
    """'Bình Dương' → 'binh duong' (one output character per input character)."""
    text = unicodedata.normalize("NFC", text).lower()
    if text.isascii():
        return text
    return text.translate(_TABLE)


def tokens(folded: str) -> list[tuple[str, int, int]]:
    """Word tokens of folded text with their offsets."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(folded)]


def words_of(folded: str) -> list[str]:
    """The word tokens of folded text, without offsets."""
    return _TOKEN.findall(folded)


def token_spans(folded: str) -> list[tuple[int, int]]:
    """(start, end) of each word token of folded text, in the order of words_of."""
    return [match.span() for match in _TOKEN.finditer(folded)]


# Two ways to place the tone mark on "oa", "oe", "uy": "Hòa"/"Hoà", "Thủy"/"Thuỷ". Written
# forms are compared in one of them (the mark on the second vowel).
_OLD_TO_NEW = {
    "òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ",
    "òe": "oè", "óe": "oé", "ỏe": "oẻ", "õe": "oẽ", "ọe": "oẹ",
    "ùy": "uỳ", "úy": "uý", "ủy": "uỷ", "ũy": "uỹ", "ụy": "uỵ",
}  # fmt: skip
_OLD_TONES = re.compile("|".join(_OLD_TO_NEW))


def one_tone_style(text: str) -> str:
    """'hòa' → 'hoà', 'thủy' → 'thuỷ' (lower-case NFC text): one spelling for comparisons."""
    return _OLD_TONES.sub(lambda m: _OLD_TO_NEW[m.group()], text)
