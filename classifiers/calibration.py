"""Calibrated confidences: how often a tag is right, from what the rules saw.

Insurance types and category: the raw score mapped by isotonic regression, shipped as
breakpoints. Province: a small logistic model over `classifiers.province.ProvinceFeatures`
(margin over the second province, the kind of evidence, the number of candidates, old names),
because the raw score alone does not order a province's errors. Both are fitted by
`scripts/build_calibration.py` (scikit-learn) on the dev set and the written sets A, B, C and D,
never on the held-out sets, and shipped in `classifiers/data/calibration.json`. Here they are
only read and evaluated, so classifying imports no scikit-learn.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from functools import cache
from pathlib import Path

from classifiers.province import FEATURE_NAMES, ProvinceFeatures

CALIBRATION_FILE = Path(__file__).resolve().parent / "data" / "calibration.json"
FAMILIES = ("insurance_types", "province", "category")
ISOTONIC_FAMILIES = ("insurance_types", "category")
MAX_CONFIDENCE = 0.99
MIN_CONFIDENCE = 0.01


@cache
def calibration() -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    """Per family: the raw scores (increasing) and the calibrated confidence at each."""
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    table: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {}
    for family in ISOTONIC_FAMILIES:
        xs, ys = tuple(map(float, data[family]["raw"])), tuple(map(float, data[family]["calibrated"]))
        if not xs or len(xs) != len(ys) or list(xs) != sorted(xs):
            raise ValueError(f"{CALIBRATION_FILE.name}: the breakpoints of {family} are not an increasing mapping")
        table[family] = (xs, ys)
    return table


def interpolate(xs: tuple[float, ...], ys: tuple[float, ...], raw: float) -> float:
    """Piecewise-linear between breakpoints, flat beyond the ends (as isotonic's clip)."""
    if raw <= xs[0]:
        return ys[0]
    if raw >= xs[-1]:
        return ys[-1]
    i = bisect_right(xs, raw)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 if x1 == x0 else y0 + (y1 - y0) * (raw - x0) / (x1 - x0)


def calibrate(family: str, raw: float) -> float:
    xs, ys = calibration()[family]
    return round(interpolate(xs, ys, raw), 2)


@cache
def province_model() -> tuple[tuple[float, ...], float]:
    """The province model's weights (in `FEATURE_NAMES` order) and intercept."""
    model = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))["province"]
    if tuple(model["features"]) != FEATURE_NAMES or len(model["weights"]) != len(FEATURE_NAMES):
        raise ValueError(f"{CALIBRATION_FILE.name}: the province model's features are not {', '.join(FEATURE_NAMES)}")
    return tuple(map(float, model["weights"])), float(model["intercept"])


def logistic(weights: tuple[float, ...], intercept: float, vector: tuple[float, ...]) -> float:
    z = intercept + sum(w * x for w, x in zip(weights, vector, strict=True))
    return 1 / (1 + math.exp(-z))


def province_confidence(features: ProvinceFeatures) -> float:
    """How often a province given with these features is right (never 0 or 1)."""
    weights, intercept = province_model()
    return round(min(MAX_CONFIDENCE, max(MIN_CONFIDENCE, logistic(weights, intercept, features.vector()))), 2)
