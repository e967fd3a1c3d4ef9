"""Suggestions from the question bank: BM25 (bm25s) over the tokens of qbank.represent, with the
classifier's insurance type and topics as a prior. Pure given a loaded index.

Entries are ranked by their BM25 score divided by the score the query would give an entry made
of its own tokens (a share of what the message could match at best), with the prior. Whether to
suggest anything is decided by the calibrated confidence of qbank.confidence, over features of
that ranking; the best entry's score is that confidence (see docs/qbank.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Literal

import bm25s
import numpy as np

from classifiers.category import spam_score
from classifiers.classify import SPAM_THRESHOLD, classify
from classifiers.fields import Field, read_fields
from classifiers.insurance import longest_cues, tag_insurance
from classifiers.lexicon import lexicon
from qbank.confidence import Calibrator, query_features, shipped_calibrator
from qbank.entry import BankEntry
from qbank.represent import BIGRAM_JOIN, Word, answer_tokens, has_phrase, is_stopword, match_keys, question_tokens_of_fields, read_words, signal_phrases, tokens_of

# The prior: an entry of an insurance type the message names, or of a topic the classifier
# found in both, is scored higher; an entry of another insurance type lower.
INSURANCE_MATCH = 1.5
INSURANCE_MISMATCH = 0.7
# Measured (docs/qbank.md): without it (1.0) ranking alone is a little better on dev (hit@1 0.69
# vs 0.67), but the calibrated confidence separates worse (cross-validated hit@3 at the
# threshold 0.72 vs 0.76), so it stays.
TOPIC_MATCH = 1.5
# A message in which the classifier finds no insurance type and no topic is less likely to be
# one the bank answers (a complaint about staff, another kind of insurance, tax).
UNTAGGED = 0.6
# A complaint (something went wrong with one's own file) or a message that asks nothing is less
# often answered by a general entry than a question.
CATEGORY_PRIOR = {"question": 1.0, "complaint": 0.6, "other": 0.6}
# The answer's words count, less than the question's.
ANSWER_WEIGHT = 0.5
MAX_SUGGESTIONS = 3
# Below this confidence no suggestion is shown (fitted on the dev queries with the calibrator).
DEFAULT_THRESHOLD = shipped_calibrator().threshold


@dataclass(frozen=True)
class Suggestion:
    entry_id: str
    score: float
    matched: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"id": self.entry_id, "score": round(self.score, 4), "matched": list(self.matched)}


@dataclass(frozen=True)
class IndexedEntry:
    entry: BankEntry
    # The distinct tokens of the question, phrasings and answer, space-separated (tokens hold no
    # space): one string per entry keeps the cached index small and quick to read back; the set
    # is made only for the few entries suggested (to say which words matched).
    token_text: str
    topics: frozenset[str]

    @property
    def tokens(self) -> frozenset[str]:
        return frozenset(self.token_text.split(" "))


@dataclass
class Ranker:
    """BM25 over one field of every entry, and each token's document frequency."""

    bm25: bm25s.BM25
    document_frequency: dict[str, int]
    size: int

    @classmethod
    def of(cls, corpus: list[list[str]]) -> Ranker:
        documents = [tokens or [""] for tokens in corpus]  # "": bm25s's token of an empty entry
        # bm25s is given token ids and their vocabulary (its documented (ids, vocab) input)
        # rather than strings: its own vocabulary and id conversion are Python loops over every
        # token (830,000 answer tokens for 2,000 entries); here one pass in C gives each token
        # its id, the next free one when it is new (a defaultdict counting). The ids only name
        # the matrix's columns: the scores are the same.
        numbering: defaultdict[str, int] = defaultdict(count().__next__)
        ids = [list(map(numbering.__getitem__, tokens)) for tokens in documents]
        vocab = dict(numbering)  # bm25s looks query tokens up in it: no more insertions
        bm25 = bm25s.BM25()
        bm25.index((ids, vocab), show_progress=False)
        # A token's document frequency is the number of entries in its column of bm25s's
        # sparse matrix (one per entry holding it); "" (bm25s's token of an empty entry) is none.
        per_column = np.diff(bm25.scores["indptr"])
        df = {token: int(per_column[i]) for token, i in bm25.vocab_dict.items() if i < len(per_column) and per_column[i] and token}
        return cls(bm25, df, len(corpus))

    def scores(self, query: list[str]) -> np.ndarray:
        """Each entry's BM25 score as a share of the best the query allows (see _best_possible)."""
        ids = self.bm25.get_tokens_ids(query)
        best = self._best_possible(query)
        if not ids or best <= 0:
            return np.zeros(self.size)
        return self.bm25.get_scores_from_ids(ids).astype(float) / best

    def idf(self, token: str) -> float:
        n = self.document_frequency.get(token, 0)
        return float(np.log(1 + (self.size - n + 0.5) / (n + 0.5)))

    def _best_possible(self, query: list[str]) -> float:
        """The score of an entry of average length holding each known query token once: the sum of
        the tokens' idf (Lucene's, bm25s's default), which makes scores comparable across queries."""
        return sum(self.idf(token) for token in query if token in self.document_frequency)


