"""What the question-bank pages show and read back: the entry list with its search and status
filter, one entry with its versions, the edit form's values, the clusters' period. Pure
functions over stored rows and form fields; the handlers (web/pages_bank.py) do the I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from qbank.entry import INSURANCE_TYPES, STATUSES, BankEntry, EntryError, entry_from_mapping
from qbank.models import BankEntryRow, BankEntryVersion
from tickets.labels import TIMEZONE, format_time
from tickets.textfold import fold

STATUS_LABELS = {"draft": "Nháp", "published": "Đã công bố", "retired": "Ngừng dùng"}
FIELD_LABELS = {
    "question": "câu hỏi", "alternatives": "cách hỏi khác", "answer": "câu trả lời", "insurance_type": "loại bảo hiểm",
    "topic": "chủ đề", "legal_basis": "căn cứ pháp lý", "status": "trạng thái",
}
MAX_QUESTION = 2_000
MAX_ANSWER = 10_000
MAX_LEGAL_BASIS = 2_000
MAX_ALTERNATIVES = 50
PERIODS = (("7", "7 ngày qua"), ("30", "30 ngày qua"), ("90", "90 ngày qua"), ("365", "12 tháng qua"))
DEFAULT_PERIOD_DAYS = 30


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def status_choices(with_any: bool = False) -> list[tuple[str, str]]:
    return ([("", "Tất cả")] if with_any else []) + [(s, STATUS_LABELS[s]) for s in STATUSES]


def insurance_choices() -> list[tuple[str, str]]:
    return [("", "Không ghi")] + [(k, k) for k in INSURANCE_TYPES]


def _searchable(row: BankEntryRow) -> str:
    return fold(" ".join([row.key, row.question, *row.alternatives, row.answer, row.topic, row.legal_basis]))


def matching_rows(rows: Iterable[BankEntryRow], query: str, status: str) -> list[BankEntryRow]:
    """The rows with this status (any when empty) holding every word of the query, tone marks
    and đ/d ignored ("the muc huong" finds "thẻ", "mức hưởng")."""
    words = fold(query).split()
    kept = []
    for row in rows:
        if status and row.status != status:
            continue
        text = _searchable(row) if words else ""
        if all(word in text for word in words):
            kept.append(row)
    return kept


def entry_row_view(row: BankEntryRow) -> dict[str, Any]:
    return {
        "id": row.id, "key": row.key, "question": row.question, "topic": row.topic, "insurance_type": row.insurance_type or "",
        "status": row.status, "status_label": status_label(row.status), "version": row.version,
        "changed_by": row.changed_by, "changed_text": format_time(row.changed_at),
    }


def changed_fields(before: BankEntryVersion | None, after: BankEntryVersion) -> list[str]:
    """The fields a version changed, in Vietnamese ("câu trả lời, trạng thái")."""
    if before is None:
        return ["tạo mới"]
    return [label for name, label in FIELD_LABELS.items() if getattr(before, name) != getattr(after, name)]


def version_views(versions: Sequence[BankEntryVersion]) -> list[dict[str, Any]]:
    """Newest first, each with who changed what and when."""
    views = []
    for number, version in enumerate(versions):
        previous = versions[number - 1] if number else None
        views.append({
            "version": version.version, "changed_by": version.changed_by, "changed_text": format_time(version.changed_at),
            "status_label": status_label(version.status), "changes": ", ".join(changed_fields(previous, version)) or "không đổi nội dung",
            "question": version.question, "answer": version.answer,
        })
    return list(reversed(views))


def form_values(row: BankEntryRow) -> dict[str, str]:
    """The edit form filled with the entry as it stands."""
    return {
        "question": row.question, "alternatives": "\n".join(row.alternatives), "answer": row.answer,
        "insurance_type": row.insurance_type or "", "topic": row.topic, "legal_basis": row.legal_basis,
        "status": row.status, "version": str(row.version),
    }


@dataclass(frozen=True)
class EntryForm:
    values: dict[str, str]  # what the person typed, to show again when it is refused
    entry: BankEntry | None
    problems: tuple[str, ...]


def read_entry_form(key: str, form: Mapping[str, Any]) -> EntryForm:
    """The edit form as an entry (control characters stripped by qbank.entry), or the problems,
    in Vietnamese, that keep it from being one. Nothing typed is dropped from `values`."""
    values = {name: str(form.get(name, "") or "") for name in (*FIELD_LABELS, "version")}
    problems = []
    for name, limit in (("question", MAX_QUESTION), ("answer", MAX_ANSWER), ("legal_basis", MAX_LEGAL_BASIS)):
        if len(values[name].strip()) > limit:
            problems.append(f"{FIELD_LABELS[name].capitalize()} dài quá {limit} ký tự; hãy rút gọn")
    alternatives = [line.strip() for line in values["alternatives"].splitlines() if line.strip()]
    if len(alternatives) > MAX_ALTERNATIVES:
        problems.append(f"Nhiều nhất {MAX_ALTERNATIVES} cách hỏi khác")
    if any(len(line) > MAX_QUESTION for line in alternatives):
        problems.append(f"Mỗi cách hỏi khác dài nhiều nhất {MAX_QUESTION} ký tự")
    if len(values["topic"].strip()) > 200:
        problems.append("Chủ đề dài quá 200 ký tự")
    if values["status"] not in STATUSES:
        problems.append("Hãy chọn trạng thái: nháp, đã công bố hoặc ngừng dùng")
    if problems:
        return EntryForm(values, None, tuple(problems))
    try:
        entry = entry_from_mapping({
            "id": key, "question": values["question"], "alternatives": alternatives, "answer": values["answer"],
            "insurance_type": values["insurance_type"], "topic": values["topic"].strip(), "legal_basis": values["legal_basis"],
            "status": values["status"],
        })
    except EntryError as exc:
        return EntryForm(values, None, (_sentence(str(exc)),))
    return EntryForm(values, entry, ())


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime
    days: str  # the chosen preset ("30"), "" when dates were given
    date_from: str  # yyyy-mm-dd, local
    date_to: str
    problem: str | None = None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(TIMEZONE))


def read_period(params: Mapping[str, str], today: date) -> Period:
    """The clusters' period: from/to dates (local, both included) when given, else the last
    `days` days up to today (30 by default). A date that is not one is named, and ignored."""
    date_from, date_to = params.get("from", "").strip(), params.get("to", "").strip()
    if date_from or date_to:
        try:
            first = datetime.strptime(date_from, "%Y-%m-%d").date() if date_from else today - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
            last = datetime.strptime(date_to, "%Y-%m-%d").date() if date_to else today
        except ValueError:
            problem = "Ngày không hợp lệ (năm-tháng-ngày); đang xem 30 ngày qua."
        else:
            if first <= last:
                return Period(_local_midnight(first), _local_midnight(last + timedelta(days=1)), "", first.isoformat(), last.isoformat())
            problem = "Ngày bắt đầu sau ngày kết thúc; đang xem 30 ngày qua."
        days = DEFAULT_PERIOD_DAYS
    else:
        problem = None
        days = int(params.get("days", "")) if params.get("days", "") in {p for p, _ in PERIODS} else DEFAULT_PERIOD_DAYS
    first = today - timedelta(days=days - 1)
    return Period(_local_midnight(first), _local_midnight(today + timedelta(days=1)), str(days), first.isoformat(), today.isoformat(), problem)
