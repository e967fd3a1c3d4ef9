"""Fanpage data in the Graph API's own shapes → raw items (for `tiepnhan import`).

Accepted JSON:
  * a conversation list, as `/{page-id}/conversations?fields=...,messages{...}` returns it:
    {"data": [{"id": "t_...", "updated_time": ..., "messages": {"data": [<message>...]}}], "paging": ...}
  * posts with nested comments and replies, as `/{page-id}/feed?fields=...,comments{...,comments{...}}`:
    {"data": [{"id": "<page>_<post>", "message": ..., "comments": {"data": [<comment with "comments">...]}}]}
The page id comes from a top-level "page_id" key, else from the post ids ("<page>_<post>").
"""

from __future__ import annotations

from typing import Any

from ingest.facebook.envelope import comment_item, message_item
from tickets.store import RawInput


def _data(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        return [item for item in value["data"] if isinstance(item, dict)]
    return []


def raw_inputs_from_graph_export(data: object, source: str) -> list[RawInput]:
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError('expected an object with a "data" list (a Graph API connection)')
    items = _data(data)
    page_id = str(data.get("page_id") or "")
    if items and all("messages" in item for item in items):
        if not page_id:
            raise ValueError('a conversation list needs a top-level "page_id" (which participant is the page)')
        return [message_item(source, page_id, str(conv["id"]), message, "import") for conv in items for message in _data(conv.get("messages"))]
    if items and all("comments" in item or "message" in item for item in items):
        inputs: list[RawInput] = []
        for post in items:
            post_id = str(post["id"])
            owner = page_id or post_id.split("_", 1)[0]
            for comment in _data(post.get("comments")):
                inputs.append(comment_item(source, owner, post_id, str(comment["id"]), comment, "import", post.get("message")))
                for reply in _data(comment.get("comments")):
                    inputs.append(comment_item(source, owner, post_id, str(comment["id"]), reply, "import", post.get("message")))
        return inputs
    raise ValueError("neither conversations with messages nor posts with comments")
