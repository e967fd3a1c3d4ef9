"""A fanpage raw item of any shape is read or refused as the item's fault, never a crash.

Raw items also come from polls and imports, whose Graph objects are stored as they came. Every
node of a valid Messenger and comment envelope is replaced in turn by each hostile value: the
normalizer returns a message or raises FacebookItemError (quarantined, not retried), nothing
else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ingest.facebook.envelope import comment_item, message_item
from ingest.facebook.normalize import FacebookItemError, parse_facebook_item
from ingest.registry import ParseContext
from tests.facebook.test_webhook_hostile import node_paths, replaced
from tickets.models import utcnow

CONTEXT = ParseContext(source="fanpage", arrived_at=utcnow(), max_attachment_bytes=1000)
HOSTILE: dict[str, Any] = {
    "a number": 7, "a fraction": 0.5, "a string": "x", "an empty string": "", "a digit string": "12", "null": None, "true": True,
    "a list": [1, {"k": None}], "an object": {"k": [1]}, "a lone surrogate": "\ud800", "a huge number": 10**30,
}


def message_envelope() -> dict[str, Any]:
    graph = {"id": "m_1", "created_time": "2025-10-06T01:15:00+0000", "message": "Xin hỏi về BHXH", "from": {"id": "900001", "name": "Lan"},
             "to": {"data": [{"id": "1001", "name": "BHXH"}]},
             "attachments": {"data": [{"name": "a.jpg", "mime_type": "image/jpeg", "size": 12, "image_data": {"url": "https://example.org/a.jpg"},
                                       "file_url": "https://example.org/a", "media": {"image": {"src": "https://example.org/b"}}}]}}
    return json.loads(message_item("fanpage", "1001", "t_1", graph, "poll").content)


def comment_envelope() -> dict[str, Any]:
    graph = {"id": "c_1", "created_time": "2025-10-06T01:15:00+0000", "updated_time": "2025-10-06T02:15:00+0000", "message": "Sổ BHYT sai",
             "from": {"id": "900002", "name": "Nam"}, "attachment": {"type": "photo", "url": "https://example.org/p", "media": {"image": {"src": "https://example.org/p"}}}}
    return json.loads(comment_item("fanpage", "1001", "1001_p1", "c_1", graph, "poll", "Thông báo").content)


def mutants() -> Iterator[tuple[str, bytes]]:
    for make in (message_envelope, comment_envelope):
        for path in list(node_paths(make())):
            for label, value in HOSTILE.items():
                mutant = replaced(make(), path, value)
                text = json.dumps(mutant)  # escaped, as a surrogate must be
                yield f"{make.__name__}: {'.'.join(map(str, path))} = {label}", text.encode()
    for label, value in HOSTILE.items():
        yield f"the whole envelope = {label}", json.dumps(value).encode()
    yield "not JSON", b"{"
    yield "nested too deeply", b"[" * 100_000 + b"]" * 100_000


def test_every_mutant_is_read_or_refused_as_the_items_fault() -> None:
    crashes, read, refused = [], 0, 0
    for name, content in mutants():
        try:
            message = parse_facebook_item(content, CONTEXT)
        except FacebookItemError:
            refused += 1
            continue
        except Exception as exc:  # noqa: BLE001 - what this test is looking for
            crashes.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        read += 1
        assert "\ud800" not in message.clean_text and isinstance(message.clean_text, str), name
    assert not crashes, f"{len(crashes)} crashes:\n" + "\n".join(crashes[:30])
    assert read > 100 and refused > 50, (read, refused)


@pytest.mark.parametrize("path", [("object", "from"), ("object", "message"), ("object", "attachments", "data", 0)])
def test_a_value_of_the_wrong_kind_is_named_by_its_path(path: tuple[Any, ...]) -> None:
    content = json.dumps(replaced(message_envelope(), path, ["x"] if path[-1] != "message" else {"x": 1})).encode()
    with pytest.raises(FacebookItemError, match=r"^object\.(from|message|attachments\[0\]): expected"):
        parse_facebook_item(content, CONTEXT)


def test_a_lone_surrogate_from_the_graph_api_is_stored_and_read() -> None:
    graph = {"id": "m_9", "message": "Hỏi \ud800 về BHYT", "from": {"id": "900001"}}
    item = message_item("fanpage", "1001", "t_9", graph, "poll")
    assert json.loads(item.content)["object"]["message"] == "Hỏi \ud800 về BHYT"  # kept exactly, escaped
    assert parse_facebook_item(item.content, CONTEXT).clean_text == "Hỏi  về BHYT"
