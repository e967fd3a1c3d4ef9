"""Facebook webhooks, pure: the subscription handshake, the signature, events → raw items.

https://developers.facebook.com/docs/graph-api/webhooks/getting-started
  * Handshake: GET with hub.mode=subscribe, hub.verify_token, hub.challenge; echo the challenge
    when the token is ours.
  * Every POST carries X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256 of the raw body with
    the app secret. It must be computed on the bytes received (re-serialized JSON never
    matches) and compared in constant time.
Events (object "page"):
  * entry[].messaging[]: Messenger (https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages):
    {"sender": {"id"}, "recipient": {"id"}, "timestamp": ms, "message": {"mid", "text",
    "attachments": [{"type", "payload": {"url"}}], "is_echo"}}; an echo is the page's own message.
  * entry[].changes[] with field "feed" and value.item "comment" (https://developers.facebook.com/docs/graph-api/webhooks/reference/page/#feed):
    {"comment_id", "post_id", "parent_id", "message", "from": {"id", "name"}, "created_time": s,
    "verb": "add" | "edited" | "remove", "photo"}.
Each becomes the raw item the poller would have made for the same Graph object (the Messenger
`mid` is the Graph message id, `comment_id` the Graph comment id), so both paths are one item.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingest.facebook.envelope import comment_item, message_item
from tickets.store import RawInput

SIGNATURE_HEADER = "X-Hub-Signature-256"
ATTACHMENT_TYPES = {"image": "image/*", "video": "video/*", "audio": "audio/*"}


def signature_matches(body: bytes, header: str | None, app_secret: str) -> bool:
    """True when `header` is "sha256=<hex HMAC-SHA256 of body with app_secret>"."""
    if not header or not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256=").strip().lower(), expected)


def handshake_challenge(params: Mapping[str, str], verify_tokens: Iterable[str]) -> str | None:
    """The challenge to echo, or None when the handshake is not ours."""
    if params.get("hub.mode") != "subscribe":
        return None
    offered = params.get("hub.verify_token") or ""
    challenge = params.get("hub.challenge")
    if challenge is None or not offered:
        return None
    matched = False
    for token in verify_tokens:  # no early exit: the time taken does not reveal which one
        matched |= bool(token) and hmac.compare_digest(offered.encode(), token.encode())
    return challenge if matched else None


def graph_time_from_epoch(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass(frozen=True)
class WebhookItems:
    items: list[RawInput]
    removals: list[str]  # comment ids of "remove" items: stored only when the comment is known
    ignored: int  # events we do not take in (reads, deliveries, posts, reactions, other pages)


def _messenger_attachments(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for attachment in message.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        kind = str(attachment.get("type") or "file")
        url = (attachment.get("payload") or {}).get("url")
        item: dict[str, Any] = {"name": kind, "mime_type": ATTACHMENT_TYPES.get(kind, "application/octet-stream")}
        if kind == "image":
            item["image_data"] = {"url": url}
        else:
            item["file_url"] = url
        found.append(item)
    return found


def messenger_graph_message(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """A Messenger webhook event as the Graph message the conversations API would return."""
    message = event.get("message")
    if not isinstance(message, dict) or not message.get("mid"):
        return None  # deliveries, reads, reactions, postbacks
    sender = str((event.get("sender") or {}).get("id") or "")
    recipient = str((event.get("recipient") or {}).get("id") or "")
    graph: dict[str, Any] = {"id": str(message["mid"]), "from": {"id": sender}, "to": {"data": [{"id": recipient}]},
                             "message": message.get("text") or ""}
    if isinstance(event.get("timestamp"), int | float):
        graph["created_time"] = graph_time_from_epoch(event["timestamp"] / 1000)
    attachments = _messenger_attachments(message)
    if attachments:
        graph["attachments"] = {"data": attachments}
    return graph


def comment_from_change(value: Mapping[str, Any], event_time: float | None) -> tuple[dict[str, Any], str, str, str] | None:
    """(Graph comment, post id, top-level comment id, verb) of a feed change about a comment."""
    if value.get("item") != "comment" or not value.get("comment_id") or not value.get("post_id"):
        return None
    verb = str(value.get("verb") or "add")
    comment_id, post_id = str(value["comment_id"]), str(value["post_id"])
    parent = str(value.get("parent_id") or "")
    graph: dict[str, Any] = {"id": comment_id, "message": value.get("message") or "", "from": value.get("from") or {}}
    if isinstance(value.get("created_time"), int | float):
        graph["created_time"] = graph_time_from_epoch(value["created_time"])
    if parent and parent != post_id:
        graph["parent"] = {"id": parent}
    if value.get("photo"):
        graph["attachment"] = {"type": "photo", "url": value["photo"], "media": {"image": {"src": value["photo"]}}}
    if verb == "edited":
        moment = event_time if event_time is not None else value.get("created_time")
        graph["updated_time"] = graph_time_from_epoch(float(moment)) if isinstance(moment, int | float) else graph.get("created_time", "")
        graph["edited"] = True
    top = parent if parent and parent != post_id else comment_id
    return graph, post_id, top, verb


def raw_inputs_from_webhook(payload: Mapping[str, Any], pages: Mapping[str, str]) -> WebhookItems:
    """Raw items for the events about our pages (`pages`: page id → source name)."""
    items: list[RawInput] = []
    removals: list[str] = []
    ignored = 0
    if payload.get("object") != "page":
        return WebhookItems([], [], 1)
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        page_id = str(entry.get("id") or "")
        source = pages.get(page_id)
        events = list(entry.get("messaging") or []) + list(entry.get("changes") or [])
        if source is None:
            ignored += len(events)
            continue
        for event in entry.get("messaging") or []:
            graph = messenger_graph_message(event) if isinstance(event, dict) else None
            if graph is None:
                ignored += 1
                continue
            # No conversation id in a webhook: the person's PSID threads it (see normalize.py).
            items.append(message_item(source, page_id, "", graph, "webhook"))
        for change in entry.get("changes") or []:
            value = change.get("value") if isinstance(change, dict) and change.get("field") == "feed" else None
            found = comment_from_change(value, entry.get("time")) if isinstance(value, dict) else None
            if found is None or found[3] not in ("add", "edited", "remove"):
                ignored += 1
                continue
            graph, post_id, top, verb = found
            item = comment_item(source, page_id, post_id, top, graph, "webhook", None, deleted=verb == "remove")
            items.append(item)
            if verb == "remove":
                removals.append(graph["id"])
    return WebhookItems(items, removals, ignored)
