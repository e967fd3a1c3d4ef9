"""Calibrated confidences: the raw score of each tag family mapped to how often it is right.

The mapping is fitted by `scripts/build_calibration.py` (isotonic regression, scikit-learn)
on the dev set and the written sets A, B and C, never on the held-out set, and shipped as
breakpoints in `classifiers/data/calibration.json`. Here it is only read and interpolated, so
classifying imports no scikit-learn and loads in well under a millisecond.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from functools import cache
from pathlib import Path

CALIBRATION_FILE = Path(__file__).resolve().parent / "data" / "calibration.json"
FAMILIES = ("insurance_types", "province", "category")


@cache
def calibration() -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    """Per family: the raw scores (increasing) and the calibrated confidence at each."""
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    table: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {}
    for family in FAMILIES:
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