@dataclass
class BankIndex:
    entries: list[IndexedEntry]
    questions: Ranker  # canonical question and alternative phrasings
    answers: Ranker
    known_tokens: frozenset[str] = field(init=False)

    insurance_types: np.ndarray = field(init=False)  # each entry's type ("" for none)
    topic_positions: dict[str, np.ndarray] = field(init=False)  # a classifier topic → the entries that have it

    def __post_init__(self) -> None:
        self.known_tokens = frozenset(self.questions.document_frequency) | frozenset(self.answers.document_frequency)
        self.insurance_types = np.array([item.entry.insurance_type or "" for item in self.entries], dtype=object)
        positions: dict[str, list[int]] = {}
        for position, item in enumerate(self.entries):
            for topic in item.topics:
                positions.setdefault(topic, []).append(position)
        self.topic_positions = {topic: np.array(p, dtype=int) for topic, p in positions.items()}

    def prior(self, insurance_types: set[str], topics: set[str]) -> np.ndarray:
        """Each entry's prior factor for a message with these classifier tags (vectorised: one
        ticket against thousands of entries)."""
        factor = np.ones(len(self.entries))
        if insurance_types:
            typed = self.insurance_types != ""
            named = np.isin(self.insurance_types, list(insurance_types))
            factor[typed & named] *= INSURANCE_MATCH
            factor[typed & ~named] *= INSURANCE_MISMATCH
        if topics:
            shared = np.zeros(len(self.entries), dtype=bool)
            for topic in topics:
                if topic in self.topic_positions:
                    shared[self.topic_positions[topic]] = True
            factor[shared] *= TOPIC_MATCH
        return factor


def entry_text(entry: BankEntry) -> str:
    return "\n".join((entry.question, *entry.alternatives))


@dataclass(frozen=True)
class EntryReading:
    """What the index keeps of one entry's text: its tokens (space-separated, tokens hold no
    space) and the classifier's topics. Depends only on the entry's question, phrasings and
    answer, and on the reading rules (qbank.index_cache keeps them per entry)."""

    question_tokens: str
    answer_tokens: str
    topics: tuple[str, ...]


def topics_of_fields(fields: list[Field]) -> tuple[str, ...]:
    """classify(None, text).topics of the text these fields were read from: the topics of
    classifiers.classify_raw, none when its selling-phrase rule calls the text spam (the only
    rule there that changes topics; tests/qbank/test_bank_reading.py compares both on every
    entry and query). The entry's fields are read once for its tokens and its topics."""
    lex = lexicon()
    longest = longest_cues(fields)
    _types, topics, _confidence = tag_insurance(fields, lex, [], longest)
    return () if spam_score(fields, longest, []) >= SPAM_THRESHOLD else tuple(topics)


@dataclass(frozen=True)
class EntryTokens:
    """An entry's reading as lists (what the index is built from; EntryReading is its stored form)."""

    question: list[str]
    answer: list[str]
    topics: tuple[str, ...]

    def reading(self) -> EntryReading:
        return EntryReading(" ".join(self.question), " ".join(self.answer), self.topics)


def entry_tokens(entry: BankEntry) -> EntryTokens:
    fields = read_fields(None, entry_text(entry), lexicon())
    return EntryTokens(question_tokens_of_fields(fields), answer_tokens(entry.answer), topics_of_fields(fields))


def read_entry(entry: BankEntry) -> EntryReading:
    return entry_tokens(entry).reading()


def _split(tokens: str) -> list[str]:
    return tokens.split(" ") if tokens else []


def tokens_of_reading(reading: EntryReading) -> EntryTokens:
    return EntryTokens(_split(reading.question_tokens), _split(reading.answer_tokens), reading.topics)


def index_of_tokens(entries: Sequence[BankEntry], read: Sequence[EntryTokens]) -> BankIndex:
    """The index of the entries, each read as `read` says (same order)."""
    indexed = [
        IndexedEntry(entry, " ".join(set(r.question).union(r.answer)), frozenset(r.topics)) for entry, r in zip(entries, read, strict=True)
    ]
    return BankIndex(indexed, Ranker.of([r.question for r in read]), Ranker.of([r.answer for r in read]))


