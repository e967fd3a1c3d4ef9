"""The Vietnamese words people read for the store's codes: statuses, categories, channels,
insurance types, provinces, event kinds; one date format; the plain reason a ticket was routed.

Pure functions over plain values, shared by the CLI, the mails to units and the web pages, so
a status or an event reads the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo



def province_name(code: str) -> str | None:
    # The province map (vietnam_provinces) is loaded when a label first needs it, not at import:
    # the CLI's help screens and `classify` start without it.
    from tickets.places import province_name as name_of

    return name_of(code)

TIMEZONE = "Asia/Ho_Chi_Minh"
TIME_FORMAT = "%d/%m/%Y %H:%M"

TICKET_STATUSES = {
    "new": "mới",
    "triaged": "đã phân loại",
    "escalated": "đã chuyển",
    "unit_responded": "đơn vị đã phản hồi",
    "answered": "đã trả lời, chờ công dân",
    "resolved": "đã giải quyết",
    "closed": "đã đóng",
    "spam": "rác",
}
ESCALATION_STATUSES = {
    "proposed": "chờ duyệt",
    "approved": "đã duyệt",
    "rerouted": "đã chuyển đơn vị khác",
    "rejected": "từ chối",
    "queued": "chờ gửi tổng hợp",
    "sending": "đang gửi",
    "sent": "đã gửi",
    "overdue": "quá hạn",
    "acknowledged": "đơn vị đã phản hồi",
    "resolved": "đã giải quyết",
    "failed": "gửi thất bại",
}
CATEGORIES = {"complaint": "phản ánh", "question": "hỏi đáp", "other": "khác"}
# How a sentence about a ticket starts: "Phản ánh về BHXH", "Câu hỏi về BHYT".
CATEGORY_OPENINGS = {"complaint": "Phản ánh", "question": "Câu hỏi", "other": "Thư"}
CHANNELS = {"email": "thư điện tử", "facebook_message": "tin nhắn fanpage", "facebook_comment": "bình luận fanpage"}
CHANNELS_SHORT = {"email": "email", "facebook_message": "FB nhắn tin", "facebook_comment": "FB bình luận"}
# The web portal and the call center (issue 18, docs/channels.md).
CHANNELS.update({"portal": "câu hỏi qua cổng thông tin", "call": "cuộc gọi tổng đài"})
CHANNELS_SHORT.update({"portal": "cổng TT", "call": "tổng đài"})
INSURANCE_TYPES = {"BHXH": "BHXH", "BHYT": "BHYT", "BHTN": "BHTN"}
INSURANCE_NAMES = {"BHXH": "bảo hiểm xã hội", "BHYT": "bảo hiểm y tế", "BHTN": "bảo hiểm thất nghiệp"}
PRIORITIES = {"low": "thấp", "normal": "bình thường", "high": "cao", "urgent": "khẩn"}
DIRECTIONS = {"inbound": "người dân gửi", "outbound": "trung tâm gửi"}
ACTOR_SYSTEM = "hệ thống"

EVENT_KINDS = {
    "created": "Tạo phiếu",
    "message_added": "Thêm tin nhắn",
    "message_edited": "Tin nhắn được sửa",
    "message_deleted": "Tin nhắn bị xoá",
    "tagged": "Gắn nhãn",
    "status_changed": "Đổi trạng thái",
    "first_response": "Phản hồi đầu tiên",
    "escalation_proposed": "Đề xuất chuyển xử lý",
    "escalation_approved": "Duyệt chuyển xử lý",
    "escalation_rerouted": "Chuyển sang đơn vị khác",
    "escalation_rejected": "Từ chối chuyển xử lý",
    "escalation_retargeted": "Đề xuất đổi đơn vị",
    "escalation_queued": "Xếp vào thư tổng hợp",
    "escalation_sent": "Đã gửi cho đơn vị",
    "escalation_reminder_sent": "Đã gửi thư nhắc",
    "escalation_digest_sent": "Đã gửi thư tổng hợp",
    "escalation_delivery_refused": "Chưa gửi được",
    "escalation_delivery_failed": "Gửi lỗi",
    "escalation_overdue": "Quá hạn phản hồi",
    "escalation_acknowledged": "Đơn vị đã phản hồi",
    "escalation_bounced": "Thư bị trả lại",
    "escalation_resolved": "Đóng chuyển xử lý",
    # what people do on the web pages (tickets/actions.py, web/office_reply.py)
    "tags_corrected": "Sửa nhãn",
    "merged_from": "Gộp phiếu khác vào",
    "merged_into": "Gộp vào phiếu khác",
    "message_split": "Tách tin nhắn",
    "reopened": "Mở lại phiếu",
    "note_added": "Thêm ghi chú nội bộ",
    "assigned": "Giao việc",
    "office_answered": "Đơn vị trả lời trên trang",
    "office_not_ours": "Đơn vị báo không thuộc thẩm quyền",
    # answering the citizen (tickets/answering.py, notifiers/answer_delivery.py)
    "answer_requested": "Soạn câu trả lời cho công dân",
    "answer_sent": "Đã trả lời công dân",
    "answer_delivery_failed": "Gửi câu trả lời lỗi, sẽ thử lại",
    "answer_failed": "Không gửi được câu trả lời",
    # the question bank's part in answering (qbank/auto_reply_stage.py, web/pages_answers.py)
    "auto_answered": "Trả lời tự động từ ngân hàng câu hỏi",
    "answer_saved_as_draft": "Lưu câu trả lời thành câu hỏi mẫu (nháp)",
}
# The words for an event's data fields; a field not listed is shown by its key.
EVENT_FIELDS = {
    "channel": "kênh",
    "source": "nguồn",
    "message_id": "tin nhắn",
    "direction": "chiều",
    "auto_reply": "thư tự động",
    "bounce": "thư báo lỗi",
    "adopted": "ghép vào phiếu",
    "insurance_types": "loại bảo hiểm",
    "province_code": "tỉnh/thành",
    "province_candidate": "tỉnh/thành chưa chắc (chờ điều phối viên)",
    "category": "phân loại",
    "topics": "chủ đề",
    "confidence": "độ tin cậy",
    "escalation_id": "đề xuất số",
    "escalation_ids": "đề xuất số",
    "unit": "đơn vị",
    "previous_unit": "đơn vị trước",
    "rule": "quy tắc",
    "reason": "lý do",
    "previous": "trước",
    "status": "trạng thái",
    "notification": "loại thư",
    "error": "lỗi",
    "permanent": "không thử lại",
    "attempt": "lần gửi",
    "due_at": "hạn",
    "at": "lúc",
    "by": "bởi",
    "assignee": "người nhận",
    "answer_id": "câu trả lời số",
    "mode": "cách trả lời",
    "entry_id": "mục ngân hàng câu hỏi",
    "automatic": "tự động",
    "external_id": "mã trên nền tảng",
    "entry": "mục ngân hàng câu hỏi",
}
CONFIDENCE_FAMILIES = {"insurance_types": "loại bảo hiểm", "province": "tỉnh/thành", "category": "phân loại"}
NOTIFICATION_KINDS = {"escalation": "chuyển xử lý", "reminder": "thư nhắc", "digest": "thư tổng hợp"}


class EventLike(Protocol):
    kind: str
    actor: str
    data: dict[str, Any]


def format_time(value: datetime | None, tz: str = TIMEZONE) -> str:
    """The one date format people read: dd/mm/yyyy HH:MM in Vietnam's time ("" when unknown)."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime(TIME_FORMAT)


