"""Retrieval on the shared dev questions (tests/data/qbank): the issue's targets, and the
threshold chosen on one half checked on the other."""

from __future__ import annotations

from typing import Any

import pytest

from qbank.calibrate import at_threshold, choose_threshold, cross_check, unthresholded_runs
from qbank.evaluate import evaluate_bank
from qbank.retrieve import DEFAULT_THRESHOLD, BankIndex


@pytest.fixture(scope="module")
def runs(sample_index: BankIndex, dev_queries: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    return unthresholded_runs(sample_index, dev_queries)


@pytest.mark.xfail(strict=True, reason="not reached yet: see docs/qbank.md for the figures (hit@1 0.50, hit@3 0.62 at the threshold)")
def test_issue_targets_at_the_threshold(sample_index: BankIndex, dev_queries: list[dict[str, Any]]) -> None:
    report = evaluate_bank(sample_index, dev_queries)
    assert report.hit_at_3 >= 0.90
    assert report.hit_at_1 >= 0.75
    assert report.no_suggestion_when_none >= 0.80


def test_ranking_without_threshold_keeps_its_level(runs) -> None:  # type: ignore[no-untyped-def]
    # A guard against regressions in ranking alone (every question gets its best entries).
    report = at_threshold(runs, 0.0)
    assert report.hit_at_3 >= 0.85
    assert report.hit_at_1 >= 0.65
    assert report.mrr >= 0.75


def test_the_default_threshold_silences_most_questions_without_an_entry(sample_index: BankIndex, dev_queries: list[dict[str, Any]]) -> None:
    report = evaluate_bank(sample_index, dev_queries)
    assert report.no_suggestion_when_none >= 0.80
    assert report.hit_at_3 >= 0.55  # and still suggests the right entry for most


def test_threshold_chosen_on_one_half_holds_on_the_other(runs) -> None:  # type: ignore[no-untyped-def]
    check = cross_check(runs)
    for report in check.checked:
        assert report.no_suggestion_when_none >= 0.7
        assert report.hit_at_3 >= 0.5
    assert choose_threshold(runs) == pytest.approx(DEFAULT_THRESHOLD, abs=0.02)  # the documented one
