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
from functools import cache
from pathlib import Path

MODEL_FILE = Path(__file__).resolve().parent / "data" / "category_model.json"
_WHITE_SPACES = re.compile(r"\s\s+")


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

    def scores(self, text: str) -> dict[str, float]:
        """Class probabilities (softmax of the linear scores) for a folded text."""
        counts = Counter(gram for gram in char_wb_ngrams(text, self.low, self.high) if gram in self.features)
        values = {gram: (1.0 + math.log(count)) * self.features[gram][0] for gram, count in counts.items()}
        norm = math.sqrt(sum(value * value for value in values.values())) or 1.0
        linear = list(self.intercept)
        for gram, value in values.items():
            weights = self.features[gram]
            for index in range(len(linear)):
                linear[index] += weights[index + 1] * value / norm
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
