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
Anything else that is signed is JSON we must not fail on: every value is checked for its shape
(`_Shapes`); what cannot be read is listed by its path and the whole body kept, quarantined.
Each event becomes the raw item the poller would have made for the same Graph object (the Messenger
`mid` is the Graph message id, `comment_id` the Graph comment id), so both paths are one item.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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


# Facebook ids are digits, underscores, and (Messenger mids) base64url and a few marks. '@' and
# '#' separate an id from its version or removal in our external ids, '%' is a LIKE wildcard:
# none may come in an id. The store keeps external ids up to 1,000 characters.
ID_PATTERN = re.compile(r"[A-Za-z0-9_.:$+=/-]{1,400}")
# A time outside these years is not a message's time; the item is taken with its arrival time.
EARLIEST_EPOCH, LATEST_EPOCH = 946_684_800, 4_102_444_800  # 2000-01-01, 2100-01-01 (UTC)
MAX_PROBLEMS_SHOWN = 10
# Kept, and quarantined with its reason, by tiepnhan.intake.accept (same kind as unreadable files).
UNREADABLE_KIND = "unreadable_file"
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class NotJson(ValueError):
    """The body is not JSON text (RFC 8259 §8.1: JSON exchanged between systems is UTF-8)."""


class UnreadableJson(ValueError):
    """JSON text this reader cannot follow (nested deeper than the parser goes)."""


def parse_body(body: bytes) -> Any:
    """The JSON value of a webhook body. NotJson when it is not JSON at all; a value nested too
    deeply for the parser to follow is JSON that cannot be read: UnreadableJson (quarantined)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJson(f"not UTF-8: invalid byte at offset {exc.start}") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise UnreadableJson("JSON nested too deeply to read") from None
    except NotJson:
        raise
    except ValueError as exc:
        where = f" at offset {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise NotJson(f"not JSON: {message}{where}") from None


def _no_constant(name: str) -> Any:
    raise NotJson(f"not JSON: {name} is not a JSON value")


def graph_time_from_epoch(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


class _Shapes:
    """Reads values of an expected shape, noting where one is not (path and kinds, never the value)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def wrong(self, path: str, expected: str, value: Any) -> None:
        self.problems.append(f"{path}: expected {expected}, got {_kind(value)}")

    def listed(self, value: Any, path: str) -> list[Any] | None:
        """A list; callers pass [] for an absent one, so null is noted like any other non-list."""
        if isinstance(value, list):
            return value
        self.wrong(path, "a list", value)
        return None

    def mapping(self, value: Any, path: str, *, optional: bool = True) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        if value is None and optional:
            return {}
        self.wrong(path, "an object", value)
        return None

    def identifier(self, value: Any, path: str, *, optional: bool = False) -> str | None:
        """An id as a string ("" when optional and absent), None when it is not one."""
        if value is None and optional:
            return ""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and ID_PATTERN.fullmatch(value):
            return value
        if isinstance(value, str):
            self.problems.append(f"{path}: not an id ({len(value)} characters)" if value else f"{path}: empty id")
        else:
            self.wrong(path, "an id", value)
        return None

    def text(self, value: Any, path: str) -> str | None:
        if value is None:
            return ""
        if isinstance(value, str):
            return _SURROGATE.sub("\ufffd", value)  # a lone surrogate is no character; UTF-8 cannot hold it
        self.wrong(path, "a string", value)
        return None


