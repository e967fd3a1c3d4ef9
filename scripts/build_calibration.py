"""Fit the classifiers' confidence calibration and write classifiers/data/calibration.json.

For each tag family (insurance types, province, category) an isotonic regression (scikit-learn)
maps the rules' raw score to the share of tags that were right at that score, on the dev set
and the written sets A, B and C. The held-out set (tests/data/heldout/) is never read here: it
is what the calibration is checked on. The province is fitted on the messages given a
province (its confidence is that of a province given). Deterministic: the same data and rules
write the same file.

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

from classifiers.calibration import CALIBRATION_FILE, FAMILIES
from classifiers.classify import classify_raw

ROOT = Path(__file__).resolve().parent.parent
TRAINING_SETS = (
    ROOT / "tests" / "data" / "dev.jsonl",
    ROOT / "tests" / "data" / "written" / "set_a.jsonl",
    ROOT / "tests" / "data" / "written" / "set_b.jsonl",
    ROOT / "tests" / "data" / "written" / "set_c.jsonl",
)
# A confidence never says "certain": the labeled sets are a few hundred messages, and at the
# top of the scale their few errors would make isotonic regression answer 1.0.
MAX_CONFIDENCE = 0.99
MIN_CONFIDENCE = 0.01


def read_rows(paths: Iterable[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scored(rows: Iterable[dict[str, Any]]) -> dict[str, list[tuple[float, int]]]:
    """Per family: (raw score, 1 if the tag was right) for every tag given."""
    pairs: dict[str, list[tuple[float, int]]] = {family: [] for family in FAMILIES}
    for row in rows:
        labels = row["labels"]
        result = classify_raw(row.get("subject"), row.get("body") or "", row.get("channel"))
        pairs["insurance_types"].append((result.confidence["insurance_types"], int(sorted(result.insurance_types) == sorted(labels.get("insurance_types") or []))))
        if result.province_code is not None:
            pairs["province"].append((result.confidence["province"], int(result.province_code == labels.get("province_code"))))
        pairs["category"].append((result.confidence["category"], int(result.category == labels.get("category"))))
    return pairs


def fit(pairs: list[tuple[float, int]]) -> dict[str, list[float]]:
    """Isotonic regression of rightness on the raw score, as breakpoints."""
    model = IsotonicRegression(y_min=MIN_CONFIDENCE, y_max=MAX_CONFIDENCE, increasing=True, out_of_bounds="clip")
    model.fit([raw for raw, _ in pairs], [right for _, right in pairs])
    return {
        "raw": [round(float(x), 4) for x in model.X_thresholds_],
        "calibrated": [round(float(y), 4) for y in model.y_thresholds_],
    }


def build(paths: Iterable[Path] = TRAINING_SETS) -> dict[str, Any]:
    pairs = scored(read_rows(paths))
    calibration: dict[str, Any] = {
        "about": "built by scripts/build_calibration.py from dev.jsonl and written/set_a,b,c.jsonl (isotonic regression); not the held-out set",
        "tags": {family: len(pairs[family]) for family in FAMILIES},
    }
    calibration.update({family: fit(pairs[family]) for family in FAMILIES})
    return calibration


def _brier(predicted: Iterable[float], right: list[int]) -> float:
    return sum((p - r) ** 2 for p, r in zip(predicted, right, strict=True)) / len(right)


def leave_one_set_out(paths: tuple[Path, ...] = TRAINING_SETS) -> dict[str, dict[str, float]]:
    """Why isotonic: per family, the Brier score (lower is better) of the raw score, of isotonic
    regression and of Platt scaling (logistic), each fitted on three labeled sets and scored on
    the fourth, averaged over the four."""
    per_set = [scored(read_rows([path])) for path in paths]
    figures: dict[str, dict[str, float]] = {}
    for family in FAMILIES:
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
    if args.compare:
        for family, figures in leave_one_set_out().items():
            print(f"{family}: Brier, leave one set out: " + ", ".join(f"{name} {value:.4f}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
