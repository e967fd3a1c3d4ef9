"""Figures for retrieval on labeled questions: hit@1, hit@3, MRR, and how often a question no
entry answers gets no suggestion. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from qbank.retrieve import DEFAULT_THRESHOLD, BankIndex, Suggestion, suggest


@dataclass(frozen=True)
class BankReport:
    answerable: int
    unanswerable: int
    hit_at_1: float
    hit_at_3: float
    mrr: float
    no_suggestion_when_none: float
    misses: list[tuple[str, list[str], list[str]]]  # (query id, expected, suggested)

    def to_json(self) -> dict[str, object]:
        return {
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "hit@1": round(self.hit_at_1, 4),
            "hit@3": round(self.hit_at_3, 4),
            "mrr": round(self.mrr, 4),
            "no_suggestion_when_none": round(self.no_suggestion_when_none, 4),
        }


def score_runs(runs: Iterable[tuple[str, Sequence[str], Sequence[Suggestion]]]) -> BankReport:
    """Figures from (query id, the entries that answer it, what was suggested)."""
    answerable = unanswerable = hit1 = hit3 = silent = 0
    reciprocal = 0.0
    misses = []
    for query_id, expected, suggestions in runs:
        suggested = [s.entry_id for s in suggestions]
        if not expected:
            unanswerable += 1
            silent += not suggested
            if suggested:
                misses.append((query_id, [], suggested))
            continue
        answerable += 1
        ranks = [rank for rank, entry_id in enumerate(suggested, 1) if entry_id in expected]
        if ranks:
            hit1 += ranks[0] == 1
            hit3 += ranks[0] <= 3
            reciprocal += 1 / ranks[0]
        if not ranks or ranks[0] != 1:
            misses.append((query_id, list(expected), suggested))
    return BankReport(
        answerable=answerable,
        unanswerable=unanswerable,
        hit_at_1=hit1 / answerable if answerable else 0.0,
        hit_at_3=hit3 / answerable if answerable else 0.0,
        mrr=reciprocal / answerable if answerable else 0.0,
        no_suggestion_when_none=silent / unanswerable if unanswerable else 1.0,
        misses=misses,
    )


def evaluate_bank(index: BankIndex, queries: Iterable[dict[str, Any]], threshold: float = DEFAULT_THRESHOLD) -> BankReport:
    return score_runs(
        (str(q.get("id")), list(q.get("answer_ids") or []), suggest(index, q.get("subject"), q.get("body") or "", threshold=threshold))
        for q in queries
    )


def render(report: BankReport) -> str:
    lines = [
        f"Câu hỏi có mục trả lời: {report.answerable}; không có mục nào: {report.unanswerable}",
        f"hit@1: {report.hit_at_1:.3f}",
        f"hit@3: {report.hit_at_3:.3f}",
        f"MRR:   {report.mrr:.3f}",
        f"Không gợi ý khi không có mục phù hợp: {report.no_suggestion_when_none:.3f}",
    ]
    if report.misses:
        lines.append("Trượt (mã câu hỏi: mục đúng → mục gợi ý):")
        lines += [f"  {qid}: {', '.join(exp) or '—'} → {', '.join(got) or '—'}" for qid, exp, got in report.misses]
    return "\n".join(lines)
