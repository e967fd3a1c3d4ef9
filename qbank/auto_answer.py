"""Whether the system may answer a question by itself from the bank. Pure; sending comes with
the answering work (issue 14, part 2)."""

from __future__ import annotations

from dataclasses import dataclass

from config.settings import AutoAnswerConfig
from qbank.entry import BankEntry
from qbank.retrieve import Suggestion


@dataclass(frozen=True)
class AutoAnswerDecision:
    answer: bool
    reason: str  # Vietnamese, shown in the ticket's events and reports
    entry_id: str | None = None
    text: str | None = None  # the answer with the automatic-answer notice, when answer is True


def auto_answer_decision(
    config: AutoAnswerConfig,
    channel: str,
    category: str | None,
    suggestions: list[Suggestion],
    entries: dict[str, BankEntry],
) -> AutoAnswerDecision:
    """Answer automatically only when switched on, for a question on a chosen channel, whose best
    suggestion is a published entry of a chosen topic scoring at least min_score."""
    if not config.enabled:
        return AutoAnswerDecision(False, "trả lời tự động đang tắt")
    if category != "question":
        return AutoAnswerDecision(False, "phiếu không phải câu hỏi")
    if channel not in config.channels:
        return AutoAnswerDecision(False, f"kênh {channel} không được trả lời tự động")
    if not suggestions:
        return AutoAnswerDecision(False, "không có mục nào trong ngân hàng câu hỏi phù hợp")
    best = suggestions[0]
    entry = entries.get(best.entry_id)
    if entry is None or entry.status != "published":
        return AutoAnswerDecision(False, f"mục {best.entry_id} chưa được công bố", best.entry_id)
    if entry.topic not in config.topics:
        return AutoAnswerDecision(False, f"chủ đề '{entry.topic}' không được trả lời tự động", entry.id)
    if best.score < config.min_score:
        return AutoAnswerDecision(False, f"độ phù hợp {best.score:.2f} dưới ngưỡng {config.min_score:.2f}", entry.id)
    return AutoAnswerDecision(True, f"mục {entry.id}, độ phù hợp {best.score:.2f}", entry.id, f"{entry.answer}\n\n{config.notice}")
