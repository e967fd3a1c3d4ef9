"""The messages units and coordinators read, in Vietnamese: pure functions of a view.

An escalation mail carries the ticket reference in its subject ("[TN-000123] Phản ánh BHYT -
Đồng Nai"), the tags with their evidence, the citizen's messages, the attachments (attached up
to a limit, listed beyond it) and how to answer: the Reply-To holds the ticket's token, so the
answer threads back into the ticket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

from tickets.labels import CATEGORY_OPENINGS, CHANNELS, PRIORITIES, TIMEZONE, category_label, evidence_sentence, format_time, insurance_label

TZ = ZoneInfo(TIMEZONE)
CATEGORY_LABELS = CATEGORY_OPENINGS
PRIORITY_NAMES = PRIORITIES
CHANNEL_NAMES = CHANNELS
KIND_PREFIX = {"escalation": "", "reminder": "[Nhắc lại] ", "digest": ""}


@dataclass(frozen=True)
class AttachmentView:
    filename: str
    content_type: str
    size: int
    content: bytes | None  # None: not kept (too large) or a link only
    url: str | None = None


@dataclass(frozen=True)
class MessageView:
    sent_at: datetime | None
    sender: str
    text: str


@dataclass(frozen=True)
class EscalationView:
    escalation_id: int
    reference: str  # TN-000123
    unit_id: str
    unit_name: str
    reply_address: str | None
    subject: str
    channel: str
    category: str | None
    insurance_types: tuple[str, ...]
    province_name: str
    topics: tuple[str, ...]
    confidence: dict[str, float]
    evidence: tuple[dict[str, Any], ...]
    priority: str
    due_at: datetime | None
    sender: str
    messages: tuple[MessageView, ...]
    attachments: tuple[AttachmentView, ...] = field(default=())
    note: str | None = None  # the coordinator's reason, when given
    page_url: str | None = None  # the ticket's page in the web app, when web.public_base_url is set
    province_code: str | None = None  # the 2025 code behind province_name


def routing_reason(view: EscalationView) -> str:
    """Why the ticket came to this unit, in plain words (no classifier keys)."""
    return evidence_sentence(view.category, view.insurance_types, view.province_code, view.evidence, view.topics)


def local(value: datetime | None) -> str:
    return format_time(value) or "không rõ"


def size_text(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def escalation_subject(view: EscalationView, kind: str = "escalation") -> str:
    """"[TN-000123] Phản ánh BHYT - Đồng Nai"."""
    parts = [CATEGORY_LABELS.get(view.category or "", "Thư")]
    if view.insurance_types:
        parts.append(", ".join(view.insurance_types))
    title = " ".join(parts)
    if view.province_name:
        title += f" - {view.province_name.removeprefix('Thành phố ')}"
    return f"{KIND_PREFIX.get(kind, '')}[{view.reference}] {title}"


def _confidence(view: EscalationView, name: str) -> str:
    value = view.confidence.get(name)
    return f" (độ tin cậy {value:.0%})" if value is not None else ""


def escalation_text(view: EscalationView, kind: str, attached: list[AttachmentView], listed: list[AttachmentView]) -> str:
    lines = []
    if kind == "reminder":
        lines += [
            f"NHẮC LẠI: phiếu {view.reference} đã quá hạn phản hồi ({local(view.due_at)}) mà chưa nhận được trả lời của đơn vị.",
            "",
        ]
    lines += [
        f"Kính gửi: {view.unit_name}",
        "",
        "Trung tâm Chăm sóc khách hàng BHXH Việt Nam chuyển đến đơn vị nội dung người dân gửi qua "
        f"{CHANNEL_NAMES.get(view.channel, view.channel)}, đề nghị đơn vị xem xét, giải quyết và phản hồi.",
        "",
        f"Mã phiếu: {view.reference}",
        f"Tiêu đề: {view.subject}",
        f"Người gửi: {view.sender}",
        f"Mức ưu tiên: {PRIORITY_NAMES.get(view.priority, view.priority)}",
        f"Hạn phản hồi: {local(view.due_at)}",
        "",
        f"Căn cứ chuyển đến đơn vị: {routing_reason(view)}.",
        "",
        "Phân loại tự động:",
        f"  - Loại: {category_label(view.category)}{_confidence(view, 'category')}",
        f"  - Bảo hiểm: {insurance_label(view.insurance_types) or 'chưa rõ'}{_confidence(view, 'insurance_types')}",
        f"  - Tỉnh/thành phố: {view.province_name or 'chưa rõ'}{_confidence(view, 'province')}",
        f"  - Chủ đề: {', '.join(view.topics) or 'không có'}",
    ]
    if view.note:
        lines += ["", f"Ghi chú của điều phối viên: {view.note}"]
    lines += ["", "Nội dung người dân gửi:", ""]
    for message in view.messages:
        lines += [f"--- {message.sender}, {local(message.sent_at)} ---", message.text.strip(), ""]
    if attached or listed:
        lines.append("Tệp đính kèm:")
        lines += [f"  - {a.filename} ({a.content_type}, {size_text(a.size)}): đính kèm thư này" for a in attached]
        lines += [
            f"  - {a.filename} ({a.content_type}, {size_text(a.size)}): không đính kèm vì quá lớn" + (f", xem tại {a.url}" if a.url else ", lưu tại Trung tâm")
            for a in listed
        ]
        lines.append("")
    lines += [
        "Cách trả lời:",
        f"  Trả lời (Reply) thư này, giữ nguyên mã [{view.reference}] trong tiêu đề. Thư trả lời được gắn vào phiếu"
        " và ghi nhận là đơn vị đã tiếp nhận.",
    ]
    if view.reply_address:
        lines.append(f"  Địa chỉ nhận trả lời: {view.reply_address}")
    if view.page_url:
        lines.append(f"  Hoặc xem và trả lời trên trang tiếp nhận: {view.page_url}")
    lines += ["", SIGNATURE]
    return "\n".join(lines)


def split_attachments(attachments: tuple[AttachmentView, ...], limit: int) -> tuple[list[AttachmentView], list[AttachmentView]]:
    """Attach in order while the total stays within `limit`; list the rest."""
    attached, listed, total = [], [], 0
    for attachment in attachments:
        if attachment.content is not None and total + attachment.size <= limit:
            attached.append(attachment)
            total += attachment.size
        else:
            listed.append(attachment)
    return attached, listed


CENTER_NAME = "Trung tâm CSKH BHXH Việt Nam"
SIGNATURE = "Thư này được gửi tự động từ hệ thống tiếp nhận (tiepnhan) của Trung tâm Chăm sóc khách hàng."


def automatic_message(subject: str, *, from_address: str, to: tuple[str, ...], message_id: str, now: datetime) -> EmailMessage:
    """The headers every notification carries."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = Address(CENTER_NAME, addr_spec=from_address)
    message["To"] = ", ".join(to)
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(now)
    # RFC 3834: an automatic message; auto-responders must not answer it (no mail loops).
    message["Auto-Submitted"] = "auto-generated"
    return message


