"""What the pages show, as pure functions of stored rows: tag chips, the evidence highlighted in
the text, events in plain Vietnamese, pagination. No database, no request: easy to test.

Evidence offsets (`classifiers.result.Evidence`) point into the subject, or into the body the
classifiers read: the request messages' clean texts joined by a blank line
(`tickets.pipeline.request_text`). A span is highlighted only where the text still reads the
phrase it recorded, so a message edited after tagging never gets a misplaced mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from web.pages_labels import (
    actor_label,
    priority_label,
    role_label,
    category_label,
    channel_label,
    escalation_status_label,
    event_sentence,
    format_time,
    province_label,
    tag_label,
    ticket_status_label,
)

BODY_SEPARATOR = "\n\n"  # tickets.pipeline.request_text joins request messages with this


@dataclass(frozen=True)
class Segment:
    text: str
    tag: str | None = None  # the evidence's tag ("insurance:BHYT"), None for plain text
    label: str | None = None  # the tag in Vietnamese, shown as the mark's title


@dataclass(frozen=True)
class Chip:
    family: str  # insurance | province | category | topic
    label: str
    confidence: str | None  # "90%", None when the classifier gave none
    locked: bool = False


@dataclass(frozen=True)
class Page:
    number: int
    pages: int
    total: int
    size: int
    previous_url: str | None
    next_url: str | None

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def summary(self) -> str:
        if self.total == 0:
            return "Không có mục nào."
        first, last = self.offset + 1, min(self.total, self.offset + self.size)
        return f"Hiển thị {first}–{last} trong {self.total} mục."


def percent(value: float | None) -> str | None:
    return None if value is None else f"{round(value * 100)}%"


def tag_chips(
    insurance_types: Sequence[str],
    province_code: str | None,
    category: str | None,
    topics: Sequence[str],
    confidence: Mapping[str, float],
    locked: bool = False,
) -> list[Chip]:
    chips = [Chip("category", category_label(category), percent(confidence.get("category")), locked)] if category else []
    chips += [Chip("insurance", kind, percent(confidence.get("insurance_types")), locked) for kind in insurance_types]
    if province_code:
        chips.append(Chip("province", province_label(province_code), percent(confidence.get("province")), locked))
    chips += [Chip("topic", topic, None, locked) for topic in topics]
    return chips


def _spans(text: str, evidence: Iterable[Mapping[str, Any]], field: str, shift: int = 0) -> list[tuple[int, int, str]]:
    """(start, end, tag) within `text` for the evidence of `field`, offsets moved by `shift`."""
    spans = []
    for item in evidence:
        if item.get("field") != field:
            continue
        try:
            start, end = int(item["start"]) - shift, int(item["end"]) - shift
        except (KeyError, TypeError, ValueError):
            continue
        if 0 <= start < end <= len(text) and text[start:end] == item.get("phrase"):
            spans.append((start, end, str(item.get("tag", ""))))
    return spans


def highlight(text: str, spans: Iterable[tuple[int, int, str]]) -> list[Segment]:
    """The text cut into plain and marked segments; of overlapping spans the earlier (then the
    longer) wins. The segments are escaped by the template, never marked safe."""
    segments: list[Segment] = []
    position = 0
    for start, end, tag in sorted(spans, key=lambda span: (span[0], -span[1])):
        if start < position:
            continue
        if start > position:
            segments.append(Segment(text[position:start]))
        segments.append(Segment(text[start:end], tag, tag_label(tag)))
        position = end
    if position < len(text) or not segments:
        segments.append(Segment(text[position:]))
    return segments


def subject_segments(subject: str, evidence: Iterable[Mapping[str, Any]]) -> list[Segment]:
    return highlight(subject, _spans(subject, evidence, "subject"))


def body_segments(request_texts: Sequence[str], evidence: Sequence[Mapping[str, Any]]) -> list[list[Segment]]:
    """One list of segments per request message, in the order the classifiers read them."""
    result, shift = [], 0
    for text in request_texts:
        result.append(highlight(text, _spans(text, evidence, "body", shift)))
        shift += len(text) + len(BODY_SEPARATOR)
    return result


def evidence_sentences(evidence: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per tag: "BHYT: “thẻ BHYT” (tiêu đề), “khám bệnh”" — each phrase once."""
    phrases: dict[str, list[str]] = {}
    for item in evidence:
        tag, phrase = str(item.get("tag", "")), str(item.get("phrase", "")).strip()
        if not phrase:
            continue
        shown = f"“{phrase}”" + (" (tiêu đề)" if item.get("field") == "subject" else "")
        found = phrases.setdefault(tag, [])
        if shown not in found:
            found.append(shown)
    return [f"{tag_label(tag)}: {', '.join(found)}" for tag, found in phrases.items()]


def paginate(total: int, number: int, size: int, base_path: str, query: Mapping[str, str]) -> Page:
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)

    def url(page: int) -> str:
        params = {k: v for k, v in query.items() if v and k != "page"}
        if page > 1:
            params["page"] = str(page)
        return f"{base_path}?{urlencode(params)}" if params else base_path

    return Page(number, pages, total, size, url(number - 1) if number > 1 else None, url(number + 1) if number < pages else None)


def sla_state(due_at: datetime | None, status: str, now: datetime) -> str:
    """"late" past its due time while the unit has not answered, "ok" otherwise, "" when not sent."""
    if due_at is None:
        return ""
    if status in ("sent", "overdue") and due_at <= now:
        return "late"
    return "ok"


__all__ = [
    "actor_label",
    "priority_label",
    "role_label",
    "Chip",
    "Page",
    "Segment",
    "body_segments",
    "category_label",
    "channel_label",
    "escalation_status_label",
    "event_sentence",
    "evidence_sentences",
    "format_time",
    "highlight",
    "paginate",
    "percent",
    "province_label",
    "sla_state",
    "subject_segments",
    "tag_chips",
    "tag_label",
    "ticket_status_label",
]
