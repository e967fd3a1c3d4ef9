"""Fit the classifiers' confidence calibration and write classifiers/data/calibration.json.

Insurance types and category: an isotonic regression (scikit-learn) maps the rules' raw score
to the share of tags that were right at that score. Province: a logistic regression over the
province's features (`classifiers.province.ProvinceFeatures`), fitted on the messages given a
province (its confidence is that of a province given); 5-fold cross-validation over the same
messages gives each one a confidence from a model that did not see it, and the routing
threshold is the lowest at which those out-of-fold confidences leave at most 1% of all
messages with a wrong province. Fitted on the dev set and the written sets A, B, C and D. The
held-out sets (tests/data/heldout/) are never read here: they are what the calibration is
checked on. Deterministic: the same data and rules write the same file.

Run: uv run python scripts/build_calibration.py [--out PATH]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from classifiers.calibration import CALIBRATION_FILE, FAMILIES, ISOTONIC_FAMILIES, MAX_CONFIDENCE, MIN_CONFIDENCE, logistic
from classifiers.classify import classify_scored
from classifiers.province import FEATURE_NAMES

ROOT = Path(__file__).resolve().parent.parent
TRAINING_SETS = (
    ROOT / "tests" / "data" / "dev.jsonl",
    ROOT / "tests" / "data" / "written" / "set_a.jsonl",
    ROOT / "tests" / "data" / "written" / "set_b.jsonl",
    ROOT / "tests" / "data" / "written" / "set_c.jsonl",
    ROOT / "tests" / "data" / "written" / "set_d.jsonl",
)
# A confidence never says "certain" (MAX_CONFIDENCE, MIN_CONFIDENCE): the labeled sets are a
# few hundred messages, and at the top of the scale their few errors would make isotonic
# regression answer 1.0.
PROVINCE_C = 1.0  # the logistic model's inverse regularization: 11 features, ~500 messages
FOLDS = 5
MAX_WRONG = 0.01  # issue 17: a wrong province for fewer than 1 message in 100
THRESHOLDS = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))  # 0.50 … 0.99


def read_rows(paths: Iterable[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scored(rows: Iterable[dict[str, Any]]) -> dict[str, list[tuple[float, int]]]:
    """Per family: (raw score, 1 if the tag was right) for every tag given."""
    return scored_with_features(rows)[0]


def scored_with_features(rows: Iterable[dict[str, Any]]) -> tuple[dict[str, list[tuple[float, int]]], list[tuple[tuple[float, ...], int]], int]:
    """The raw pairs per family, (feature vector, right) per province given, and the number of
    messages."""
    pairs: dict[str, list[tuple[float, int]]] = {family: [] for family in FAMILIES}
    provinces: list[tuple[tuple[float, ...], int]] = []
    count = 0
    for row in rows:
        count += 1
        labels = row["labels"]
        result, features = classify_scored(row.get("subject"), row.get("body") or "", row.get("channel"))
        pairs["insurance_types"].append((result.confidence["insurance_types"], int(sorted(result.insurance_types) == sorted(labels.get("insurance_types") or []))))
        if result.province_code is not None and features is not None:
            right = int(result.province_code == labels.get("province_code"))
            pairs["province"].append((result.confidence["province"], right))
            provinces.append((features.vector(), right))
        pairs["category"].append((result.confidence["category"], int(result.category == labels.get("category"))))
    return pairs, provinces, count


def fit_province(provinces: list[tuple[tuple[float, ...], int]]) -> tuple[list[float], float]:
    model = LogisticRegression(C=PROVINCE_C, max_iter=1000).fit([x for x, _ in provinces], [y for _, y in provinces])
    return [round(float(w), 4) for w in model.coef_[0]], round(float(model.intercept_[0]), 4)


def _confidence(weights: list[float], intercept: float, vector: tuple[float, ...]) -> float:
    """As `classifiers.calibration.province_confidence` computes it from the shipped numbers."""
    return round(min(MAX_CONFIDENCE, max(MIN_CONFIDENCE, logistic(tuple(weights), intercept, vector))), 2)


def out_of_fold(provinces: list[tuple[tuple[float, ...], int]]) -> list[float]:
    """Each province's confidence from a model fitted on the other folds."""
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    labels = [y for _, y in provinces]
    confidences = [0.0] * len(provinces)
    for train, test in folds.split(provinces, labels):
        weights, intercept = fit_province([provinces[i] for i in train])
        for i in test:
            confidences[i] = _confidence(weights, intercept, provinces[i][0])
    return confidences


