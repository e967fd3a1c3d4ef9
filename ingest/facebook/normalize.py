"""A fanpage raw item (see envelope.py) → NormalizedMessage. Pure."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ingest.registry import ParseContext
from tickets.normalized import AttachmentData, Channel, Direction, NormalizedMessage, sanitized

SUBJECT_WORDS = 8


class FacebookItemError(ValueError):
    """The item is not a Graph message or comment we can read (the sender's fault)."""


_KIND_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}


def _shaped(value: Any, kinds: tuple[type, ...], path: str) -> Any:
    """`value` when absent (None) or of one of `kinds`; else FacebookItemError naming the path."""
    if value is None or (isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)):
        return value
    expected = " or ".join(dict.fromkeys(_KIND_NAMES.get(k, k.__name__) for k in kinds))
    raise FacebookItemError(f"{path}: expected {expected}, got {_KIND_NAMES.get(type(value), type(value).__name__)}")


def _text(container: dict[str, Any], key: str, path: str) -> str | None:
    return _shaped(container.get(key), (str,), f"{path}.{key}")


def _identifier(container: dict[str, Any], key: str, path: str) -> str | None:
    value = _shaped(container.get(key), (str, int), f"{path}.{key}")
    return None if value is None else str(value)


def _mapping(container: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    return _shaped(container.get(key), (dict,), f"{path}.{key}") or {}


def graph_time(value: str | None) -> datetime | None:
    """Graph API times look like 2025-10-06T01:15:00+0000."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None


def _size(value: Any, path: str) -> int:
    value = _shaped(value, (int, str), path)
    if isinstance(value, str):
        if not value.isdigit() or len(value) > 18:
            raise FacebookItemError(f"{path}: not a size")
        return int(value)
    return max(int(value or 0), 0)


def _attachments(graph_object: dict[str, Any]) -> tuple[AttachmentData, ...]:
    found = []
    raw = _shaped(graph_object.get("attachments"), (dict, list), "object.attachments") or {}
    items = _shaped(raw.get("data"), (list,), "object.attachments.data") or [] if isinstance(raw, dict) else raw
    comment_attachment = _mapping(graph_object, "attachment", "object")  # comments carry one "attachment"
    if comment_attachment:
        items = [*items, comment_attachment]
    for index, item in enumerate(items):
        path = f"object.attachments[{index}]"
        item = _shaped(item, (dict,), path) or {}
        image = _mapping(_mapping(item, "media", path), "image", f"{path}.media")
        url = _text(item, "file_url", path) or _text(_mapping(item, "image_data", path), "url", f"{path}.image_data") or _text(image, "src", f"{path}.media.image") or _text(item, "url", path)
        found.append(AttachmentData(filename=_text(item, "name", path) or _text(item, "title", path) or "tep-dinh-kem",
                                    content_type=_text(item, "mime_type", path) or _text(item, "type", path) or "application/octet-stream",
                                    size=_size(item.get("size"), f"{path}.size"), url=url))
    return tuple(found)


def _first_words(text: str | None) -> str:
    words = (text or "").split()
    return " ".join(words[:SUBJECT_WORDS]) + ("…" if len(words) > SUBJECT_WORDS else "")


def parse_facebook_item(content: bytes, context: ParseContext) -> NormalizedMessage:
    try:
        envelope = json.loads(content)
    except (ValueError, RecursionError) as exc:
        raise FacebookItemError(f"not a fanpage item envelope: {type(exc).__name__}") from exc
    if not isinstance(envelope, dict) or not isinstance(envelope.get("object"), dict):
        raise FacebookItemError("not a fanpage item envelope: no Graph object in it")
    graph_object = envelope["object"]
    page_id, object_id = _identifier(envelope, "page_id", "envelope"), _identifier(graph_object, "id", "object")
    if not page_id or not object_id:
        raise FacebookItemError("not a fanpage item envelope: its page id or object id is missing")
    for key in ("post_id", "top_comment_id", "conversation_id"):
        _identifier(envelope, key, "envelope")
    _text(envelope, "post_message", "envelope")
    author = _mapping(graph_object, "from", "object")
    _identifier(author, "id", "object.from")
    _text(author, "name", "object.from")
    for key in ("created_time", "updated_time"):
        _text(graph_object, key, "object")
    outbound = str(author.get("id")) == page_id
    text = _text(graph_object, "message", "object") or ""
    common: dict[str, Any] = {
        "external_id": object_id,
        "direction": Direction.OUTBOUND if outbound else Direction.INBOUND,
        "sender_address": str(author.get("id")) if author.get("id") else None,
        "sender_name": author.get("name"),
        "full_text": text,
        "clean_text": text,
        "sent_at": graph_time(graph_object.get("created_time")) or context.arrived_at,
        "attachments": _attachments(graph_object),
        "is_deleted": bool(envelope.get("deleted")),
    }
    if "post_id" in envelope:
        top = str(envelope.get("top_comment_id") or object_id)
        return sanitized(NormalizedMessage(
            channel=Channel.FACEBOOK_COMMENT,
            subject=f"Bình luận: {_first_words(envelope.get('post_message')) or 'bài viết của trang'}",
            parent_keys=(f"fb-comment:{top}",),
            own_key=f"fb-comment:{object_id}",
            extra={"post_id": envelope.get("post_id"), "edited": bool(graph_object.get("updated_time") and graph_object.get("updated_time") != graph_object.get("created_time"))},
            **common,
        ))
    conversation = str(envelope.get("conversation_id") or "")
    user = messenger_user(graph_object, page_id)
    # A page has one conversation per person (PSID), so "fb-user" names the same thread as
    # "fb-conv"; webhooks carry only the PSID, polls both, so both paths meet in one ticket.
    # The user key comes first: it is the thread key under which early page replies wait.
    keys = tuple(key for key in (f"fb-user:{page_id}:{user}" if user else "", f"fb-conv:{conversation}" if conversation else "") if key)
    if not keys:
        raise FacebookItemError("a Messenger message with neither its conversation id nor the person it was exchanged with")
    return sanitized(NormalizedMessage(
        channel=Channel.FACEBOOK_MESSAGE,
        subject=f"Tin nhắn fanpage từ {author.get('name') or 'người dùng'}",
        parent_keys=keys,
        own_key=None,
        extra={"conversation_id": conversation or None, "user_id": user},
        **common,
    ))


def messenger_user(graph_message: dict[str, Any], page_id: str) -> str | None:
    """The person's page-scoped id (PSID): the sender, or for the page's own message the recipient."""
    author = str(_mapping(graph_message, "from", "object").get("id") or "")
    if author and author != page_id:
        return author
    recipients = _mapping(graph_message, "to", "object").get("data") or []
    for recipient in recipients if isinstance(recipients, list) else []:
        if isinstance(recipient, dict) and recipient.get("id") and str(recipient["id"]) != page_id:
            return str(recipient["id"])
    return None
