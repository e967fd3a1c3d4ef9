"""A portal raw item (raw.py) → NormalizedMessage, channel "portal". Pure.

Each question is its own conversation (own key "portal:<source>:<id>"). The province and the
insurance type the citizen chose are added to the text the classifiers read, as a line each
("Tỉnh/thành phố: …"), so they are tagged with evidence like anything else they wrote.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Any

from ingest.registry import ParseContext
from tickets.normalized import AttachmentData, Channel, Direction, NormalizedMessage, sanitized
from tickets.places import province_name

DEFAULT_SUBJECT = "Câu hỏi gửi qua cổng thông tin"
INSURANCE_NAMES = {"BHXH": "bảo hiểm xã hội (BHXH)", "BHYT": "bảo hiểm y tế (BHYT)", "BHTN": "bảo hiểm thất nghiệp (BHTN)"}


class PortalItemError(ValueError):
    """The raw item is not a portal question we can read."""


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def own_key(source: str, external_id: str) -> str:
    return f"portal:{source}:{external_id}"


def _attachments(items: Any, max_bytes: int) -> tuple[AttachmentData, ...]:
    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            raise PortalItemError("an attachment entry is not an object")
        try:
            content = base64.b64decode(_string(item.get("content_b64")), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise PortalItemError(f"attachment not base64: {exc}") from exc
        name, content_type = _string(item.get("filename")) or "tep-dinh-kem", _string(item.get("content_type")) or "application/octet-stream"
        digest = hashlib.sha256(content).hexdigest()
        if len(content) > max_bytes:
            found.append(AttachmentData(name, content_type, len(content), digest, skipped_reason=f"lớn hơn {max_bytes} byte"))
        else:
            found.append(AttachmentData(name, content_type, len(content), digest, content=content))
    return tuple(found)


def context_lines(question: dict[str, Any]) -> list[str]:
    lines = []
    if name := province_name(_string(question.get("province_code"))):
        lines.append(f"Tỉnh/thành phố: {name}")
    if insurance := INSURANCE_NAMES.get(_string(question.get("insurance_type"))):
        lines.append(f"Loại bảo hiểm: {insurance}")
    return lines


def parse_portal_item(content: bytes, context: ParseContext) -> NormalizedMessage:
    try:
        envelope = json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise PortalItemError(f"not a portal question: {type(exc).__name__}") from exc
    if not isinstance(envelope, dict) or not isinstance(envelope.get("question"), dict):
        raise PortalItemError("not a portal question: no question in it")
    question = envelope["question"]
    source, external_id = _string(envelope.get("source")) or context.source, _string(envelope.get("external_id"))
    body = _string(question.get("body")).strip()
    if not external_id or not body:
        raise PortalItemError("not a portal question: its id or body is missing")
    email, phone = _string(question.get("email")) or None, _string(question.get("phone")) or None
    lines = context_lines(question)
    clean = "\n\n".join([body, "\n".join(lines)]) if lines else body
    contact = [f"{label}: {value}" for label, value in (("Họ tên", _string(question.get("name"))), ("Thư điện tử", email or ""), ("Điện thoại", phone or "")) if value]
    full = "\n\n".join(part for part in (clean, "\n".join(contact)) if part)
    try:
        sent_at: datetime | None = datetime.fromisoformat(_string(envelope.get("submitted_at")))
    except ValueError:
        sent_at = context.arrived_at
    key = own_key(source, external_id)
    return sanitized(NormalizedMessage(
        channel=Channel.PORTAL, external_id=key, direction=Direction.INBOUND, sender_address=email or phone, sender_name=_string(question.get("name")) or None,
        subject=_string(question.get("subject")) or DEFAULT_SUBJECT, full_text=full, clean_text=clean, sent_at=sent_at, own_key=key,
        attachments=_attachments(envelope.get("attachments"), context.max_attachment_bytes),
        extra={"via": _string(envelope.get("via")), "email": email, "phone": phone, "province_code": _string(question.get("province_code")) or None,
               "insurance_type": _string(question.get("insurance_type")) or None, "client_id": _string(question.get("client_id")) or None},
    ))  # fmt: skip
