"""Choosing the score threshold from labeled questions, and checking it on others. Pure.

The threshold is put on the best suggestion's score (the calibrated confidence, qbank.confidence),
the lowest at which questions no entry answers get no suggestion at
least `min_silence` of the time: the lowest such score keeps the most good suggestions.
It is chosen on one half of the labeled questions and checked on the other (both ways), so
the figures reported are for questions the threshold was not chosen on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qbank.evaluate import BankReport, score_runs
from qbank.retrieve import BankIndex, Suggestion, suggest

Run = tuple[str, list[str], list[Suggestion]]  # (query id, answering entries, suggestions at threshold 0)


def unthresholded_runs(index: BankIndex, queries: Sequence[dict[str, Any]]) -> list[Run]:
    return [
        (str(q.get("id")), list(q.get("answer_ids") or []), suggest(index, q.get("subject"), q.get("body") or "", threshold=0.0))
        for q in queries
    ]


def at_threshold(runs: Sequence[Run], threshold: float) -> BankReport:
    """The figures had the threshold been `threshold`: retrieval shows a message's suggestions
    when the best one's score (the confidence) clears it, all of them, or none."""
    return score_runs((qid, expected, list(got) if got and got[0].score >= threshold else []) for qid, expected, got in runs)


def choose_threshold(runs: Sequence[Run], min_silence: float = 0.8) -> float:
    """The lowest top score that silences at least `min_silence` of the unanswerable questions."""
    candidates = sorted({round(got[0].score, 4) + 1e-4 for _, _, got in runs if got} | {0.0})
    for threshold in candidates:
        if at_threshold(runs, threshold).no_suggestion_when_none >= min_silence:
            return threshold
    return candidates[-1]


@dataclass(frozen=True)
class CrossCheck:
    thresholds: tuple[float, float]  # chosen on half A, on half B
    checked: tuple[BankReport, BankReport]  # A's threshold on B, B's threshold on A


def cross_check(runs: Sequence[Run], min_silence: float = 0.8) -> CrossCheck:
    """Two-fold: choose on the even-numbered questions and check on the odd ones, and back."""
    half_a, half_b = list(runs[0::2]), list(runs[1::2])
    threshold_a, threshold_b = choose_threshold(half_a, min_silence), choose_threshold(half_b, min_silence)
    return CrossCheck((threshold_a, threshold_b), (at_threshold(half_b, threshold_a), at_threshold(half_a, threshold_b)))