def rates(confidences: list[float], rights: list[int], messages: int, threshold: float) -> dict[str, float]:
    """Shares of all messages: a wrong province kept, a right one kept, no province stored."""
    wrong = sum(1 for c, r in zip(confidences, rights, strict=True) if c >= threshold and not r)
    right = sum(1 for c, r in zip(confidences, rights, strict=True) if c >= threshold and r)
    return {"wrong": round(wrong / messages, 4), "right": round(right / messages, 4), "empty": round((messages - wrong - right) / messages, 4)}


def choose_threshold(confidences: list[float], rights: list[int], messages: int) -> float:
    """The lowest threshold whose out-of-fold wrong share is at most MAX_WRONG (the fewest empty)."""
    for threshold in THRESHOLDS:
        if rates(confidences, rights, messages, threshold)["wrong"] <= MAX_WRONG:
            return threshold
    return THRESHOLDS[-1]


def fit(pairs: list[tuple[float, int]]) -> dict[str, list[float]]:
    """Isotonic regression of rightness on the raw score, as breakpoints."""
    model = IsotonicRegression(y_min=MIN_CONFIDENCE, y_max=MAX_CONFIDENCE, increasing=True, out_of_bounds="clip")
    model.fit([raw for raw, _ in pairs], [right for _, right in pairs])
    return {
        "raw": [round(float(x), 4) for x in model.X_thresholds_],
        "calibrated": [round(float(y), 4) for y in model.y_thresholds_],
    }


def build(paths: Iterable[Path] = TRAINING_SETS) -> dict[str, Any]:
    pairs, provinces, messages = scored_with_features(read_rows(paths))
    calibration: dict[str, Any] = {
        "about": "built by scripts/build_calibration.py from dev.jsonl and written/set_a,b,c,d.jsonl (isotonic regression; province: logistic regression over its features); not the held-out set",
        "tags": {family: len(pairs[family]) for family in FAMILIES},
    }
    calibration.update({family: fit(pairs[family]) for family in ISOTONIC_FAMILIES})
    weights, intercept = fit_province(provinces)
    confidences, rights = out_of_fold(provinces), [y for _, y in provinces]
    threshold = choose_threshold(confidences, rights, messages)
    calibration["province"] = {
        "features": list(FEATURE_NAMES),
        "weights": weights,
        "intercept": intercept,
        "cv_threshold": threshold,  # not shipped: see docs/classifiers.md (held-out province accuracy fell 0.06)
        "cross_validated": {"messages": messages, "at_threshold": rates(confidences, rights, messages, threshold), "at_0.6": rates(confidences, rights, messages, 0.6)},
    }
    return calibration


def _brier(predicted: Iterable[float], right: list[int]) -> float:
    return sum((p - r) ** 2 for p, r in zip(predicted, right, strict=True)) / len(right)


def leave_one_set_out(paths: tuple[Path, ...] = TRAINING_SETS) -> dict[str, dict[str, float]]:
    """Why isotonic: per family, the Brier score (lower is better) of the raw score, of isotonic
    regression and of Platt scaling (logistic), each fitted on three labeled sets and scored on
    the fourth, averaged over the four."""
    per_set = [scored(read_rows([path])) for path in paths]
    figures: dict[str, dict[str, float]] = {}
    for family in ISOTONIC_FAMILIES:
        sums = {"raw": 0.0, "isotonic": 0.0, "platt": 0.0}
        for k, test in enumerate(per_set):
            train = [pair for i, pairs in enumerate(per_set) if i != k for pair in pairs[family]]
            xs, ys = [[raw] for raw, _ in train], [right for _, right in train]
            tx, ty = [raw for raw, _ in test[family]], [right for _, right in test[family]]
            isotonic = IsotonicRegression(y_min=MIN_CONFIDENCE, y_max=MAX_CONFIDENCE, out_of_bounds="clip").fit([x[0] for x in xs], ys)
            platt = LogisticRegression(C=1e6).fit(xs, ys)
            sums["raw"] += _brier(tx, ty)
            sums["isotonic"] += _brier(isotonic.predict(tx), ty)
            sums["platt"] += _brier(platt.predict_proba([[x] for x in tx])[:, 1], ty)
        figures[family] = {name: round(total / len(per_set), 4) for name, total in sums.items()}
    return figures


def render(calibration: dict[str, Any]) -> str:
    return json.dumps(calibration, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    parser.add_argument("--compare", action="store_true", help="print the leave-one-set-out Brier scores of raw, isotonic and Platt")
    args = parser.parse_args()
    args.out.write_text(render(build()), encoding="utf-8")
    print(f"wrote {args.out}")
    province = json.loads(args.out.read_text(encoding="utf-8"))["province"]
    print(f"province: threshold for wrong <= 1% {province['cv_threshold']} (5-fold CV), {json.dumps(province['cross_validated'])}")
    if args.compare:
        for family, figures in leave_one_set_out().items():
            print(f"{family}: Brier, leave one set out: " + ", ".join(f"{name} {value:.4f}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
