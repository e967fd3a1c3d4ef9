"""Fit the confidence calibrator (qbank/confidence.py) on labeled questions and write
qbank/data/calibration.json; print cross-validated figures and, when given, a held-out set's.

    uv run python -m qbank.fit_calibrator [--bank B.jsonl] [--queries Q.jsonl] [--held-out H.jsonl ...]

A question's label: one of its answering entries is among the best MAX_SUGGESTIONS (always 0
for a question no entry answers). scikit-learn's logistic regression on standardised features,
classes balanced, default regularisation (C = 1, not tuned). The threshold is the lowest
probability at which at least 80% of the questions no entry answers get no suggestion
(qbank.calibrate.choose_threshold), chosen on out-of-fold probabilities (fit_with_threshold).
Cross-validation: stratified 5-fold, 5 shuffles; in every fold both the model and its threshold
come from the training part only (the threshold from out-of-fold probabilities within it).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from qbank.calibrate import at_threshold, choose_threshold
from qbank.confidence import CALIBRATION_FILE, FEATURES, Calibrator
from qbank.entry import load_jsonl_bank
from qbank.evaluate import BankReport
from qbank.retrieve import MAX_SUGGESTIONS, BankIndex, Suggestion, rank, ranking_features

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "qbank"
MIN_SILENCE = 0.8
FOLDS, SHUFFLES = 5, 5


def examples(index: BankIndex, queries: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, list[list[str]], list[list[str]]]:
    """Features, labels, ranked entry ids and answering ids of every question."""
    rows, labels, ranked, expected = [], [], [], []
    for q in queries:
        ranking = rank(index, q.get("subject"), q.get("body") or "", limit=MAX_SUGGESTIONS)
        ids = [index.entries[p].entry.id for p in ranking.order] if ranking else []
        answers = list(q.get("answer_ids") or [])
        rows.append(ranking_features(index, ranking) if ranking and ranking.order else [0.0] * len(FEATURES))
        labels.append(int(any(i in answers for i in ids)))
        ranked.append(ids)
        expected.append(answers)
    return np.array(rows, dtype=float), np.array(labels), ranked, expected


def fit(x: np.ndarray, y: np.ndarray) -> Calibrator:
    scaler = StandardScaler().fit(x)
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    model = LogisticRegression(class_weight="balanced").fit((x - scaler.mean_) / scale, y)
    return Calibrator(FEATURES, tuple(map(float, scaler.mean_)), tuple(map(float, scale)), tuple(map(float, model.coef_[0])), float(model.intercept_[0]), 0.0)


def runs_of(calibrator: Calibrator, x: np.ndarray, ranked: list[list[str]], expected: list[list[str]], ids: Sequence[str]) -> list:  # type: ignore[type-arg]
    """(id, expected, suggestions) with every suggestion scored by the question's confidence."""
    out = []
    for qid, row, got, answers in zip(ids, x, ranked, expected, strict=True):
        p = calibrator.probability(row) if got else 0.0
        out.append((qid, answers, [Suggestion(entry_id, p, ()) for entry_id in got]))
    return out


def with_threshold(calibrator: Calibrator, runs: list) -> Calibrator:  # type: ignore[type-arg]
    return Calibrator(calibrator.features, calibrator.mean, calibrator.scale, calibrator.coefficients, calibrator.intercept, choose_threshold(runs, MIN_SILENCE))


def _strata(y: np.ndarray, expected: list[list[str]]) -> np.ndarray:
    return y * 2 + np.array([int(not e) for e in expected])


def fit_with_threshold(x: np.ndarray, y: np.ndarray, ranked: list[list[str]], expected: list[list[str]], ids: Sequence[str]) -> Calibrator:
    """The model fitted on all the questions given, with the threshold chosen on out-of-fold
    confidences (each question's from models that did not see it, averaged over the shuffles): an
    in-sample confidence is optimistic for the questions the model was fitted on, so a threshold
    chosen on it silences fewer unseen questions than it promises."""
    model = fit(x, y)
    strata = _strata(y, expected)
    if min(np.bincount(strata, minlength=3)[np.bincount(strata, minlength=3) > 0]) < FOLDS:
        return with_threshold(model, runs_of(model, x, ranked, expected, ids))
    probabilities = np.zeros(len(ids))
    for seed in range(SHUFFLES):
        for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, strata):
            fold_model = fit(x[train], y[train])
            probabilities[test] += [fold_model.probability(row) for row in x[test]]
    probabilities /= SHUFFLES
    runs = [(qid, answers, [Suggestion(entry_id, float(p), ()) for entry_id in got]) for qid, p, got, answers in zip(ids, probabilities, ranked, expected, strict=True)]
    return with_threshold(model, runs)


def cross_validated(x: np.ndarray, y: np.ndarray, ranked: list[list[str]], expected: list[list[str]], ids: list[str]) -> list[BankReport]:
    strata = _strata(y, expected)
    reports = []
    for seed in range(SHUFFLES):
        held: list = [None] * len(ids)  # type: ignore[type-arg]
        for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, strata):
            def part(rows: list, positions: np.ndarray) -> list:  # type: ignore[type-arg]
                return [rows[i] for i in positions]

            model = fit_with_threshold(x[train], y[train], part(ranked, train), part(expected, train), part(ids, train))
            test_runs = runs_of(model, x[test], part(ranked, test), part(expected, test), part(ids, test))
            for position, (qid, answers, got) in zip(test, test_runs, strict=True):
                held[position] = (qid, answers, [s for s in got if s.score >= model.threshold])
        reports.append(at_threshold(held, 0.0))
    return reports


def mean_figures(reports: list[BankReport]) -> dict[str, float]:
    keys = ("hit@1", "hit@3", "mrr", "no_suggestion_when_none")
    return {k: round(float(np.mean([r.to_json()[k] for r in reports])), 3) for k in keys}  # type: ignore[misc]


def read_queries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", type=Path, default=DATA / "bank.jsonl")
    parser.add_argument("--queries", type=Path, default=DATA / "queries_dev.jsonl")
    parser.add_argument("--held-out", type=Path, nargs="*", default=[DATA / "queries_heldout.jsonl", DATA / "queries_heldout2.jsonl"])
    parser.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    args = parser.parse_args(argv)
    from qbank.retrieve import build_index

    index = build_index(load_jsonl_bank(str(args.bank)))
    queries = read_queries(args.queries)
    ids = [str(q.get("id")) for q in queries]
    x, y, ranked, expected = examples(index, queries)
    print(f"cross-validated ({FOLDS}-fold x {SHUFFLES}) on {args.queries.name}:", mean_figures(cross_validated(x, y, ranked, expected, ids)))
    model = fit_with_threshold(x, y, ranked, expected, ids)
    print(f"fitted on all {len(ids)}, threshold {model.threshold:.4f}; in-sample:", at_threshold(runs_of(model, x, ranked, expected, ids), model.threshold).to_json())
    print("coefficients:", dict(zip(FEATURES, (round(c, 3) for c in model.coefficients), strict=True)))
    for path in args.held_out or []:
        held = read_queries(path)
        hx, _, h_ranked, h_expected = examples(index, held)
        report = at_threshold(runs_of(model, hx, h_ranked, h_expected, [str(q.get("id")) for q in held]), model.threshold)
        print(f"held out ({path.name}, {len(held)}):", report.to_json())
    args.out.write_text(json.dumps(model.to_json(), indent=2) + "\n", encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
