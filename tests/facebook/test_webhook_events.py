"""Webhook events → the poller's raw items, and the signature/handshake rules (pure functions)."""

from __future__ import annotations

import hashlib
import hmac
import json

from ingest.facebook.normalize import parse_facebook_item
from ingest.facebook.webhook import graph_time_from_epoch, handshake_challenge, raw_inputs_from_webhook, signature_matches
from ingest.registry import ParseContext
from tickets.models import utcnow
from tickets.normalized import Direction

PAGES = {"1001": "fanpage"}
CONTEXT = ParseContext(source="fanpage", arrived_at=utcnow(), max_attachment_bytes=1000)


def test_signature_is_hmac_sha256_of_the_exact_body() -> None:
    body = '{"object":"page","entry":[{"message":"Hỏi về BHYT"}]}'.encode()
    good = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signature_matches(body, good, "s3cret")
    assert signature_matches(body, good.upper().replace("SHA256=", "sha256="), "s3cret")
    assert not signature_matches(body, good, "other")
    assert not signature_matches(json.dumps(json.loads(body)).encode(), good, "s3cret")  # re-serialized
    assert not signature_matches(body, good.removeprefix("sha256="), "s3cret")
    assert not signature_matches(body, "sha1=" + hmac.new(b"s3cret", body, hashlib.sha1).hexdigest(), "s3cret")
    assert not signature_matches(body, None, "s3cret") and not signature_matches(body, good, "")


def test_handshake() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "abc", "hub.challenge": "42"}
    assert handshake_challenge(params, ["x", "abc"]) == "42"
    assert handshake_challenge(params, ["x"]) is None
    assert handshake_challenge({**params, "hub.verify_token": ""}, ["", "abc"]) is None


def test_messenger_message_with_attachment_and_echo() -> None:
    payload = {"object": "page", "entry": [{"id": "1001", "time": 1, "messaging": [
        {"sender": {"id": "555"}, "recipient": {"id": "1001"}, "timestamp": 1760000000000,
         "message": {"mid": "m_abc", "text": "Ảnh sổ BHXH", "attachments": [{"type": "image", "payload": {"url": "https://cdn.example/a.jpg"}},
                                                                           {"type": "file", "payload": {"url": "https://cdn.example/b.pdf"}}]}},
        {"sender": {"id": "1001"}, "recipient": {"id": "555"}, "timestamp": 1760000060000, "message": {"mid": "m_echo", "text": "Đã nhận", "is_echo": True}},
        {"sender": {"id": "555"}, "recipient": {"id": "1001"}, "timestamp": 1760000070000, "delivery": {"mids": ["m_echo"]}},
    ]}]}
    found = raw_inputs_from_webhook(payload, PAGES)
    # an edit is a new version named by the event's time (entry.time), so each edit is kept
    assert graph_time_from_epoch(1760000500) == "2025-10-09T09:01:40+0000"
    assert [i.external_id for i in found.items] == ["m_abc", "m_echo"] and found.ignored == 1
    assert all(i.kind == "facebook_message" and i.source == "fanpage" for i in found.items)
    inbound = parse_facebook_item(found.items[0].content, CONTEXT)
    echo = parse_facebook_item(found.items[1].content, CONTEXT)
    assert inbound.direction == Direction.INBOUND and echo.direction == Direction.OUTBOUND
    assert inbound.parent_keys == echo.parent_keys == ("fb-user:1001:555",)
    assert inbound.sent_at is not None and int(inbound.sent_at.timestamp()) == 1760000000
    assert [(a.url, a.content_type) for a in inbound.attachments] == [("https://cdn.example/a.jpg", "image/*"), ("https://cdn.example/b.pdf", "application/octet-stream")]


def test_polled_message_names_both_its_conversation_and_its_person() -> None:
    from ingest.facebook.envelope import message_item

    reply = message_item("fanpage", "1001", "t_9", {"id": "m_1", "from": {"id": "1001"}, "to": {"data": [{"id": "555"}]}, "message": "Chào bạn"}, "poll")
    parsed = parse_facebook_item(reply.content, CONTEXT)
    assert parsed.parent_keys == ("fb-user:1001:555", "fb-conv:t_9") and parsed.direction == Direction.OUTBOUND


def test_comment_reply_threads_under_its_top_comment_and_verbs_map_to_items() -> None:
    def change(verb: str, comment: str, parent: str, message: str | None = "Hỏi") -> dict[str, object]:
        value = {"item": "comment", "verb": verb, "comment_id": comment, "post_id": "1001_7", "parent_id": parent,
                 "from": {"id": "555", "name": "A"}, "created_time": 1760000000}
        if message is not None:
            value["message"] = message
        return {"field": "feed", "value": value}

    payload = {"object": "page", "entry": [{"id": "1001", "time": 1760000500, "changes": [
        change("add", "7_1", "1001_7"), change("add", "7_2", "7_1"), change("edited", "7_1", "1001_7", "Hỏi lại"),
        change("remove", "7_2", "7_1", None), change("hide", "7_1", "1001_7"),
        {"field": "feed", "value": {"item": "reaction", "verb": "add", "post_id": "1001_7"}},
    ]}]}
    found = raw_inputs_from_webhook(payload, PAGES)
    # an edit is a new version named by the event's time (entry.time), so each edit is kept
    assert graph_time_from_epoch(1760000500) == "2025-10-09T09:01:40+0000"
    assert [i.external_id for i in found.items] == ["7_1", "7_2", f"7_1@{graph_time_from_epoch(1760000500)}", "7_2#deleted"]
    assert found.removals == ["7_2"] and found.ignored == 2
    top, reply, edit, removal = (parse_facebook_item(i.content, CONTEXT) for i in found.items)
    assert top.parent_keys == ("fb-comment:7_1",) and reply.parent_keys == ("fb-comment:7_1",)
    assert edit.external_id == "7_1" and edit.clean_text == "Hỏi lại" and edit.extra["edited"]
    assert removal.external_id == "7_2" and removal.is_deleted


def test_other_objects_are_ignored() -> None:
    assert raw_inputs_from_webhook({"object": "instagram", "entry": [{"id": "1001", "changes": []}]}, PAGES).items == []
