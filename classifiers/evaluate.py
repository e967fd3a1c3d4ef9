"""Measure the classifiers against labelled messages: accuracy, precision/recall, confusions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from classifiers.classify import classify


@dataclass
class Report:
    total: int = 0
    correct: Counter[str] = field(default_factory=Counter)
    # per field, per label: true positives, false positives, false negatives
    tp: Counter[tuple[str, str]] = field(default_factory=Counter)
    fp: Counter[tuple[str, str]] = field(default_factory=Counter)
    fn: Counter[tuple[str, str]] = field(default_factory=Counter)
    province_confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    # per family, per confidence bin (lower bound): [messages, right, sum of confidences]; see reliability_table
    reliability: dict[str, dict[float, list[float]]] = field(default_factory=dict)
    wrong_province: int = 0  # a province given that is not the label's: the complaint goes to an office that cannot act
    misclassified: dict[str, list[str]] = field(default_factory=dict)

    def accuracy(self, name: str) -> float:
        return self.correct[name] / self.total if self.total else 0.0

    def precision_recall(self, name: str, label: str) -> tuple[float, float]:
        tp, fp, fn = self.tp[(name, label)], self.fp[(name, label)], self.fn[(name, label)]
        return (tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0)

    def labels(self, name: str) -> list[str]:
        return sorted({label for (n, label) in (*self.tp, *self.fp, *self.fn) if n == name})

    def wrong_province_rate(self) -> float:
        return self.wrong_province / self.total if self.total else 0.0


def _count(report: Report, name: str, got: set[str], expected: set[str]) -> None:
    for label in got | expected:
        if label in got and label in expected:
            report.tp[(name, label)] += 1
        elif label in got:
            report.fp[(name, label)] += 1
        else:
            report.fn[(name, label)] += 1


def evaluate(rows: Iterable[dict[str, Any]]) -> Report:
    report = Report()
    for row in rows:
        labels = row["labels"]
        result = classify(row.get("subject"), row.get("body") or "", row.get("channel"))
        report.total += 1
        got_types, want_types = sorted(result.insurance_types), sorted(labels.get("insurance_types") or [])
        got_province, want_province = result.province_code, labels.get("province_code")
        got_category, want_category = result.category, labels.get("category")
        wrong = []
        for name, ok in (("insurance_types", got_types == want_types), ("province_code", got_province == want_province), ("category", got_category == want_category)):
            if ok:
                report.correct[name] += 1
            else:
                wrong.append(name)
        _count(report, "insurance_types", set(got_types), set(want_types))
        _count(report, "province_code", {str(got_province)}, {str(want_province)})
        _count(report, "category", {got_category}, {str(want_category)})
        for name, ok in (("insurance_types", got_types == want_types), ("province_code", got_province == want_province), ("category", got_category == want_category)):
            family = {"insurance_types": "insurance_types", "province_code": "province", "category": "category"}[name]
            if name == "province_code" and got_province is None:
                continue  # the province's confidence is that of a province given
            confidence = result.confidence.get(family, 0.0)
            cell = report.reliability.setdefault(name, {}).setdefault(_bin(confidence), [0, 0, 0.0])
            cell[0] += 1
            cell[1] += int(ok)
            cell[2] += confidence
        if got_province is not None and got_province != want_province:
            report.wrong_province += 1
        if got_province != want_province:
            report.province_confusions[(str(want_province), str(got_province))] += 1
        if wrong:
            report.misclassified[str(row.get("id"))] = wrong
    return report


RELIABILITY_BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)


def _bin(confidence: float) -> float:
    return max(bound for bound in RELIABILITY_BINS if confidence >= bound) if confidence >= 0 else 0.0


def reliability_table(report: Report) -> list[str]:
    """Per family and confidence bin: how many tags, their mean confidence, and the share right
    (calibrated, the two agree)."""
    lines = ["reliability (confidence bin: tags, mean confidence → share right):"]
    for name in ("insurance_types", "province_code", "category"):
        cells = report.reliability.get(name, {})
        parts = [f"≥{bound:.2f}: {cells[bound][0]:.0f}, {cells[bound][2] / cells[bound][0]:.2f} → {cells[bound][1] / cells[bound][0]:.2f}" for bound in sorted(cells)]
        lines.append(f"  {name}: " + "; ".join(parts))
    return lines


def headline(report: Report) -> str:
    """The four figures of issue 17 on one line."""
    return (
        f"insurance exact-set {report.accuracy('insurance_types'):.3f} · province {report.accuracy('province_code'):.3f} · "
        f"category {report.accuracy('category'):.3f} · wrong province {report.wrong_province_rate():.1%} ({report.wrong_province})"
    )


def render(report: Report) -> str:
    lines = [f"messages: {report.total}", headline(report), ""]
    for name in ("insurance_types", "province_code", "category"):
        lines.append(f"{name}: accuracy {report.accuracy(name):.3f}")
        if name != "province_code":
            for label in report.labels(name):
                precision, recall = report.precision_recall(name, label)
                lines.append(f"  {label:<10} precision {precision:.3f}  recall {recall:.3f}")
    precision, recall = report.precision_recall("province_code", "None")
    lines.append(f"  province null: precision {precision:.3f}  recall {recall:.3f}")
    lines.append("")
    lines.extend(reliability_table(report))
    lines.append("")
    lines.append("province confusions (expected → got):")
    for (want, got), count in report.province_confusions.most_common():
        lines.append(f"  {want} → {got}: {count}")
    lines.append("")
    lines.append("misclassified:")
    for row_id, fields in report.misclassified.items():
        lines.append(f"  {row_id}: {', '.join(fields)}")
    return "\n".join(lines)
