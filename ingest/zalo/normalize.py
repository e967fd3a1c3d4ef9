"""A Zalo raw item (see events.py: {"oa_id", "user_id", "direction", "event"}) → NormalizedMessage. Pure.

One conversation per Zalo user and OA: every message carries the thread key
"zalo-user:<oa id>:<user id>", so a user's messages, and the OA's own replies, are one ticket.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ingest.registry import ParseContext
from tickets.normalized import AttachmentData, Channel, Direction, NormalizedMessage, sanitized

SUBJECT = "Tin nhắn Zalo từ {name}"
# What each attachment type is called when the message has no text of its own.
ATTACHMENT_WORDS = {"image": "[Hình ảnh]", "file": "[Tệp]", "link": "[Liên kết]", "location": "[Vị trí]", "sticker": "[Nhãn dán]",
                    "gif": "[Ảnh động]", "audio": "[Âm thanh]", "video": "[Video]"}
CONTENT_TYPES = {"image": "image/*", "gif": "image/gif", "audio": "audio/*", "video": "video/*", "link": "text/uri-list"}
INFO_LABELS = (("name", "Họ tên"), ("phone", "Điện thoại"), ("address", "Địa chỉ"), ("ward", "Phường/xã"), ("district", "Quận/huyện"),
               ("city", "Tỉnh/thành phố"))
EARLIEST_MS, LATEST_MS = 946_684_800_000, 4_102_444_800_000


class ZaloItemError(ValueError):
    """The item is not a Zalo event we can read."""


def thread_key(oa_id: str, user_id: str) -> str:
    return f"zalo-user:{oa_id}:{user_id}"


def _string(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def event_time(value: Any) -> datetime | None:
    """Zalo's millisecond timestamps (sent as strings) as an aware datetime."""
    text = _string(value)
    if not text.isdigit() or not EARLIEST_MS <= int(text) <= LATEST_MS:
        return None
    return datetime.fromtimestamp(int(text) / 1000, UTC)


def _size(value: Any) -> int:
    text = _string(value)
    return int(text) if text.isdigit() and len(text) <= 18 else 0


def _attachment(item: dict[str, Any]) -> tuple[AttachmentData | None, str]:
    """The attachment (None for a location) and the words it adds to the text."""
    kind = _string(item.get("type")) or "file"
    payload = item.get("payload") if isinstance(item.get("payload"), dict) else {}
    if kind == "location":
        coordinates = payload.get("coordinates") if isinstance(payload.get("coordinates"), dict) else {}
        latitude, longitude = _string(coordinates.get("latitude")), _string(coordinates.get("longitude"))
        return None, f"[Vị trí] {latitude}, {longitude}".strip()
    url = _string(payload.get("url")) or None
    if kind == "link":
        words = " ".join(w for w in (_string(payload.get("description")), url or "") if w)
        return AttachmentData(filename="lien-ket", content_type=CONTENT_TYPES["link"], size=0, url=url), f"[Liên kết] {words}".strip()
    name = _string(payload.get("name")) or f"zalo-{kind}"
    content_type = CONTENT_TYPES.get(kind) or ("application/" + _string(payload.get("type")) if payload.get("type") else "application/octet-stream")
    return AttachmentData(filename=name, content_type=content_type, size=_size(payload.get("size")), url=url), ATTACHMENT_WORDS.get(kind, "[Tệp]")


def _info_text(info: dict[str, Any]) -> str:
    lines = [f"{label}: {_string(info.get(key))}" for key, label in INFO_LABELS if _string(info.get(key))]
    return "Thông tin người dùng gửi qua Zalo:\n" + "\n".join(lines)


def parse_zalo_item(content: bytes, context: ParseContext) -> NormalizedMessage:
    try:
        envelope = json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise ZaloItemError(f"not a Zalo item envelope: {type(exc).__name__}") from exc
    if not isinstance(envelope, dict) or not isinstance(envelope.get("event"), dict):
        raise ZaloItemError("not a Zalo item envelope: no event in it")
    event = envelope["event"]
    oa_id, user_id = _string(envelope.get("oa_id")), _string(envelope.get("user_id"))
    if not oa_id or not user_id:
        raise ZaloItemError("not a Zalo item envelope: its OA id or user id is missing")
    outbound = envelope.get("direction") == "outbound"
    name = _string(event.get("event_name"))
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    attachments: list[AttachmentData] = []
    words: list[str] = []
    if name == "user_submit_info":
        info = event.get("info") if isinstance(event.get("info"), dict) else {}
        text = _info_text(info)
        external_id = f"submit:{user_id}:{_string(event.get('timestamp'))}"
        sender_name = _string(info.get("name")) or None
    else:
        text = _string(message.get("text"))
        external_id = _string(message.get("msg_id"))
        sender_name = None
        for item in message.get("attachments") or []:
            if isinstance(item, dict):
                found, said = _attachment(item)
                attachments.extend([found] if found else [])
                words.append(said)
    if not external_id:
        raise ZaloItemError("a Zalo message without its msg_id")
    if words and (not text or name == "user_send_location"):
        text = "\n".join(w for w in [text, *words] if w)
    display = envelope.get("display_name")
    sender_name = _string(display) or sender_name if not outbound else None
    return sanitized(NormalizedMessage(
        channel=Channel.ZALO,
        external_id=f"zalo:{external_id}",
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        sender_address=oa_id if outbound else user_id,
        sender_name=sender_name,
        subject=SUBJECT.format(name=sender_name or "người dùng"),
        full_text=text,
        clean_text=text,
        sent_at=event_time(event.get("timestamp")) or context.arrived_at,
        parent_keys=(thread_key(oa_id, user_id),),
        attachments=tuple(attachments),
        extra={"oa_id": oa_id, "user_id": user_id, "event_name": name},
    ))
