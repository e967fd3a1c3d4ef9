"""A small learned model for the category, read beside the rules (issue 17).

A linear model (logistic regression, trained by `scripts/build_model.py` on the dev set and the
written sets A, B and C) over the character 2–4-grams of the folded text the rules read,
weighted as scikit-learn's TfidfVectorizer(analyzer="char_wb", sublinear_tf=True) does. It
ships as weights in `classifiers/data/category_model.json` and is scored here in plain Python:
no scikit-learn or numpy import at classify time.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

MODEL_FILE = Path(__file__).resolve().parent / "data" / "category_model.json"
_WHITE_SPACES = re.compile(r"\s\s+")
WORD_CACHE = 1 << 16  # distinct words remembered (bounded: hostile input cannot grow it)


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """The n-grams of scikit-learn's "char_wb" analyzer: each word padded with one space."""
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            if length < n:
                break
            grams.extend(padded[offset : offset + n] for offset in range(length - n + 1))
    return grams


@dataclass(frozen=True)
class CategoryModel:
    classes: tuple[str, ...]
    intercept: tuple[float, ...]
    low: int
    high: int
    features: dict[str, tuple[float, ...]]  # n-gram → (idf, weight for each class)

    def __post_init__(self) -> None:
        # idf × weight, once: scoring then adds one product per class and n-gram
        object.__setattr__(self, "_scaled", {gram: (values[0], *(values[0] * weight for weight in values[1:])) for gram, values in self.features.items()})
        # A word's n-grams that the model knows, remembered per word: messages share most words.
        object.__setattr__(self, "_known_grams", lru_cache(maxsize=WORD_CACHE)(self._grams_of_word))

    def _grams_of_word(self, word: str) -> tuple[str, ...]:
        scaled = self._scaled  # type: ignore[attr-defined]
        return tuple(gram for gram in char_wb_ngrams(word, self.low, self.high) if gram in scaled)

    def scores(self, text: str) -> dict[str, float]:
        """Class probabilities (softmax of the linear scores) for a folded text."""
        scaled: dict[str, tuple[float, ...]] = self._scaled  # type: ignore[attr-defined]
        counts: dict[str, int] = {}
        known = self._known_grams
        for word in text.split():  # as _WHITE_SPACES.sub(" ", text).split(): runs of white space are one
            for gram in known(word):
                counts[gram] = counts.get(gram, 0) + 1
        sums = [0.0] * len(self.classes)
        squares = 0.0
        for gram, count in counts.items():
            idf, *weights = scaled[gram]
            tf = 1.0 + math.log(count) if count > 1 else 1.0
            squares += (tf * idf) ** 2
            for index, weight in enumerate(weights):
                sums[index] += tf * weight
        norm = math.sqrt(squares) or 1.0
        linear = [bias + total / norm for bias, total in zip(self.intercept, sums)]
        top = max(linear)
        exps = [math.exp(score - top) for score in linear]
        total = sum(exps)
        return {label: exp / total for label, exp in zip(self.classes, exps)}


@cache
def category_model() -> CategoryModel | None:
    if not MODEL_FILE.exists():
        return None
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    return CategoryModel(
        classes=tuple(data["classes"]),
        intercept=tuple(data["intercept"]),
        low=data["ngram_range"][0],
        high=data["ngram_range"][1],
        features={gram: tuple(values) for gram, values in data["features"].items()},
    )