def escalation_email(
    view: EscalationView,
    *,
    kind: str,
    from_address: str,
    to: tuple[str, ...],
    message_id: str,
    attachment_limit: int,
    now: datetime,
) -> EmailMessage:
    attached, listed = split_attachments(view.attachments, attachment_limit)
    message = automatic_message(escalation_subject(view, kind), from_address=from_address, to=to, message_id=message_id, now=now)
    if view.reply_address:
        message["Reply-To"] = view.reply_address
    message["X-Auto-Response-Suppress"] = "All"  # Exchange's way of asking for no auto-replies
    message["X-Tiepnhan-Ticket"] = view.reference
    message.set_content(escalation_text(view, kind, attached, listed))
    for attachment in attached:
        maintype, _, subtype = attachment.content_type.partition("/")
        assert attachment.content is not None
        message.add_attachment(attachment.content, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=attachment.filename)
    return message


def digest_email(
    unit_name: str,
    views: list[EscalationView],
    *,
    from_address: str,
    to: tuple[str, ...],
    message_id: str,
    now: datetime,
) -> EmailMessage:
    subject = f"Tổng hợp {len(views)} phiếu chuyển xử lý ngày {now.astimezone(TZ):%d/%m/%Y}"
    message = automatic_message(subject, from_address=from_address, to=to, message_id=message_id, now=now)
    lines = [f"Kính gửi: {unit_name}", "", f"Trung tâm chuyển đến đơn vị {len(views)} nội dung cần xem xét, giải quyết:", ""]
    for number, view in enumerate(views, 1):
        first = view.messages[0].text.strip() if view.messages else ""
        lines += [
            f"{number}. {escalation_subject(view)}",
            f"   Tiêu đề: {view.subject}",
            f"   Người gửi: {view.sender}",
            f"   Hạn phản hồi: {local(view.due_at)}",
            f"   Căn cứ: {routing_reason(view)}",
            f"   Nội dung: {first[:1000]}",
            f"   Trả lời riêng phiếu này: gửi thư tới {view.reply_address or 'hộp thư tiếp nhận'} với tiêu đề chứa [{view.reference}]",
            "",
        ]
    lines.append(SIGNATURE)
    message.set_content("\n".join(lines))
    return message


def coordinator_alert_email(
    views: list[EscalationView], *, from_address: str, to: tuple[str, ...], message_id: str, now: datetime
) -> EmailMessage:
    subject = f"Quá hạn: {len(views)} phiếu chưa được đơn vị phản hồi"
    message = automatic_message(subject, from_address=from_address, to=to, message_id=message_id, now=now)
    lines = ["Các phiếu sau đã quá hạn phản hồi; hệ thống đã gửi nhắc lại một lần cho đơn vị:", ""]
    lines += [f"  - [{v.reference}] {v.unit_name} ({v.unit_id}), hạn {local(v.due_at)}: {v.subject}" for v in views]
    lines += ["", "Xem: tiepnhan escalations --status overdue"]
    message.set_content("\n".join(lines))
    return message


def escalation_payload(view: EscalationView, kind: str, delivery_id: str) -> dict[str, Any]:
    """The JSON a unit's webhook receives (signed; see notifiers/webhook.py)."""
    return {
        "event": kind,
        "delivery_id": delivery_id,
        "escalation": {
            "id": view.escalation_id,
            "ticket": view.reference,
            "unit": view.unit_id,
            "priority": view.priority,
            "due_at": view.due_at.isoformat() if view.due_at else None,
            "reply_address": view.reply_address,
            "note": view.note,
        },
        "ticket": {
            "subject": view.subject,
            "channel": view.channel,
            "sender": view.sender,
            "category": view.category,
            "insurance_types": list(view.insurance_types),
            "province": view.province_name or None,
            "topics": list(view.topics),
            "confidence": view.confidence,
            "evidence": list(view.evidence),
            "messages": [{"sent_at": m.sent_at.isoformat() if m.sent_at else None, "sender": m.sender, "text": m.text} for m in view.messages],
            "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size, "url": a.url} for a in view.attachments],
        },
    }


def payload_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
