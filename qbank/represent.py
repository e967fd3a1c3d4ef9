"""How retrieval reads a text: the words that can match an entry, as tokens for the ranking library.

Pure. A message is read as the classifiers read it (classifiers.fields.read_fields: quoted
history cut by the reply splitter, chat shorthand expanded, offsets kept), then:
- the closing and signature are cut (the classifiers' closing line), and a short greeting line;
- abbreviations and English words are read as the Vietnamese words the bank uses (qbank/data/terms.toml);
- each word gives its folded form (no tone marks, đ → d) and, when written with marks, its
  marked form too: a message with marks matches an entry written the same way more strongly
  ('sổ BHXH' over 'số BHXH'), one without marks still matches on the folded form;
- adjacent words give syllable bigrams (Vietnamese words are mostly two syllables).
"""

from __future__ import annotations

import tomllib
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache
from itertools import compress
from operator import and_, not_, or_
from pathlib import Path

from classifiers.fields import Field, read_fields
from classifiers.lexicon import lexicon
from classifiers.text import fold, words_and_bounds

TERMS_FILE = Path(__file__).parent / "data" / "terms.toml"
CONCEPTS_FILE = Path(__file__).parent / "data" / "concepts.toml"
SIGNALS_FILE = Path(__file__).parent / "data" / "signals.toml"
BIGRAM_JOIN = "_"


@dataclass(frozen=True)
class Terms:
    rewrites: dict[tuple[str, ...], tuple[str, ...]]  # folded phrase → the folded words it stands for
    rewrite_starts: frozenset[str]  # the first words of those phrases
    longest_rewrite: int
    folded_stopwords: frozenset[str]
    marked_stopwords: frozenset[str]
    greeting_openers: tuple[tuple[str, ...], ...]
    greeting_max_words: int
    concepts: dict[tuple[str, ...], tuple[str, ...]]  # folded phrase → the folded words it also means
    concept_starts: frozenset[str]
    longest_concept: int


@cache
def terms() -> Terms:
    data = tomllib.loads(TERMS_FILE.read_text(encoding="utf-8"))
    rewrites: dict[tuple[str, ...], tuple[str, ...]] = {}
    for table in ("abbreviations", "english"):
        for phrase, words in data[table].items():
            rewrites[tuple(fold(phrase).split())] = tuple(fold(words).split())
    stop = data["stopwords"]
    concepts = {
        tuple(fold(phrase).split()): tuple(fold(words).split())
        for phrase, words in tomllib.loads(CONCEPTS_FILE.read_text(encoding="utf-8"))["concepts"].items()
    }
    return Terms(
        rewrites=rewrites,
        rewrite_starts=frozenset(key[0] for key in rewrites),
        longest_rewrite=max(len(key) for key in rewrites),
        folded_stopwords=frozenset(fold(w) for w in stop["folded"]),
        marked_stopwords=frozenset(unicodedata.normalize("NFC", w).lower() for w in stop["marked"]),
        greeting_openers=tuple(tuple(fold(p).split()) for p in data["greeting"]["openers"]),
        greeting_max_words=int(data["greeting"]["max_words"]),
        concepts=concepts,
        concept_starts=frozenset(key[0] for key in concepts),
        longest_concept=max((len(key) for key in concepts), default=0),
    )


@dataclass(frozen=True)
class Word:
    folded: str
    marked: str | None  # the word as written, lower case, when it has tone marks or đ
    written: str  # as the citizen wrote it (shown in "matched")


def _is_greeting_line(words: list[Word], line_words: int, t: Terms) -> bool:
    if line_words > t.greeting_max_words:
        return False
    folded = tuple(w.folded for w in words[:line_words])
    return any(folded[: len(opener)] == opener for opener in t.greeting_openers)


