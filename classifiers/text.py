"""Vietnamese text folding for matching: lower case, no tone marks, đ → d, same length.

Folding maps each character to exactly one character, so an offset in the folded text is the
same offset in the original: evidence points at the words as the citizen wrote them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from itertools import accumulate, islice

_TOKEN = re.compile(r"[a-z0-9]+")


from tickets.textfold import _fold_char, fold  # noqa: E402,F401  (the core's folding, shared)


def words_of(folded: str) -> list[str]:
    """The word tokens of folded text, without offsets."""
    return _TOKEN.findall(folded)


def first_word(folded: str) -> str:
    """The first word token of folded text ("" when none)."""
    match = _TOKEN.search(folded)
    return match.group() if match else ""


def first_words(folded: str, limit: int) -> list[str]:
    """At most the first `limit` word tokens of folded text."""
    return [match.group() for match in islice(_TOKEN.finditer(folded), limit)]


def spaced(words: Sequence[str]) -> str:
    """'a b c' → ' a b c ': a phrase is then found as ' a b ', never inside a word."""
    return f" {' '.join(words)} "


NOTHING = re.compile("(?!)")  # a pattern that finds nothing


def phrase_finder(phrases: Iterable[Sequence[str]]) -> re.Pattern[str]:
    """Finds any of the phrases (each a sequence of folded words), as whole words, in spaced() text."""
    alternatives = sorted(re.escape(spaced(phrase)) for phrase in phrases)
    return re.compile("|".join(alternatives)) if alternatives else NOTHING


_TOKEN_SPLIT = re.compile(r"([a-z0-9]+)")


def words_and_bounds(folded: str) -> tuple[list[str], list[int]]:
    """The word tokens of folded text, and their offsets: word i runs from bounds[2*i] to
    bounds[2*i + 1].

    One split keeps the words and the text between them; the running sum of their lengths
    gives every offset (both in C, twice as fast as asking each match for its span).
    """
    parts = _TOKEN_SPLIT.split(folded)  # [between, word, between, word, …, between]
    return parts[1::2], list(accumulate(map(len, parts)))


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


def written_form(text: str) -> str:
    """'Thanh  Hoá' → 'thanh hoá': lower case, one tone style, words joined by one space (a
    comparison that keeps tone marks)."""
    return " ".join(re.findall(r"\w+", one_tone_style(unicodedata.normalize("NFC", text).lower())))
