"""The raw item for one fanpage message or comment.

One raw item per Graph object, so that a message seen by the poller and by a webhook is one
item: content is the JSON of
    {"page_id", "conversation_id"} + {"object": <Graph message>}            (Messenger)
    {"page_id", "post_id", "top_comment_id", "post_message"} + {"object": <Graph comment>}
plus "via": "poll" | "webhook" | "import". The object is kept exactly as the Graph API sent it.
"""

from __future__ import annotations

import json
from typing import Any

from tickets.store import RawInput

MESSAGE_KIND = "facebook_message"
COMMENT_KIND = "facebook_comment"


def message_item(source: str, page_id: str, conversation_id: str, graph_message: dict[str, Any], via: str) -> RawInput:
    envelope = {"page_id": page_id, "conversation_id": conversation_id, "object": graph_message, "via": via}
    return RawInput(source=source, kind=MESSAGE_KIND, external_id=str(graph_message["id"]), content=_dump(envelope),
                    origin={"conversation_id": conversation_id, "via": via})


def comment_item(
    source: str, page_id: str, post_id: str, top_comment_id: str, graph_comment: dict[str, Any], via: str, post_message: str | None = None,
    deleted: bool = False,
) -> RawInput:
    envelope = {"page_id": page_id, "post_id": post_id, "top_comment_id": top_comment_id, "post_message": post_message,
                "object": graph_comment, "via": via}
    # An edited comment keeps its id: its new text is a new version of the same raw item.
    version = str(graph_comment.get("updated_time") or graph_comment.get("created_time") or "")
    external_id = f"{graph_comment['id']}@{version}" if graph_comment.get("edited") or graph_comment.get("updated_time") else str(graph_comment["id"])
    if deleted:  # its removal (webhook verb "remove"): marks the stored comment, keeps its text
        envelope["deleted"] = True
        external_id = f"{graph_comment['id']}#deleted"
    return RawInput(source=source, kind=COMMENT_KIND, external_id=external_id, content=_dump(envelope),
                    origin={"post_id": post_id, "via": via})


def _dump(envelope: dict[str, Any]) -> bytes:
    try:
        return json.dumps(envelope, ensure_ascii=False, sort_keys=True).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (JSON's "\ud800") has no UTF-8: kept escaped, exactly
        return json.dumps(envelope, ensure_ascii=True, sort_keys=True).encode("ascii")