def _rewrite(words: list[Word], t: Terms) -> list[Word]:
    """Abbreviations and English phrases read as their Vietnamese words (longest phrase first)."""
    if t.rewrite_starts.isdisjoint(w.folded for w in words):
        return words
    out: list[Word] = []
    index = 0
    while index < len(words):
        if words[index].folded not in t.rewrite_starts:
            out.append(words[index])
            index += 1
            continue
        for size in range(min(t.longest_rewrite, len(words) - index), 0, -1):
            key = tuple(w.folded for w in words[index : index + size])
            replacement = t.rewrites.get(key)
            if replacement is not None:
                written = " ".join(w.written for w in words[index : index + size])
                out.extend(Word(part, None, written) for part in replacement)
                index += size
                break
        else:
            out.append(words[index])
            index += 1
    return out


# Put between a message's words and the concept words added after them: no bigram spans it.
BREAK = Word("", None, "")


def _concepts(words: list[Word], t: Terms) -> list[Word]:
    """The insurance terms the message's everyday phrases stand for (qbank/data/concepts.toml),
    each term once, each preceded by BREAK; empty when none."""
    added: list[Word] = []
    seen: set[tuple[str, ...]] = set()
    for index, word in enumerate(words):
        if word.folded not in t.concept_starts:
            continue
        for size in range(min(t.longest_concept, len(words) - index), 0, -1):
            phrase = words[index : index + size]
            term = t.concepts.get(tuple(w.folded for w in phrase))
            if term is not None:
                if term not in seen:
                    seen.add(term)
                    written = " ".join(w.written for w in phrase)
                    added += [BREAK, *(Word(part, None, written) for part in term)]
                break
    return added


def read_words(subject: str | None, body: str) -> list[Word]:
    """The words of a message that can match an entry, in order (greeting, closing, signature,
    quoted history left out; shorthand, abbreviations and English read as their words)."""
    t = terms()
    out: list[Word] = []
    for field in read_fields(subject, body or "", lexicon()):
        end = field.closing_at if field.name == "body" else len(field.text)
        words: list[Word] = []
        first_line_words = 0
        first_line_end = field.text.find("\n") if "\n" in field.text else len(field.text)
        for index, folded in enumerate(field.words):
            start, stop = field.start_of(index), field.end_of(index)
            if start >= end:
                break
            written = field.text[start:stop]
            lowered = written.lower()
            # Shorthand keys are ASCII, so a word written with marks is never an expansion.
            marked = None if lowered.isascii() else lowered
            words.append(Word(folded, marked, written))
            if stop <= first_line_end:
                first_line_words += 1
        if field.name == "body" and first_line_end < len(field.text) and _is_greeting_line(words, first_line_words, t):
            words = words[first_line_words:]
        out.extend(_rewrite(words, t))
    return out + _concepts(out, t)


def is_stopword(word: Word) -> bool:
    return _is_stop(word, terms())


def read_bank_words(text: str) -> list[Word]:
    """The words of a bank entry's text (written by the agency: no history, greeting or
    signature to cut, so the message reader's scans are skipped), read like a message's."""
    text = unicodedata.normalize("NFC", text)
    folded_words, bounds = words_and_bounds(fold(text))
    shorthand = lexicon().shorthand
    words: list[Word] = []
    for index, folded in enumerate(folded_words):
        written = text[bounds[2 * index] : bounds[2 * index + 1]]
        expansion = shorthand.get(folded)
        if expansion is not None:
            words.extend(Word(part, None, written) for part in expansion)
            continue
        lowered = written.lower()
        words.append(Word(folded, None if lowered.isascii() else lowered, written))
    return _rewrite(words, terms())


# The bank's entries are read by the same rules as above, but as parallel lists of folded and
# marked forms (None: no marks) instead of a Word per word: building the index of 2,000 entries
# read ~460,000 words, and making an object for each was most of the time (docs/qbank.md,
# "Speed"). tests/qbank/test_bank_reading.py checks both readers give the same tokens.
Forms = tuple[list[str], list[str | None]]


def _marked_forms(written: list[str]) -> list[str | None]:
    return [None if lowered.isascii() else lowered for lowered in (w.lower() for w in written)]


