"""A question-bank entry as retrieval and files see it (no database), and the sample's JSONL format."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from tickets.normalized import safe_line, safe_text

Status = Literal["draft", "published", "retired"]
STATUSES: tuple[str, ...] = ("draft", "published", "retired")
INSURANCE_TYPES: tuple[str, ...] = ("BHXH", "BHYT", "BHTN")


class EntryError(ValueError):
    """A row that is not a valid entry; the message is Vietnamese and names the problem."""


@dataclass(frozen=True)
class BankEntry:
    id: str
    question: str
    answer: str
    alternatives: tuple[str, ...] = ()
    insurance_type: str | None = None
    topic: str = ""
    legal_basis: str = ""
    status: str = "published"
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def entry_from_mapping(row: dict[str, Any]) -> BankEntry:
    """A row (JSONL object or table row) as an entry; raises EntryError with a Vietnamese reason."""
    # Text from a file may hold terminal escapes or control characters: they never reach the
    # database, a terminal or a mail (tickets.normalized.safe_text).
    problems = []
    entry_id = safe_line(str(row.get("id") or ""))
    question = safe_text(str(row.get("question") or "")).strip()
    answer = safe_text(str(row.get("answer") or "")).strip()
    if not entry_id:
        problems.append("thiếu mã (id)")
    if not question:
        problems.append("thiếu câu hỏi (question)")
    if not answer:
        problems.append("thiếu câu trả lời (answer)")
    insurance = row.get("insurance_type")
    insurance = str(insurance).strip().upper() if insurance not in (None, "") else None
    if insurance is not None and insurance not in INSURANCE_TYPES:
        problems.append(f"loại bảo hiểm '{insurance}' không hợp lệ (BHXH, BHYT, BHTN hoặc để trống)")
    status = str(row.get("status") or "published").strip().lower()
    if status not in STATUSES:
        problems.append(f"trạng thái '{status}' không hợp lệ (draft, published, retired)")
    alternatives = row.get("alternatives") or ()
    if isinstance(alternatives, str):
        alternatives = [line for line in alternatives.split("\n")]
    alternatives = tuple(safe_line(str(a)) for a in alternatives if safe_line(str(a)))
    if problems:
        raise EntryError("; ".join(problems))
    return BankEntry(
        id=entry_id,
        question=question,
        answer=answer,
        alternatives=alternatives,
        insurance_type=insurance,
        topic=safe_line(str(row.get("topic") or "")),
        legal_basis=safe_text(str(row.get("legal_basis") or "")).strip(),
        status=status,
    )


def entry_to_mapping(entry: BankEntry) -> dict[str, Any]:
    """The sample's JSONL shape (plus the bank's own fields)."""
    return {
        "id": entry.id,
        "topic": entry.topic,
        "insurance_type": entry.insurance_type,
        "question": entry.question,
        "alternatives": list(entry.alternatives),
        "answer": entry.answer,
        "legal_basis": entry.legal_basis,
        "status": entry.status,
    }


def read_jsonl_entries(lines: Iterable[str]) -> Iterator[tuple[int, BankEntry | EntryError]]:
    """(line number, entry or the reason the line is not one) for each non-blank line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, EntryError(f"không phải JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            yield number, EntryError("không phải một đối tượng JSON")
            continue
        try:
            yield number, entry_from_mapping(row)
        except EntryError as exc:
            yield number, exc


def load_jsonl_bank(path: str) -> list[BankEntry]:
    """All entries of a JSONL bank; raises EntryError naming the first bad line."""
    entries = []
    with open(path, encoding="utf-8") as stream:
        for number, item in read_jsonl_entries(stream):
            if isinstance(item, EntryError):
                raise EntryError(f"{path}, dòng {number}: {item}")
            entries.append(item)
    return entries