def status_label(status: str) -> str:
    return TICKET_STATUSES.get(status, status)


def escalation_status_label(status: str) -> str:
    return ESCALATION_STATUSES.get(status, status)


def category_label(category: str | None) -> str:
    return CATEGORIES.get(category or "", category or "chưa rõ")


def channel_label(channel: str, *, short: bool = False) -> str:
    return (CHANNELS_SHORT if short else CHANNELS).get(channel, channel)


def priority_label(priority: str) -> str:
    return PRIORITIES.get(priority, priority)


def insurance_label(types: Iterable[str]) -> str:
    """"BHXH, BHYT"; "" when none."""
    return ", ".join(INSURANCE_TYPES.get(t, t) for t in types)


def province_label(code: str | None) -> str:
    """"79 Thành phố Hồ Chí Minh"; "" when unknown; an unknown code is shown as it is."""
    if not code:
        return ""
    name = province_name(code)
    return f"{code} {name}" if name else code


# A unit's Vietnamese name by its id (None when the directory has no such unit); the callers
# pass one built from the unit directory (tickets/directory.py), so this module reads no file.
UnitNames = Callable[[str], "str | None"]
UNIT_FIELDS = frozenset({"unit", "previous_unit"})


def unit_label(unit_id: str, unit_names: UnitNames | None = None) -> str:
    """"BHXH Thành phố Hồ Chí Minh (province-79)": the name people read, the id beside it;
    the id alone when the name is unknown."""
    name = unit_names(unit_id) if unit_names is not None and unit_id else None
    return f"{name} ({unit_id})" if name and name != unit_id else unit_id


def actor_text(actor: str, unit_names: UnitNames | None = None) -> str:
    """Who did it: "hệ thống", a unit (its name, as unit_label) or a user's name as it is."""
    if actor in ("", "system"):
        return ACTOR_SYSTEM
    return unit_label(actor, unit_names)


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " và " + words[-1]