def _marked_words(text: str, bounds: list[int], count: int) -> list[str | None]:
    """_marked_forms of the first `count` words of the text (word i from bounds[2i] to
    bounds[2i + 1]): sliced from the text lowered once, in C, when lowering keeps every offset
    (the capital sigma, whose lower case depends on the next letter, is lowered word by word)."""
    lowered = text.lower()
    if len(lowered) != len(text) or "Σ" in text:
        return _marked_forms([text[bounds[2 * i] : bounds[2 * i + 1]] for i in range(count)])
    words = map(lowered.__getitem__, map(slice, bounds[0 : 2 * count : 2], bounds[1 : 2 * count : 2]))
    return [None if word.isascii() else word for word in words]


def _rewrite_forms(folded: list[str], marked: list[str | None], t: Terms) -> Forms:
    """_rewrite on forms."""
    starts = t.rewrite_starts
    if starts.isdisjoint(folded):
        return folded, marked
    out_folded: list[str] = []
    out_marked: list[str | None] = []
    count = len(folded)
    reach = 0
    for index in [i for i, word in enumerate(folded) if word in starts]:
        if index < reach:
            continue
        for size in range(min(t.longest_rewrite, count - index), 0, -1):
            replacement = t.rewrites.get(tuple(folded[index : index + size]))
            if replacement is not None:
                out_folded += folded[reach:index]
                out_marked += marked[reach:index]
                out_folded += replacement
                out_marked += [None] * len(replacement)
                reach = index + size
                break
    out_folded += folded[reach:]
    out_marked += marked[reach:]
    return out_folded, out_marked


def _concept_forms(folded: list[str], t: Terms) -> list[str]:
    """_concepts on folded forms: "" (BREAK) before each term's words."""
    added: list[str] = []
    seen: set[tuple[str, ...]] = set()
    count = len(folded)
    for index in [i for i, word in enumerate(folded) if word in t.concept_starts]:
        for size in range(min(t.longest_concept, count - index), 0, -1):
            term = t.concepts.get(tuple(folded[index : index + size]))
            if term is not None:
                if term not in seen:
                    seen.add(term)
                    added += ["", *term]
                break
    return added


@cache
def _folded_stop_or_break() -> frozenset[str]:
    return terms().folded_stopwords | {BREAK.folded}


def _tokens_of_forms(folded: list[str], marked: list[str | None], t: Terms) -> list[str]:
    """The tokens tokens_of gives for the same words, grouped by kind instead of word by word
    (the ranking counts tokens; their order changes nothing)."""
    # Every step is a map or compress over the whole list (run in C: the bank's answers are
    # most of a cold build's words), none a Python loop per word.
    folded_stop, marked_stop = _folded_stop_or_break(), t.marked_stopwords
    keep = list(map(not_, map(or_, map(folded_stop.__contains__, folded), map(marked_stop.__contains__, marked))))
    both = list(map(and_, keep, keep[1:]))  # words i and i + 1 are both kept: a bigram
    out = list(compress(folded, keep))
    out += filter(None, compress(marked, keep))
    out += map(BIGRAM_JOIN.join, compress(zip(folded, folded[1:]), both))
    forms = [m or f for f, m in zip(folded, marked, strict=True)]
    has_marks = list(map(bool, marked))  # None: no marks; a marked form is never empty
    marked_bigram = map(and_, both, map(or_, has_marks, has_marks[1:]))  # both kept, one with marks
    out += map(BIGRAM_JOIN.join, compress(zip(forms, forms[1:]), marked_bigram))
    return out


def question_tokens(text: str) -> list[str]:
    """tokens_of(read_words(None, text)) as a multiset: an entry's question and phrasings read
    as a message (greeting line, closing and signature cut, concepts added)."""
    return question_tokens_of_fields(read_fields(None, text, lexicon()))