def index_of(entries: Sequence[BankEntry], readings: Sequence[EntryReading]) -> BankIndex:
    """The index of the entries, each read as the stored `readings` say (same order)."""
    return index_of_tokens(entries, [tokens_of_reading(r) for r in readings])


def build_index(entries: Sequence[BankEntry]) -> BankIndex:
    """Index the entries given (callers choose which statuses to pass)."""
    return index_of_tokens(entries, [entry_tokens(entry) for entry in entries])


def _matched_words(words: list[Word], tokens: frozenset[str]) -> tuple[str, ...]:
    seen: list[str] = []
    for word in words:
        if not is_stopword(word) and any(key in tokens for key in match_keys(word)) and word.written not in seen:
            seen.append(word.written)
    return tuple(seen)


@dataclass(frozen=True)
class Ranking:
    """One message against every entry: the words read, its tokens, each entry's score."""

    words: list[Word]
    query: list[str]
    scores: np.ndarray
    order: list[int]  # the best positions, best first, at most `limit`, none scoring 0
    is_question: bool
    is_tagged: bool


def rank(
    index: BankIndex,
    subject: str | None,
    body: str,
    *,
    insurance_types: Sequence[str] | None = None,
    topics: Sequence[str] | None = None,
    category: str | None = None,
    limit: int = MAX_SUGGESTIONS,
) -> Ranking | None:
    """BM25 shares with the prior, or None when the message has no word to match."""
    if not index.entries:
        return None
    words = read_words(subject, body)
    query = tokens_of(words)
    if not query:
        return None
    if insurance_types is None or topics is None or category is None:
        tags = classify(subject, body)
        insurance_types = tags.insurance_types if insurance_types is None else insurance_types
        topics = tags.topics if topics is None else topics
        category = tags.category if category is None else category
    scores = index.questions.scores(query) + ANSWER_WEIGHT * index.answers.scores(query)
    query_insurance, query_topics = set(insurance_types), set(topics)
    scores = scores * index.prior(query_insurance, query_topics)
    tagged = bool(query_insurance or query_topics)
    if not tagged:
        scores *= UNTAGGED
    scores *= CATEGORY_PRIOR.get(category or "", 1.0)
    order = [int(p) for p in np.argsort(-scores, kind="stable")[:limit] if scores[p] > 0.0]
    return Ranking(words, query, scores, order, category == "question", tagged)


def ranking_features(index: BankIndex, ranking: Ranking) -> list[float]:
    """qbank.confidence.FEATURES of a ranking with at least one entry."""
    best = index.entries[ranking.order[0]].tokens
    return query_features(
        [float(ranking.scores[p]) for p in ranking.order[:2]],
        ranking.query,
        best,
        index.known_tokens,
        index.questions.idf,
        BIGRAM_JOIN,
        is_question=ranking.is_question,
        is_tagged=ranking.is_tagged,
        own_case=has_phrase(ranking.words, signal_phrases()["own_case"]),
        outside_matter=has_phrase(ranking.words, signal_phrases()["outside_matter"]),
    )


def suggest(
    index: BankIndex,
    subject: str | None,
    body: str,
    *,
    insurance_types: Sequence[str] | None = None,
    topics: Sequence[str] | None = None,
    category: str | None = None,
    threshold: float | None = None,
    limit: int = MAX_SUGGESTIONS,
    calibrator: Calibrator | None | Literal["shipped"] = "shipped",
) -> list[Suggestion]:
    """The best entries for a message, best first, at most `limit`; none when the confidence is
    below `threshold` (None: the calibrator's own).

    The best entry's score is the calibrated probability that the right entry is among those
    suggested (qbank/confidence.py); the others' scores are that probability times their BM25
    share relative to the best's, so the order shows. `calibrator=None` gives the BM25 shares
    themselves, each compared with the threshold (what the calibrator is fitted on).
    `insurance_types` and `topics` are the classifier's tags (a ticket's); when not given the
    message is classified here."""
    ranking = rank(index, subject, body, insurance_types=insurance_types, topics=topics, category=category, limit=limit)
    if ranking is None or not ranking.order:
        return []
    model = shipped_calibrator() if calibrator == "shipped" else calibrator
    if model is None:
        cut = 0.0 if threshold is None else threshold
        kept = [(p, float(ranking.scores[p])) for p in ranking.order if ranking.scores[p] >= cut]
    else:
        confidence = model.probability(ranking_features(index, ranking))
        if confidence < (model.threshold if threshold is None else threshold):
            return []
        best = float(ranking.scores[ranking.order[0]])
        kept = [(p, confidence * float(ranking.scores[p]) / best) for p in ranking.order]
    return [
        Suggestion(index.entries[p].entry.id, score, _matched_words(ranking.words, index.entries[p].tokens)) for p, score in kept
    ]
