"""The pure Zalo readers: events → raw items, raw items → NormalizedMessage."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ingest.registry import ParseContext, parser_for
from ingest.zalo.events import expected_signature, read_event, signature_matches
from tickets.normalized import Channel, Direction

OA, USER = "388613280878808645", "246845883529197922"
CONTEXT = ParseContext("zalo-oa", datetime(2026, 12, 4, tzinfo=UTC), 1_000_000)


def _event(name: str, **message: object) -> dict[str, object]:
    return {"app_id": "1", "event_name": name, "timestamp": "1764813600000", "sender": {"id": USER}, "recipient": {"id": OA},
            "message": {"msg_id": "abc", **message}}


def _parsed(payload: dict[str, object]):  # type: ignore[no-untyped-def]
    found = read_event(payload, "zalo-oa", OA, b"")
    (item,) = found.items
    return parser_for(item.kind)(item.content, CONTEXT)


def test_the_signature_is_a_plain_sha256_of_app_id_body_timestamp_secret() -> None:
    import hashlib

    body = b'{"timestamp":"1764813600000"}'
    assert expected_signature("42", body, "1764813600000", "k") == "mac=" + hashlib.sha256(b"42" + body + b"1764813600000k").hexdigest()
    assert signature_matches(body, expected_signature("42", body, "1764813600000", "k"), "42", "1764813600000", "k")
    assert not signature_matches(body, expected_signature("42", body, "1764813600000", "k"), "43", "1764813600000", "k")
    assert not signature_matches(body, expected_signature("42", body, "1764813600000", ""), "42", "1764813600000", "")


def test_text_terminal_escapes_are_dropped_and_the_thread_key_names_oa_and_user() -> None:
    message = _parsed(_event("user_send_text", text="Hỏi về BHXH\x1b[31m đỏ\x07"))
    assert message.channel is Channel.ZALO and message.direction is Direction.INBOUND
    assert message.clean_text == "Hỏi về BHXH đỏ" and message.external_id == "zalo:abc"
    assert message.parent_keys == (f"zalo-user:{OA}:{USER}",)
    assert message.sent_at == datetime.fromtimestamp(1764813600, UTC)


def test_the_oa_echo_is_outbound_on_the_users_thread() -> None:
    payload = _event("oa_send_text", text="Chào bạn")
    payload["sender"], payload["recipient"] = {"id": OA}, {"id": USER}
    message = _parsed(payload)
    assert message.direction is Direction.OUTBOUND and message.parent_keys == (f"zalo-user:{OA}:{USER}",)


def test_a_file_keeps_its_name_size_and_url() -> None:
    message = _parsed(_event("user_send_file", attachments=[{"type": "file", "payload": {"name": "to-khai.pdf", "size": "1024", "type": "pdf",
                                                                                         "url": "https://f.zalo.me/x"}}]))
    (attachment,) = message.attachments
    assert (attachment.filename, attachment.size, attachment.content_type, attachment.url) == ("to-khai.pdf", 1024, "application/pdf", "https://f.zalo.me/x")


def test_other_oas_and_other_events_are_ignored_and_follow_is_noted() -> None:
    assert read_event(_event("user_send_text", text="x"), "zalo-oa", "999", b"").ignored
    assert read_event(_event("user_reacted_message"), "zalo-oa", OA, b"").ignored
    found = read_event({"event_name": "follow", "follower": {"id": USER}, "timestamp": "1"}, "zalo-oa", OA, b"")
    assert found.follow == ("follow", USER) and found.items == []


def test_an_envelope_that_is_not_ours_is_an_error() -> None:
    import pytest

    from ingest.zalo.normalize import ZaloItemError

    for content in (b"[]", b"{", json.dumps({"event": {}}).encode()):
        with pytest.raises(ZaloItemError):
            parser_for("zalo_message")(content, CONTEXT)
