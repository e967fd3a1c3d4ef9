"""Fanpage data in the Graph API's shapes, imported: threads, page replies, comments."""

from __future__ import annotations

import json
from pathlib import Path

from tests.core.test_import_cli import cli, import_json, tickets  # noqa: F401  (fixture)

FANPAGE = Path(__file__).resolve().parents[2] / "tiepnhan" / "samples" / "fanpage"


def test_conversations_and_comments_become_tickets(cli) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    summary = import_json(cli, FANPAGE)
    assert summary["failures"] == [] and summary["exit_code"] == 0
    rows = tickets(cli)
    conversations = json.loads((FANPAGE / "conversations.json").read_text(encoding="utf-8"))
    posts = json.loads((FANPAGE / "posts.json").read_text(encoding="utf-8"))
    # one ticket per conversation, one per top-level comment thread
    top_level = [c for post in posts["data"] for c in post["comments"]["data"]]
    assert len(rows) == len(conversations["data"]) + len(top_level)
    by_first = {row["external_ids"][0]: row for row in rows}
    first_conversation = conversations["data"][0]["messages"]["data"]
    ticket = next(r for r in rows if set(r["external_ids"]) == {m["id"] for m in first_conversation})
    assert ticket["channel"] == "facebook_message" and ticket["message_count"] == len(first_conversation)
    assert ticket["first_response_at"] is not None  # the page's reply is the first response
    thread = top_level[0]
    replies = thread["comments"]["data"]
    comment_ticket = next(r for r in rows if thread["id"] in r["external_ids"])
    assert set(comment_ticket["external_ids"]) == {thread["id"], *(r["id"] for r in replies)}
    assert comment_ticket["channel"] == "facebook_comment"
    other = by_first.get(top_level[1]["id"])
    assert other is not None and other["id"] != comment_ticket["id"]


def test_page_reply_alone_opens_no_ticket(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    data = {"page_id": "1", "data": [{"id": "t_1", "messages": {"data": [
        {"id": "m_page", "created_time": "2025-10-01T01:00:00+0000", "from": {"id": "1", "name": "Trang"}, "message": "Chào bạn"}]}}]}
    path = tmp_path / "page-only.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    summary = import_json(cli, path)
    assert summary["new_tickets"] == 0 and summary["without_ticket"] == 1
    assert tickets(cli) == []


def test_unknown_json_shape_is_kept_with_a_reason(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    path = tmp_path / "other.json"
    path.write_text('{"hello": "world"}', encoding="utf-8")
    summary = import_json(cli, path)
    assert summary["exit_code"] == 1
    (failure,) = summary["failures"]
    assert "Graph API" in failure["reason"]
