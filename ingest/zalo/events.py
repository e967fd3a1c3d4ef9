"""Zalo Official Account webhooks, pure: the signature and events → raw items.

https://developers.zalo.me/docs/official-account/webhook/tong-quan
  * Every POST carries X-ZEvent-Signature: "mac=" + hex SHA-256 of
    app_id + raw body + timestamp + OA secret key (a plain hash, not an HMAC), where timestamp
    is the event's own "timestamp" field (milliseconds, a string or a number) inside the signed
    body. It is computed on the bytes received and compared in constant time.
  * Events (one per delivery): {"app_id", "oa_id"?, "user_id_by_app", "event_name",
    "timestamp", "sender": {"id"}, "recipient": {"id"}, "message": {"msg_id", "text",
    "attachments": [{"type", "payload": {...}}]}}. The citizen's events are "user_send_*" and
    "user_submit_info" ("info": {"name", "phone", "address", ...}, no msg_id); the OA's own
    messages come back as "oa_send_*" (sender = the OA); "follow"/"unfollow" carry "follower".
What cannot be read is listed by its path (never its value) and the whole body quarantined.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

from tickets.store import RawInput

SIGNATURE_HEADER = "X-ZEvent-Signature"
MESSAGE_KIND = "zalo_message"
FOLLOW_EVENTS = ("follow", "unfollow")
USER_MESSAGE_EVENTS = ("user_send_text", "user_send_image", "user_send_file", "user_send_link", "user_send_location",
                       "user_send_sticker", "user_send_gif", "user_send_audio", "user_send_video", "user_submit_info")
ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
UNREADABLE_KIND = "unreadable_file"
MAX_PROBLEMS_SHOWN = 10


def event_timestamp(payload: Any) -> str | None:
    """The event's "timestamp" exactly as it enters the signed string (digits), or None."""
    value = payload.get("timestamp") if isinstance(payload, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.isdigit() and len(value) <= 20:
        return value
    return None


def expected_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()).hexdigest()
    return "mac=" + digest


def signature_matches(body: bytes, header: str | None, app_id: str, timestamp: str | None, oa_secret_key: str) -> bool:
    """True when `header` is the signature of `body` by this account (see the module doc)."""
    if not header or not oa_secret_key or timestamp is None or not header.startswith("mac="):
        return False
    expected = expected_signature(app_id, body, timestamp, oa_secret_key)
    return hmac.compare_digest(header.strip().lower().encode(), expected.encode())


def is_fresh(timestamp: str, now_ms: int, max_age_seconds: float) -> bool:
    """An event's time within the window either side of now (a replayed old delivery is not)."""
    return abs(now_ms - int(timestamp)) <= max_age_seconds * 1000


@dataclass(frozen=True)
class ZaloEvent:
    """What one delivery holds, once read."""

    items: list[RawInput]  # messages: stored and processed
    follow: tuple[str, str] | None = None  # (event, user id) for follow/unfollow: recorded, no ticket
    ignored: bool = False  # an event we do not take in (seen, reactions, other OAs)
    problems: list[str] = field(default_factory=list)  # what could not be read: quarantined


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _identifier(value: Any, path: str, problems: list[str]) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and ID_PATTERN.fullmatch(value):
        return value
    problems.append(f"{path}: expected an id, got {_kind(value)}" if not isinstance(value, str) else f"{path}: not an id ({len(value)} characters)")
    return None


def _user_and_oa(payload: dict[str, Any], outbound: bool, problems: list[str]) -> tuple[str | None, str | None]:
    sender, recipient = payload.get("sender"), payload.get("recipient")
    if not isinstance(sender, dict) or not isinstance(recipient, dict):
        problems.append(f"sender/recipient: expected objects, got {_kind(sender)} and {_kind(recipient)}")
        return None, None
    sender_id = _identifier(sender.get("id"), "sender.id", problems)
    recipient_id = _identifier(recipient.get("id"), "recipient.id", problems)
    return (recipient_id, sender_id) if outbound else (sender_id, recipient_id)


def _message_shape(message: Any, problems: list[str]) -> None:
    if not isinstance(message, dict):
        problems.append(f"message: expected an object, got {_kind(message)}")
        return
    if message.get("text") is not None and not isinstance(message["text"], str):
        problems.append(f"message.text: expected a string, got {_kind(message['text'])}")
    attachments = message.get("attachments", [])
    if not isinstance(attachments, list):
        problems.append(f"message.attachments: expected a list, got {_kind(attachments)}")
        return
    for index, attachment in enumerate(attachments):
        if not isinstance(attachment, dict) or not isinstance(attachment.get("payload", {}), dict) or not isinstance(attachment.get("type", ""), str):
            problems.append(f"message.attachments[{index}]: expected an object with type and payload")


def read_event(payload: Any, source: str, oa_id: str, body: bytes) -> ZaloEvent:
    """The raw items of one signed delivery for the OA `oa_id` (source name `source`). Pure."""
    problems: list[str] = []
    if not isinstance(payload, dict):
        return ZaloEvent([], problems=[f"(body): expected an object, got {_kind(payload)}"])
    name = payload.get("event_name")
    if not isinstance(name, str):
        return ZaloEvent([], problems=[f"event_name: expected a string, got {_kind(name)}"])
    if name in FOLLOW_EVENTS:
        follower = payload.get("follower")
        user = _identifier(follower.get("id") if isinstance(follower, dict) else follower, "follower.id", problems)
        return ZaloEvent([], follow=(name, user), problems=problems) if user else ZaloEvent([], problems=problems)
    outbound = name.startswith("oa_send_")
    if not outbound and name not in USER_MESSAGE_EVENTS:
        return ZaloEvent([], ignored=True)  # user_seen_message, user_reacted_message, ...
    user, event_oa = _user_and_oa(payload, outbound, problems)
    if name == "user_submit_info":
        if not isinstance(payload.get("info"), dict):
            problems.append(f"info: expected an object, got {_kind(payload.get('info'))}")
        message_id = f"submit:{user}:{event_timestamp(payload)}"
    else:
        _message_shape(payload.get("message"), problems)
        message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
        message_id = _identifier(message.get("msg_id"), "message.msg_id", problems) or ""
    if problems or user is None:
        return ZaloEvent([], problems=problems)
    if event_oa != oa_id:
        return ZaloEvent([], ignored=True)
    envelope = {"oa_id": oa_id, "user_id": user, "direction": "outbound" if outbound else "inbound", "event": payload, "via": "webhook"}
    item = RawInput(source=source, kind=MESSAGE_KIND, external_id=f"zalo:{message_id}", content=_dump(envelope),
                    origin={"via": "webhook", "event_name": name, "user_id": user})
    return ZaloEvent([item])


def unreadable_delivery(body: bytes, source: str, problems: list[str]) -> RawInput:
    """The whole signed body, kept as it came and quarantined with what could not be read."""
    shown = problems[:MAX_PROBLEMS_SHOWN]
    more = f"; and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    return RawInput(source=source, kind=UNREADABLE_KIND, external_id=f"zalo-webhook:sha256:{hashlib.sha256(body).hexdigest()}", content=body,
                    origin={"via": "webhook", "reason": "Zalo webhook delivery not read: " + "; ".join(shown) + more})


def _dump(envelope: dict[str, Any]) -> bytes:
    try:
        return json.dumps(envelope, ensure_ascii=False, sort_keys=True).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(envelope, ensure_ascii=True, sort_keys=True).encode("ascii")