def question_tokens_of_fields(fields: list[Field]) -> list[str]:
    """question_tokens of the text these fields were read from (read_fields(None, text, ...)):
    the caller reads them once for this and for the classifier's topics."""
    t = terms()
    folded_out: list[str] = []
    marked_out: list[str | None] = []
    for field in fields:
        end = field.closing_at if field.name == "body" else len(field.text)
        bounds = field.bounds
        count = bisect_left(bounds[0::2], end)  # the words starting before the closing
        folded = field.words[:count]
        marked = _marked_words(field.text, bounds, count)
        first_line_end = field.text.find("\n") if "\n" in field.text else len(field.text)
        if field.name == "body" and first_line_end < len(field.text):
            line_words = sum(1 for i in range(count) if bounds[2 * i + 1] <= first_line_end)
            line = tuple(folded[:line_words])
            if line_words <= t.greeting_max_words and any(line[: len(opener)] == opener for opener in t.greeting_openers):
                folded, marked = folded[line_words:], marked[line_words:]
        folded, marked = _rewrite_forms(folded, marked, t)
        folded_out += folded
        marked_out += marked
    concept_words = _concept_forms(folded_out, t)
    return _tokens_of_forms(folded_out + concept_words, marked_out + [None] * len(concept_words), t)


def answer_tokens(text: str) -> list[str]:
    """tokens_of(read_bank_words(text)) as a multiset."""
    text = unicodedata.normalize("NFC", text)
    folded, bounds = words_and_bounds(fold(text))
    marked = _marked_words(text, bounds, len(folded))
    shorthand = lexicon().shorthand
    if not shorthand.keys().isdisjoint(folded):
        expanded_folded: list[str] = []
        expanded_marked: list[str | None] = []
        for word, form in zip(folded, marked, strict=True):
            expansion = shorthand.get(word)
            if expansion is None:
                expanded_folded.append(word)
                expanded_marked.append(form)
            else:
                expanded_folded += expansion
                expanded_marked += [None] * len(expansion)
        folded, marked = expanded_folded, expanded_marked
    t = terms()
    return _tokens_of_forms(*_rewrite_forms(folded, marked, t), t)


def _is_stop(word: Word, t: Terms) -> bool:
    return word is BREAK or word.folded in t.folded_stopwords or (word.marked is not None and word.marked in t.marked_stopwords)


def tokens_of(words: list[Word]) -> list[str]:
    """Tokens for the ranking library: folded and marked unigrams, folded and marked bigrams.

    Marked tokens contain a non-ASCII letter, so they never collide with folded ones."""
    t = terms()
    kept = [None if _is_stop(w, t) else w for w in words]
    out: list[str] = []
    previous: Word | None = None
    for word in kept:
        if word is None:
            previous = None
            continue
        out.append(word.folded)
        if word.marked:
            out.append(word.marked)
        if previous is not None:
            out.append(previous.folded + BIGRAM_JOIN + word.folded)
            if previous.marked or word.marked:
                out.append((previous.marked or previous.folded) + BIGRAM_JOIN + (word.marked or word.folded))
        previous = word
    return out


def match_keys(word: Word) -> tuple[str, ...]:
    """The unigram tokens a word contributes (to say which words matched)."""
    return (word.folded, word.marked) if word.marked else (word.folded,)


@dataclass(frozen=True)
class Phrases:
    """Folded phrases, looked up by their first word."""

    by_first_word: dict[str, tuple[tuple[str, ...], ...]]


@cache
def signal_phrases() -> dict[str, Phrases]:
    """qbank/data/signals.toml: each list's name → its folded phrases."""
    data = tomllib.loads(SIGNALS_FILE.read_text(encoding="utf-8"))
    out: dict[str, Phrases] = {}
    for name, phrases in data.items():
        grouped: dict[str, list[tuple[str, ...]]] = {}
        for phrase in phrases:
            words = tuple(fold(phrase).split())
            grouped.setdefault(words[0], []).append(words)
        out[name] = Phrases({first: tuple(group) for first, group in grouped.items()})
    return out


def has_phrase(words: list[Word], phrases: Phrases) -> bool:
    """Whether the words (as read, concept words after BREAK included) hold one of the phrases."""
    folded = [w.folded for w in words if w is not BREAK]
    for index, word in enumerate(folded):
        for phrase in phrases.by_first_word.get(word, ()):
            if tuple(folded[index : index + len(phrase)]) == phrase:
                return True
    return False
