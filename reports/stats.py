"""Summary statistics of durations (from the standard library's statistics module)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile (inclusive method: a value between the observed ones)."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def share(hits: int, total: int) -> float | None:
    return None if total == 0 else hits / total


def hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 2)
