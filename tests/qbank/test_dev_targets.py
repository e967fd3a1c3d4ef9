"""Retrieval on the shared dev questions and on the held-out set (tests/data/qbank): the levels
reached (regression guards; the issue's targets not met are stated in docs/qbank.md), the
calibrated confidence against a threshold on the BM25 share, and the shipped calibration being
what qbank.fit_calibrator makes of the dev questions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qbank import fit_calibrator
from qbank.calibrate import at_threshold, choose_threshold, cross_check, unthresholded_runs
from qbank.confidence import CALIBRATION_FILE, calibrator_from_json, shipped_calibrator
from qbank.evaluate import evaluate_bank
from qbank.retrieve import DEFAULT_THRESHOLD, BankIndex, suggest

from .conftest import DATA


@pytest.fixture(scope="module")
def runs(sample_index: BankIndex, dev_queries: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    return unthresholded_runs(sample_index, dev_queries)


@pytest.fixture(scope="module")
def held_out() -> list[dict[str, Any]]:
    return fit_calibrator.read_queries(DATA / "queries_heldout.jsonl")


@pytest.fixture(scope="module")
def held_out2() -> list[dict[str, Any]]:
    return fit_calibrator.read_queries(DATA / "queries_heldout2.jsonl")


def test_ranking_without_threshold_keeps_its_level(runs) -> None:  # type: ignore[no-untyped-def]
    # A guard against regressions in ranking alone (every question gets its best entries).
    report = at_threshold(runs, 0.0)
    assert report.hit_at_3 >= 0.90
    assert report.hit_at_1 >= 0.70
    assert report.mrr >= 0.78


def test_dev_figures_at_the_default_threshold_keep_their_level(sample_index: BankIndex, dev_queries: list[dict[str, Any]]) -> None:
    # In-sample (the calibrator is fitted on these): the silence target, and the level
    # reached for hits (targets 0.75 / 0.90 not met on dev, docs/qbank.md).
    report = evaluate_bank(sample_index, dev_queries)
    assert report.no_suggestion_when_none >= 0.80
    assert report.hit_at_3 >= 0.87
    assert report.hit_at_1 >= 0.68


def test_held_out_figures_at_the_default_threshold(sample_index: BankIndex, held_out: list[dict[str, Any]]) -> None:
    report = evaluate_bank(sample_index, held_out)
    assert report.hit_at_3 >= 0.95
    assert report.hit_at_1 >= 0.83
    assert report.no_suggestion_when_none >= 0.85


def test_second_held_out_figures_at_the_default_threshold(sample_index: BankIndex, held_out2: list[dict[str, Any]]) -> None:
    # Written before this round's changes (tests/data/qbank/README.md): the targets.
    report = evaluate_bank(sample_index, held_out2)
    assert report.hit_at_3 >= 0.90
    assert report.hit_at_1 >= 0.75
    assert report.no_suggestion_when_none >= 0.80


def test_the_calibrated_confidence_keeps_more_right_answers_than_a_threshold_on_the_share(
    sample_index: BankIndex, dev_queries: list[dict[str, Any]], held_out: list[dict[str, Any]]
) -> None:
    # The BM25 share thresholded for the same silence on the dev questions, both measured on the held-out set.
    def share_runs(queries: list[dict[str, Any]]) -> list:  # type: ignore[type-arg]
        return [
            (str(q["id"]), q["answer_ids"], suggest(sample_index, q.get("subject"), q["body"], threshold=0.0, calibrator=None))
            for q in queries
        ]

    share_threshold = choose_threshold(share_runs(dev_queries))
    by_share = at_threshold(share_runs(held_out), share_threshold)
    calibrated = evaluate_bank(sample_index, held_out)
    assert calibrated.no_suggestion_when_none >= by_share.no_suggestion_when_none
    assert calibrated.hit_at_3 > by_share.hit_at_3


def test_cross_validated_figures_keep_their_level(sample_index: BankIndex, dev_queries: list[dict[str, Any]]) -> None:
    x, y, ranked, expected = fit_calibrator.examples(sample_index, dev_queries)
    figures = fit_calibrator.mean_figures(fit_calibrator.cross_validated(x, y, ranked, expected, [q["id"] for q in dev_queries]))
    assert figures["hit@3"] >= 0.81
    assert figures["hit@1"] >= 0.66
    assert figures["no_suggestion_when_none"] >= 0.80


def test_the_shipped_calibration_is_what_the_script_fits(sample_index: BankIndex, dev_queries: list[dict[str, Any]]) -> None:
    x, y, ranked, expected = fit_calibrator.examples(sample_index, dev_queries)
    model = fit_calibrator.fit_with_threshold(x, y, ranked, expected, [q["id"] for q in dev_queries])
    shipped = shipped_calibrator()
    assert model.coefficients == pytest.approx(shipped.coefficients, abs=1e-6)
    assert model.intercept == pytest.approx(shipped.intercept, abs=1e-6)
    assert model.threshold == pytest.approx(shipped.threshold, abs=1e-6) == pytest.approx(DEFAULT_THRESHOLD)


def test_a_calibration_file_for_other_features_is_refused() -> None:
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    with pytest.raises(ValueError, match="fit_calibrator"):
        calibrator_from_json(data)


def test_threshold_chosen_on_one_half_holds_on_the_other(runs) -> None:  # type: ignore[no-untyped-def]
    check = cross_check(runs)
    for report in check.checked:
        assert report.no_suggestion_when_none >= 0.6
        assert report.hit_at_3 >= 0.6
    # The shipped threshold (chosen on out-of-fold confidences) is above the in-sample choice,
    # which is optimistic about the questions the model was fitted on.
    assert choose_threshold(runs) < DEFAULT_THRESHOLD