def _value_text(key: str, value: Any, tz: str, unit_names: UnitNames | None = None) -> str:
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, datetime):
        return format_time(value, tz)
    if key in ("at", "due_at") and isinstance(value, str):
        try:  # times arrive as ISO text once stored in the event's JSON
            return format_time(datetime.fromisoformat(value), tz)
        except ValueError:
            return value
    if key in UNIT_FIELDS and isinstance(value, str):
        return unit_label(value, unit_names)
    if key == "by" and value == "unit":
        return "đơn vị"
    if key == "category":
        return category_label(str(value))
    if key in ("status", "previous"):
        return TICKET_STATUSES.get(str(value), ESCALATION_STATUSES.get(str(value), str(value)))
    if key in ("province_code", "province_candidate"):
        return province_label(str(value))
    if key == "direction":
        return DIRECTIONS.get(str(value), str(value))
    if key == "channel":
        return channel_label(str(value))
    if key == "notification":
        return NOTIFICATION_KINDS.get(str(value), str(value))
    if key == "confidence" and isinstance(value, Mapping):
        return ", ".join(f"{CONFIDENCE_FAMILIES.get(k, k)} {float(v):.0%}" for k, v in value.items() if isinstance(v, int | float))
    if key in ("message_id", "escalation_id") and isinstance(value, int):
        return f"#{value}"
    if isinstance(value, Mapping):
        return ", ".join(f"{EVENT_FIELDS.get(str(k), str(k))} {_value_text(str(k), v, tz, unit_names)}" for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return ", ".join(_value_text(key, v, tz, unit_names) for v in value)
    return str(value)


def event_label(kind: str) -> str:
    return EVENT_KINDS.get(kind, kind.replace("_", " "))


def event_details(data: Mapping[str, Any], tz: str = TIMEZONE, unit_names: UnitNames | None = None) -> str:
    """"loại bảo hiểm: BHTN, BHXH; phân loại: phản ánh" — no Python reprs; a unit by its name
    when `unit_names` knows it ("đơn vị: BHXH Thành phố Hồ Chí Minh (province-79)")."""
    parts = []
    for key, value in data.items():
        if value is None or value == [] or value == {} or value == "":
            continue
        if key in ("auto_reply", "bounce", "adopted", "permanent") and value is False:
            continue  # only what is true is worth saying
        parts.append(f"{EVENT_FIELDS.get(key, key.replace('_', ' '))}: {_value_text(key, value, tz, unit_names)}")
    return "; ".join(parts)


def describe_event(event: EventLike, tz: str = TIMEZONE, unit_names: UnitNames | None = None) -> str:
    """One event in a sentence: "Gắn nhãn (hệ thống) — loại bảo hiểm: BHXH; phân loại: phản ánh"."""
    actor = actor_text(event.actor, unit_names)
    details = event_details(event.data or {}, tz, unit_names)
    return f"{event_label(event.kind)} ({actor})" + (f" — {details}" if details else "")


def _phrases(evidence: Iterable[Mapping[str, Any]], tag: str, limit: int = 2) -> list[str]:
    found: list[str] = []
    for item in evidence:
        phrase = str(item.get("phrase", "")).strip()
        if item.get("tag") == tag and phrase and phrase.casefold() not in (f.casefold() for f in found):
            found.append(phrase)
    return found[:limit]


def _quoted(phrases: list[str]) -> str:
    return ", ".join(f"“{p}”" for p in phrases)


def evidence_sentence(
    category: str | None,
    insurance_types: Iterable[str],
    province_code: str | None,
    evidence: Iterable[Mapping[str, Any]] = (),
    topics: Iterable[str] = (),
) -> str:
    """Why a ticket went where it went, in plain words:
    'Phản ánh về BHXH (từ “nợ đóng”); địa phương: Cà Mau (từ “huyện Năm Căn”); chủ đề: nợ đóng'.
    """
    evidence = list(evidence)
    types = list(insurance_types)
    opening = CATEGORY_OPENINGS.get(category or "", "Thư")
    cues = _phrases(evidence, f"category:{category}") if category in ("complaint", "question") else []
    first = opening + (f" về {_join(types)}" if types else "")
    insurance_cues = [p for t in types for p in _phrases(evidence, f"insurance:{t}", 1)]
    shown = cues + [p for p in insurance_cues if p not in cues]
    if shown:
        first += f" (từ {_quoted(shown[:3])})"
    parts = [first]
    if province_code:
        name = province_name(province_code) or province_code
        where = _phrases(evidence, f"province:{province_code}")
        parts.append(f"địa phương: {name}" + (f" (từ {_quoted(where)})" if where else ""))
    else:
        parts.append("địa phương: chưa xác định")
    topic_list = list(topics)
    if topic_list:
        parts.append(f"chủ đề: {', '.join(topic_list)}")
    return "; ".join(parts)
