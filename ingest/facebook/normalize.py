"""A fanpage raw item (see envelope.py) → NormalizedMessage. Pure."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ingest.registry import ParseContext
from tickets.normalized import AttachmentData, Channel, Direction, NormalizedMessage

SUBJECT_WORDS = 8


class FacebookItemError(ValueError):
    """The item is not a Graph message or comment we can read (the sender's fault)."""


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


def _attachments(graph_object: dict[str, Any]) -> tuple[AttachmentData, ...]:
    found = []
    raw = graph_object.get("attachments") or {}
    items = raw.get("data", []) if isinstance(raw, dict) else raw
    if isinstance(graph_object.get("attachment"), dict):  # comments carry one "attachment"
        items = [*items, graph_object["attachment"]]
    for item in items:
        url = item.get("file_url") or (item.get("image_data") or {}).get("url") or (item.get("media") or {}).get("image", {}).get("src") or item.get("url")
        found.append(AttachmentData(filename=item.get("name") or item.get("title") or "tep-dinh-kem", content_type=item.get("mime_type") or item.get("type") or "application/octet-stream",
                                    size=int(item.get("size") or 0), url=url))
    return tuple(found)


def _first_words(text: str | None) -> str:
    words = (text or "").split()
    return " ".join(words[:SUBJECT_WORDS]) + ("…" if len(words) > SUBJECT_WORDS else "")


def parse_facebook_item(content: bytes, context: ParseContext) -> NormalizedMessage:
    try:
        envelope = json.loads(content)
        graph_object = envelope["object"]
        page_id = str(envelope["page_id"])
        object_id = str(graph_object["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise FacebookItemError(f"not a fanpage item envelope: {exc}") from exc
    author = graph_object.get("from") or {}
    outbound = str(author.get("id")) == page_id
    text = graph_object.get("message") or ""
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
        return NormalizedMessage(
            channel=Channel.FACEBOOK_COMMENT,
            subject=f"Bình luận: {_first_words(envelope.get('post_message')) or 'bài viết của trang'}",
            parent_keys=(f"fb-comment:{top}",),
            own_key=f"fb-comment:{object_id}",
            extra={"post_id": envelope.get("post_id"), "edited": bool(graph_object.get("updated_time") and graph_object.get("updated_time") != graph_object.get("created_time"))},
            **common,
        )
    conversation = str(envelope.get("conversation_id") or "")
    user = messenger_user(graph_object, page_id)
    # A page has one conversation per person (PSID), so "fb-user" names the same thread as
    # "fb-conv"; webhooks carry only the PSID, polls both, so both paths meet in one ticket.
    # The user key comes first: it is the thread key under which early page replies wait.
    keys = tuple(key for key in (f"fb-user:{page_id}:{user}" if user else "", f"fb-conv:{conversation}" if conversation else "") if key)
    if not keys:
        raise FacebookItemError("a Messenger message with neither its conversation id nor the person it was exchanged with")
    return NormalizedMessage(
        channel=Channel.FACEBOOK_MESSAGE,
        subject=f"Tin nhắn fanpage từ {author.get('name') or 'người dùng'}",
        parent_keys=keys,
        own_key=None,
        extra={"conversation_id": conversation or None, "user_id": user},
        **common,
    )


def messenger_user(graph_message: dict[str, Any], page_id: str) -> str | None:
    """The person's page-scoped id (PSID): the sender, or for the page's own message the recipient."""
    author = str((graph_message.get("from") or {}).get("id") or "")
    if author and author != page_id:
        return author
    recipients = (graph_message.get("to") or {}).get("data") or []
    for recipient in recipients if isinstance(recipients, list) else []:
        if isinstance(recipient, dict) and recipient.get("id") and str(recipient["id"]) != page_id:
            return str(recipient["id"])
    return None
