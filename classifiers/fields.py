"""Reading a message for the classifiers: the words of its subject and new text, folded, with
their offsets, and the cue phrases and place names that start at each word.

Folding maps one character to one character (see classifiers/text.py), so every offset found in
the folded text is an offset in the text as the citizen wrote it: evidence points there.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TypeVar

from classifiers.lexicon import END, Cue, Lexicon, PlaceGroup, Shorthand, TrieNode, TriePayload
from classifiers.result import Evidence
from classifiers.text import first_word, first_words, fold, words_and_bounds, written_form
from ingest.email.quotes import split_reply

MAX_SIGNATURE_LINES = 6  # a signature below a closing line: at most this many lines…
MAX_SIGNATURE_LINE = 120  # …of at most this many characters
# The bounded prefix a classifier reads (issue 12): a subject or a message longer than this is
# classified by its beginning, so no input, however long, costs more than these characters.
# The longest texts of the labeled sets are 84 characters of subject and 1,020 of body, so no
# label depends on what lies past the bounds; a citizen's matter is said at the start.
MAX_SUBJECT_CHARS = 500  # of the subject
MAX_BODY_READ_CHARS = 50_000  # of the body, before the quoted history and signature are cut
MAX_BODY_CHARS = 10_000  # of the new text left after the cut
T = TypeVar("T")


Span = tuple[int, int, T]  # (first token index, index after the last token, what matched)
CueSpan = tuple[int, int, tuple[Cue, ...]]
PlaceSpan = tuple[int, int, PlaceGroup]


@dataclass  # not frozen: built twice per message, and a frozen dataclass of 11 fields costs 4 µs to build
class Field:
    name: str  # "subject" | "body"
    text: str
    folded: str  # fold(text) with addresses blanked: same offsets as text
    words: list[str]
    bounds: list[int]  # word i runs from bounds[2*i] to bounds[2*i + 1] (see words_and_bounds)
    cue_spans: list[tuple[int, int, tuple[Cue, ...]]]  # the longest cue phrase at each token that starts one
    subject_spans: list[tuple[int, int, tuple[Cue, ...]]]  # the same for topic, insurance, neutral and spam cues
    place_spans: list[tuple[int, int, PlaceGroup]]  # the longest place name at each token that starts one
    closing_at: int  # offset of a closing line ("Trân trọng,", "Xin cảm ơn."); len(text) when none
    signature_at: int  # offset where a signature below a closing line starts; len(text) when none

    @cached_property
    def capitalised(self) -> bool:
        """The writer uses capital letters (so a place name written in lower case is a common word)."""
        return any(word[:1].isupper() for word in self.text.split())

    def start_of(self, index: int) -> int:
        """Offset where word `index` starts."""
        return self.bounds[2 * index]

    def end_of(self, index: int) -> int:
        """Offset where word `index` ends."""
        return self.bounds[2 * index + 1]

    def written(self, start: int, end: int) -> str:
        """Words start…end-1 as the text has them."""
        return self.text[self.bounds[2 * start] : self.bounds[2 * end - 1]]


# Addresses are found in linear time (issue 12: the former single pattern,
# `\b[\w-]+(\.[\w-]+)+\.(vn|com…)\b`, backtracked over every dotted run from every label in
# it, and a subject of 20,000 "a." took 70 s). Each whitespace-separated token is looked at
# once: one holding "@" between other characters is an email address, one holding "://"
# (after "http"/"https") or "www." is a link from there to its end, and a run of at least
# three dotted labels ending in a top-level domain is a host name ("mx1.bhxh-cskh.vn").
_TOKEN_RUN = re.compile(r"\S+")
# Possessive and started only at the start of a label, so no character is read twice.
_DOTTED_RUN = re.compile(r"(?<![\w-])[\w-]++(?:\.[\w-]++)++")
_LINK = re.compile(r"https?://|www\.")
TOP_LEVEL_DOMAINS = frozenset({"vn", "com", "net", "org", "gov", "edu", "info"})
# What an address must contain: most texts have none, and skip the scan.
_TOP_LEVEL_DOMAIN = re.compile(r"\.(?:vn|com|net|org|gov|edu|info)\b")


def _host_name_end(run: str) -> int:
    """Length of the host name at the start of a dotted run: up to its last top-level-domain
    label that has at least two labels before it; 0 when there is none."""
    labels = run.split(".")
    for index in range(len(labels) - 1, 1, -1):
        label = labels[index]
        # the top-level domain ends at a word boundary: "bhxh.gov.vn-x" still names bhxh.gov.vn
        head = label.split("-", 1)[0] if "-" in label else label
        if head in TOP_LEVEL_DOMAINS:
            return sum(len(part) + 1 for part in labels[:index]) + len(head)
    return 0


def _link_start(token: str, position: int) -> int:
    """Where a link starts in a token at or after position ("www." alone is not one), or its length."""
    link = _LINK.search(token, position)
    return link.start() if link and link.end() < len(token) else len(token)


def address_spans(folded: str) -> list[tuple[int, int]]:
    """(start, end) of each email address, link and host name in a folded text, in linear time."""
    spans: list[tuple[int, int]] = []
    for token in _TOKEN_RUN.finditer(folded):
        text, start, end = token.group(), token.start(), token.end()
        at = text.find("@", 1)
        if 0 < at < len(text) - 1:
            spans.append((start, end))
            continue
        link_at = _link_start(text, 0)
        reach = 0
        if "." in text:
            for run in _DOTTED_RUN.finditer(text):
                if run.start() >= link_at:
                    break
                length = _host_name_end(run.group())
                if length:  # a host name that starts before the link wins, as the leftmost match
                    spans.append((start + run.start(), start + run.start() + length))
                    reach = run.start() + length
        if link_at < reach:  # the link was inside the host name: the next one after it
            link_at = _link_start(text, reach)
        if link_at < len(text):
            spans.append((start + link_at, end))
    return spans


def _mask_addresses(folded: str) -> str:
    """Blank out email addresses, URLs and host names ("mx1.bhxh-cskh.vn"), keeping offsets.

    Most texts have none: the cheap tests of what an address must contain (in folded, so
    lower-case, text) skip the scan.
    """
    if not ("@" in folded or "://" in folded or "www." in folded or _TOP_LEVEL_DOMAIN.search(folded)):
        return folded
    spans = address_spans(folded)
    if not spans:
        return folded
    parts: list[str] = []
    reach = 0
    for start, end in spans:
        parts.append(folded[reach:start])
        parts.append(" " * (end - start))
        reach = end
    parts.append(folded[reach:])
    return "".join(parts)


def _scan(words: list[str], trie: TrieNode) -> tuple[list[CueSpan], list[CueSpan], list[PlaceSpan]]:
    """One pass over the tokens: at each token, the longest cue phrase (any, and subject cues
    only) and the longest place name starting there."""
    cue_spans: list[CueSpan] = []
    subject_spans: list[CueSpan] = []
    place_spans: list[PlaceSpan] = []
    count = len(words)
    head = trie.get
    for index in range(count):
        node = head(words[index])
        if node is None:
            continue
        cue_hit: CueSpan | None = None
        subject_hit: CueSpan | None = None
        place_hit: PlaceSpan | None = None
        after = index
        while True:
            after += 1
            payload: TriePayload | None = node.get(END)
            if payload is not None:
                cues, subject_cues, places = payload
                if cues:
                    cue_hit = (index, after, cues)
                if subject_cues:
                    subject_hit = (index, after, subject_cues)
                if places:
                    place_hit = (index, after, places)
            if after == count:
                break
            node = node.get(words[after])
            if node is None:
                break
        if cue_hit:
            cue_spans.append(cue_hit)
        if subject_hit:
            subject_spans.append(subject_hit)
        if place_hit:
            place_spans.append(place_hit)
    return cue_spans, subject_spans, place_spans


def longest_only(spans: list[Span[T]]) -> list[Span[T]]:
    """Left to right, each match consumes its words: no match starts inside an earlier one."""
    out = []
    reach = 0
    for span in spans:
        if span[0] >= reach:
            out.append(span)
            reach = span[1]
    return out


def new_text(body: str) -> str:
    """What the author wrote now: quoted history and signature cut off.

    One line has no history or signature below it (split_reply gives it back stripped), so
    most chat messages skip the line-by-line scan.
    """
    if "\n" not in body and "\r" not in body:
        return body.strip()
    written_now, _history = split_reply(body)
    return written_now


def bounded_prefixes(subject: str | None, body: str) -> tuple[str, str]:
    """The subject and the new text (history and signature cut) that a classifier reads: their
    first MAX_SUBJECT_CHARS and MAX_BODY_CHARS characters."""
    return (subject or "")[:MAX_SUBJECT_CHARS], new_text((body or "")[:MAX_BODY_READ_CHARS])[:MAX_BODY_CHARS]


def read_fields(subject: str | None, body: str, lex: Lexicon) -> list[Field]:
    # Classifiers see only what the author wrote now (quoted history and signatures out), and
    # only its bounded prefix.
    subject_read, body_now = bounded_prefixes(subject, body)
    out = []
    for name, raw in (("subject", subject_read), ("body", body_now)):
        text = unicodedata.normalize("NFC", raw)  # offsets in the folded text are offsets in this
        folded = _mask_addresses(fold(text))
        words, bounds = words_and_bounds(folded)
        if not lex.shorthand.keys().isdisjoint(words):
            words, bounds = _expand_shorthand(words, bounds, lex.shorthand)
        cue_spans, subject_spans, place_spans = _scan(words, lex.trie)
        if not text.isascii():
            cue_spans, subject_spans = _as_written_cues(text, bounds, cue_spans), _as_written_cues(text, bounds, subject_spans)
        closing_at, signature_at = _closing(folded, lex) if name == "body" else (len(text), len(text))
        out.append(Field(name, text, folded, words, bounds, cue_spans, subject_spans, place_spans, closing_at, signature_at))
    return out


def _expand_shorthand(words: list[str], bounds: list[int], shorthand: Shorthand) -> tuple[list[str], list[int]]:
    """Chat shorthand read as its words ("ko" → "khong", "ntn" → "nhu the nao"); each word of
    an expansion keeps the offsets of the token it came from, so evidence shows "ko"."""
    expanded_words: list[str] = []
    expanded_bounds: list[int] = []
    for index, word in enumerate(words):
        start, end = bounds[2 * index], bounds[2 * index + 1]
        for part in shorthand.get(word, (word,)):
            expanded_words.append(part)
            expanded_bounds += (start, end)
    return expanded_words, expanded_bounds


def _closing(folded: str, lex: Lexicon) -> tuple[int, int]:
    """(start of the closing line, start of the signature) of a letter, or (len, len).

    The closing is the last line that is only a formula ("Trân trọng,", "Xin cảm ơn.") with at
    most a few short lines below it (name, job, company, address, phone); otherwise the
    formula was a thank-you in the middle of the letter. Without lines below, there is no
    signature.
    """
    lines = folded.split("\n")
    offset = len(folded)
    below = 0
    for line in reversed(lines):
        offset -= len(line)
        if _is_closing(line, lex):
            return offset, (offset + len(line) if below else len(folded))
        if line.strip():
            below += 1
            if below > MAX_SIGNATURE_LINES or len(line) > MAX_SIGNATURE_LINE:
                break
        offset -= 1  # the newline
    return len(folded), len(folded)


def _is_closing(line: str, lex: Lexicon) -> bool:
    """The line is only a closing formula. Its first word, or its length in words, rules most
    lines out before they are read whole."""
    if first_word(line) not in lex.closing_first_words:
        return False
    words = first_words(line, lex.longest_closing + 1)
    return len(words) <= lex.longest_closing and tuple(words) in lex.closings


def evidence_for(field: Field, start: int, end: int, tag: str, weight: float) -> Evidence:
    bounds = field.bounds
    first, last = bounds[2 * start], bounds[2 * end - 1]  # see words_and_bounds
    return Evidence(tag, field.text[first:last], field.name, first, last, weight)  # type: ignore[arg-type]


written_name = lru_cache(maxsize=8192)(written_form)


def _as_written_cues(text: str, bounds: list[int], spans: list[CueSpan]) -> list[CueSpan]:
    """Drop the cues written with tone marks that the words, written with theirs, are not:
    "Quất" is not "quát", "có thẻ" is not "có thể", "hồ sơ BHXH" is not "sổ BHXH". Words
    without tone marks match either way. (Cues with a written form come first in a span.)"""
    out = []
    for start, end, cues in spans:
        if cues[0].written:
            span = text[bounds[2 * start] : bounds[2 * end - 1]]
            if not span.isascii():
                written = written_name(span)
                cues = tuple(cue for cue in cues if not cue.written or cue.written == written)
                if not cues:
                    continue
        out.append((start, end, cues))
    return out


def names_any(words: str, finder: re.Pattern[str]) -> bool:
    return finder.search(words) is not None


def words_just_before(field: Field, start: int, n: int) -> tuple[str, ...]:
    return tuple(field.words[max(0, start - n) : start])