def epoch_seconds(value: Any, scale: float = 1.0) -> float | None:
    """A Unix time (in units of 1/scale s) as seconds, or None when it is not a plausible one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = value / scale
    return seconds if EARLIEST_EPOCH <= seconds <= LATEST_EPOCH else None


@dataclass(frozen=True)
class WebhookItems:
    items: list[RawInput]
    removals: list[str]  # comment ids of "remove" items: stored only when the comment is known
    ignored: int  # events we do not take in (reads, deliveries, posts, reactions, other pages)
    problems: list[str] = field(default_factory=list)  # parts not read: the whole body is quarantined


def _messenger_attachments(value: Any, path: str, shapes: _Shapes) -> list[dict[str, Any]] | None:
    listed = shapes.listed(value, path)
    if listed is None:
        return None
    found = []
    for index, attachment in enumerate(listed):
        where = f"{path}[{index}]"
        attachment = shapes.mapping(attachment, where, optional=False)
        if attachment is None:
            return None
        kind = shapes.text(attachment.get("type"), f"{where}.type")
        payload = shapes.mapping(attachment.get("payload"), f"{where}.payload")
        url = shapes.text(payload.get("url"), f"{where}.payload.url") if payload is not None else None
        if kind is None or payload is None or url is None:
            return None
        kind = kind or "file"
        item: dict[str, Any] = {"name": kind, "mime_type": ATTACHMENT_TYPES.get(kind, "application/octet-stream")}
        if kind == "image":
            item["image_data"] = {"url": url or None}
        else:
            item["file_url"] = url or None
        found.append(item)
    return found


def messenger_graph_message(event: Any, path: str = "event", shapes: _Shapes | None = None) -> dict[str, Any] | None:
    """A Messenger webhook event as the Graph message the conversations API would return; None
    for the events that are not messages (deliveries, reads, reactions, postbacks) and for the
    ones that cannot be read (noted in `shapes`)."""
    shapes = shapes if shapes is not None else _Shapes()
    event = shapes.mapping(event, path, optional=False)
    if event is None or event.get("message") is None:
        return None
    message = shapes.mapping(event["message"], f"{path}.message", optional=False)
    if message is None:
        return None
    mid = shapes.identifier(message.get("mid"), f"{path}.message.mid")
    sender_map = shapes.mapping(event.get("sender"), f"{path}.sender", optional=False)
    recipient_map = shapes.mapping(event.get("recipient"), f"{path}.recipient")
    sender = shapes.identifier(sender_map.get("id"), f"{path}.sender.id") if sender_map is not None else None
    recipient = shapes.identifier(recipient_map.get("id"), f"{path}.recipient.id", optional=True) if recipient_map is not None else None
    text = shapes.text(message.get("text"), f"{path}.message.text")
    attachments = _messenger_attachments(message.get("attachments", []), f"{path}.message.attachments", shapes)
    if mid is None or sender is None or recipient is None or text is None or attachments is None:
        return None
    graph: dict[str, Any] = {"id": mid, "from": {"id": sender}, "to": {"data": [{"id": recipient}]}, "message": text}
    seconds = epoch_seconds(event.get("timestamp"), 1000)
    if seconds is not None:
        graph["created_time"] = graph_time_from_epoch(seconds)
    if attachments:
        graph["attachments"] = {"data": attachments}
    return graph


def comment_from_change(
    value: Mapping[str, Any], event_time: Any, path: str = "value", shapes: _Shapes | None = None,
) -> tuple[dict[str, Any], str, str, str] | None:
    """(Graph comment, post id, top-level comment id, verb) of a feed change about a comment;
    None for other changes and for the ones that cannot be read (noted in `shapes`)."""
    shapes = shapes if shapes is not None else _Shapes()
    item = shapes.text(value.get("item"), f"{path}.item")
    verb = shapes.text(value.get("verb"), f"{path}.verb")
    if item is None or verb is None:
        return None
    verb = verb or "add"
    if item != "comment" or verb not in ("add", "edited", "remove"):
        return None
    comment_id = shapes.identifier(value.get("comment_id"), f"{path}.comment_id")
    post_id = shapes.identifier(value.get("post_id"), f"{path}.post_id")
    parent = shapes.identifier(value.get("parent_id"), f"{path}.parent_id", optional=True)
    text = shapes.text(value.get("message"), f"{path}.message")
    author = shapes.mapping(value.get("from"), f"{path}.from")
    author_id = shapes.identifier(author.get("id"), f"{path}.from.id", optional=True) if author is not None else None
    author_name = shapes.text(author.get("name"), f"{path}.from.name") if author is not None else None
    photo = shapes.text(value.get("photo"), f"{path}.photo")
    if None in (comment_id, post_id, parent, text, author_id, author_name, photo):
        return None
    assert comment_id is not None and post_id is not None  # for the type checker
    sender = {key: found for key, found in (("id", author_id), ("name", author_name)) if found}
    graph: dict[str, Any] = {"id": comment_id, "message": text, "from": sender}
    created = epoch_seconds(value.get("created_time"))
    if created is not None:
        graph["created_time"] = graph_time_from_epoch(created)
    if parent and parent != post_id:
        graph["parent"] = {"id": parent}
    if photo:
        graph["attachment"] = {"type": "photo", "url": photo, "media": {"image": {"src": photo}}}
    if verb == "edited":
        moment = epoch_seconds(event_time)
        graph["updated_time"] = graph_time_from_epoch(moment) if moment is not None else graph.get("created_time", "")
        graph["edited"] = True
    top = parent if parent and parent != post_id else comment_id
    return graph, post_id, top, verb


def raw_inputs_from_webhook(payload: Any, pages: Mapping[str, str]) -> WebhookItems:
    """Raw items for the events about our pages (`pages`: page id → source name).

    Any JSON value is accepted: what is not in the shapes above is listed in `problems` (by its
    path), the events that could be read are still taken in."""
    shapes = _Shapes()
    items: list[RawInput] = []
    removals: list[str] = []
    ignored = 0
    if not isinstance(payload, dict):
        shapes.wrong("(body)", "an object", payload)
        return WebhookItems([], [], 0, shapes.problems)
    if not isinstance(payload.get("object"), str):
        shapes.wrong("object", "a string", payload.get("object"))
        return WebhookItems([], [], 0, shapes.problems)
    if payload["object"] != "page":
        return WebhookItems([], [], 1)
    entries = shapes.listed(payload.get("entry", []), "entry")
    for e, entry in enumerate(entries or []):
        entry = shapes.mapping(entry, f"entry[{e}]", optional=False)
        page_id = shapes.identifier(entry.get("id"), f"entry[{e}].id") if entry is not None else None
        messaging = shapes.listed(entry.get("messaging", []), f"entry[{e}].messaging") if entry is not None else None
        changes = shapes.listed(entry.get("changes", []), f"entry[{e}].changes") if entry is not None else None
        if entry is None or page_id is None or messaging is None or changes is None:
            continue
        source = pages.get(page_id)
        if source is None:
            ignored += len(messaging) + len(changes)
            continue
        for m, event in enumerate(messaging):
            before = len(shapes.problems)
            graph = messenger_graph_message(event, f"entry[{e}].messaging[{m}]", shapes)
            if graph is None:
                ignored += len(shapes.problems) == before
                continue
            # No conversation id in a webhook: the person's PSID threads it (see normalize.py).
            items.append(message_item(source, page_id, "", graph, "webhook"))
        for c, change in enumerate(changes):
            where = f"entry[{e}].changes[{c}]"
            change = shapes.mapping(change, where, optional=False)
            if change is None:
                continue
            kind = shapes.text(change.get("field"), f"{where}.field")
            if kind is None:
                continue
            if kind != "feed":
                ignored += 1
                continue
            value = shapes.mapping(change.get("value"), f"{where}.value", optional=False)
            before = len(shapes.problems)
            found = comment_from_change(value, entry.get("time"), f"{where}.value", shapes) if value is not None else None
            if found is None:
                ignored += value is not None and len(shapes.problems) == before
                continue
            graph, post_id, top, verb = found
            item = comment_item(source, page_id, post_id, top, graph, "webhook", None, deleted=verb == "remove")
            items.append(item)
            if verb == "remove":
                removals.append(graph["id"])
    return WebhookItems(items, removals, ignored, shapes.problems)


def unreadable_delivery(body: bytes, source: str, problems: list[str], pages: Iterable[str]) -> RawInput:
    """The whole signed body, kept as it came and quarantined with what could not be read."""
    shown = problems[:MAX_PROBLEMS_SHOWN]
    more = f"; and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
    reason = "webhook delivery not read in full: " + "; ".join(shown) + more
    return RawInput(source=source, kind=UNREADABLE_KIND, external_id=f"webhook:sha256:{hashlib.sha256(body).hexdigest()}", content=body,
                    origin={"via": "webhook", "pages": sorted(pages), "reason": reason})
