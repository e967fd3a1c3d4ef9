"""How sure retrieval is that its best entries answer a message: a logistic regression over a few
features of the ranking, its coefficients in qbank/data/calibration.json (rebuilt by
`uv run python -m qbank.fit_calibrator`, docs/qbank.md). Pure.

A raw or length-normalised BM25 score is not comparable across messages (a long letter about
one's own file shares many words with real entries), so the threshold is put on this
probability instead: "the right entry is among the suggestions".
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CALIBRATION_FILE = Path(__file__).parent / "data" / "calibration.json"

FEATURES: tuple[str, ...] = (
    "top_score",  # the best entry's score (BM25 share of the best possible, with the prior)
    "gap",  # the best score minus the second
    "idf_coverage",  # the share of the message's known words (by idf) the best entry holds
    "bigram_coverage",  # the share of the message's bigrams the best entry holds
    "unknown_share",  # the share of the message's words found in no entry (off-topic messages)
    "is_question",  # the classifier calls the message a question
    "is_tagged",  # the classifier found an insurance type or a topic
    "log_words",  # log(1 + distinct words): long letters score lower shares
    "own_case",  # the message speaks of its own file or payment (qbank/data/signals.toml)
    "outside_matter",  # the message names a matter the agency does not handle (same file)
)


def query_features(
    top_scores: Sequence[float],
    query_tokens: Collection[str],
    best_entry_tokens: Collection[str],
    known_tokens: Collection[str],
    idf: Callable[[str], float],
    bigram_join: str,
    *,
    is_question: bool,
    is_tagged: bool,
    own_case: bool = False,
    outside_matter: bool = False,
) -> list[float]:
    """The FEATURES of one message's ranking, in order. Only folded tokens count (a message
    without tone marks has no marked ones)."""
    distinct = set(query_tokens)
    unigrams = [t for t in distinct if bigram_join not in t and t.isascii()]
    bigrams = [t for t in distinct if bigram_join in t and t.isascii()]
    known = [t for t in unigrams if t in known_tokens]
    known_weight = sum(idf(t) for t in known)
    first = top_scores[0] if top_scores else 0.0
    second = top_scores[1] if len(top_scores) > 1 else 0.0
    return [
        first,
        first - second,
        sum(idf(t) for t in known if t in best_entry_tokens) / known_weight if known_weight > 0 else 0.0,
        sum(t in best_entry_tokens for t in bigrams) / len(bigrams) if bigrams else 0.0,
        1.0 - len(known) / len(unigrams) if unigrams else 1.0,
        1.0 if is_question else 0.0,
        1.0 if is_tagged else 0.0,
        math.log1p(len(unigrams)),
        1.0 if own_case else 0.0,
        1.0 if outside_matter else 0.0,
    ]


@dataclass(frozen=True)
class Calibrator:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float
    threshold: float  # the probability below which nothing is suggested

    def probability(self, values: Sequence[float]) -> float:
        z = self.intercept + sum(c * (v - m) / s for c, v, m, s in zip(self.coefficients, values, self.mean, self.scale, strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
            "threshold": self.threshold,
        }


def calibrator_from_json(data: dict[str, object]) -> Calibrator:
    features = tuple(str(f) for f in data["features"])  # type: ignore[attr-defined]
    if features != FEATURES:
        raise ValueError(f"{CALIBRATION_FILE.name}: các đặc trưng {features} khác với mã ({FEATURES}); chạy lại qbank.fit_calibrator")
    numbers = {key: tuple(float(x) for x in data[key]) for key in ("mean", "scale", "coefficients")}  # type: ignore[attr-defined]
    if any(len(v) != len(FEATURES) for v in numbers.values()) or any(s <= 0 for s in numbers["scale"]):
        raise ValueError(f"{CALIBRATION_FILE.name}: số hệ số không khớp số đặc trưng")
    return Calibrator(features, numbers["mean"], numbers["scale"], numbers["coefficients"], float(data["intercept"]), float(data["threshold"]))  # type: ignore[arg-type]


@cache
def shipped_calibrator() -> Calibrator:
    return calibrator_from_json(json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")))
