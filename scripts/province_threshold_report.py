"""Wrong / empty / right province per labeled set at a routing threshold (issue 17, brief C2).

What the pipeline stores (`tickets.pipeline.stored_province`): the province when its calibrated
confidence is at least `min_province_confidence`, else nothing. A province stored that is not
the label's is wrong; accuracy counts an empty one right when the label is empty too.

Run: uv run python scripts/province_threshold_report.py [--threshold T] FILE...
(default: the threshold of config/routing.toml). Reporting only: nothing here is fitted.
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path
from typing import Any

from classifiers.classify import classify

ROOT = Path(__file__).resolve().parent.parent


def figures(rows: list[dict[str, Any]], threshold: float) -> dict[str, float]:
    wrong = right = empty = accurate = 0
    for row in rows:
        result = classify(row.get("subject"), row.get("body") or "", row.get("channel"))
        label = row["labels"].get("province_code")
        stored = result.province_code if result.province_code and result.confidence["province"] >= threshold else None
        if stored is None:
            empty += 1
        elif stored == label:
            right += 1
        else:
            wrong += 1
        accurate += stored == label
    n = len(rows)
    return {"messages": n, "wrong": wrong / n, "empty": empty / n, "right": right / n, "accuracy": accurate / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--threshold", type=float, default=None)
    args = parser.parse_args()
    threshold = args.threshold if args.threshold is not None else float(tomllib.loads((ROOT / "config" / "routing.toml").read_text(encoding="utf-8"))["min_province_confidence"])
    for path in args.files:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        f = figures(rows, threshold)
        print(f"{path.name}: at {threshold}: wrong {f['wrong']:.1%} · empty {f['empty']:.1%} · right {f['right']:.1%} · province accuracy {f['accuracy']:.3f} ({f['messages']})")


if __name__ == "__main__":
    main()
