"""POST /webhooks/zalo over real HTTP (uvicorn on loopback): signatures, freshness, events → tickets.

Every test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.zalo.conftest import (
    OA_SECRET, USER, follow_event, messages, now_ms, oa_event, post, process_all, raw_count, send, sign, tickets, user_event,
)
from tests.zalo.zalo_server import ZaloServer
from tickets.db import dispose_engines, get_engine, migrate, session_scope
from tickets.escalations import resolve_ticket
from tickets.models import Checkpoint, RawItem, TicketEvent


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = get_engine(db_url)
    migrate(engine)
    yield engine
    dispose_engines()


def test_only_a_correct_fresh_signature_is_stored(web: str, engine: Engine) -> None:
    payload = user_event("user_send_text", "m-sig", "Cho tôi hỏi về BHXH tự nguyện")
    body = json.dumps(payload, ensure_ascii=False).encode()
    assert post(web, body, None)[0] == 403
    assert post(web, body, sign(body, payload, secret="another-secret"))[0] == 403
    assert post(web, body, "mac=" + "0" * 64)[0] == 403
    assert post(web, body, sign(body, payload).removeprefix("mac="))[0] == 403  # the "mac=" prefix is part of it
    assert post(web, body + b" ", sign(body, payload))[0] == 403  # the signature covers the exact bytes
    other_time = {**payload, "timestamp": now_ms(1)}
    assert post(web, body, sign(body, other_time))[0] == 403  # the timestamp signed is the event's own
    stale = user_event("user_send_text", "m-old", "Tin cũ", seconds_ago=3600)
    stale_body = json.dumps(stale).encode()
    assert post(web, stale_body, sign(stale_body, stale))[0] == 403  # a correctly signed, stale event
    assert post(web, b"not json", "mac=" + "0" * 64)[0] == 403
    assert raw_count(engine) == 0
    status, answer = post(web, body, sign(body, payload))
    assert (status, answer) == (200, {"received": 1, "new": 1, "quarantined": 0})
    process_all(engine)
    (ticket,) = tickets(engine)
    (message,) = messages(engine)
    assert (ticket.channel, message.channel, message.external_id) == ("zalo", "zalo", "zalo:m-sig")
    assert message.clean_text == "Cho tôi hỏi về BHXH tự nguyện" and message.sender_address == USER


def test_a_replayed_delivery_is_answered_200_and_creates_nothing(web: str, engine: Engine) -> None:
    payload = user_event("user_send_text", "m-replay", "Tôi muốn hỏi về thẻ BHYT")
    body = json.dumps(payload).encode()
    assert post(web, body, sign(body, payload)) == (200, {"received": 1, "new": 1, "quarantined": 0})
    process_all(engine)
    for _ in range(3):
        assert post(web, body, sign(body, payload)) == (200, {"received": 1, "new": 0, "quarantined": 0})
    process_all(engine)
    assert raw_count(engine) == 1 and len(tickets(engine)) == 1 and len(messages(engine)) == 1


def test_a_conversation_of_three_messages_with_the_oa_reply_is_one_ticket(web: str, engine: Engine) -> None:
    assert send(web, user_event("user_send_text", "m-1", "Xin chào, tôi ở Nghệ An", seconds_ago=30))[0] == 200
    assert send(web, oa_event("m-2", "Chào bạn, bạn cần hỗ trợ gì?"))[0] == 200
    image = [{"type": "image", "payload": {"thumbnail": "https://example.vn/t.jpg", "url": "https://example.vn/so-bhxh.jpg"}}]
    assert send(web, user_event("user_send_image", "m-3", None, attachments=image, seconds_ago=20))[0] == 200
    pdf = [{"type": "file", "payload": {"name": "don.pdf", "size": "20480", "type": "pdf", "url": "https://example.vn/don.pdf", "checksum": "x"}}]
    assert send(web, user_event("user_send_file", "m-4", None, attachments=pdf, seconds_ago=10))[0] == 200
    process_all(engine)
    (ticket,) = tickets(engine)
    stored = messages(engine)
    assert [(m.external_id, m.direction, m.ticket_id) for m in stored] == [
        ("zalo:m-1", "inbound", ticket.id), ("zalo:m-2", "outbound", ticket.id), ("zalo:m-3", "inbound", ticket.id), ("zalo:m-4", "inbound", ticket.id)]
    assert ticket.first_response_at is not None  # the OA's reply counts as the first response
    assert "[Hình ảnh]" in stored[2].clean_text and "[Tệp]" in stored[3].clean_text


def test_another_user_is_another_ticket_and_link_location_info_are_messages(web: str, engine: Engine) -> None:
    link = [{"type": "link", "payload": {"description": "Thông báo tăng lương hưu", "url": "https://baohiemxahoi.gov.vn/a"}}]
    place = [{"type": "location", "payload": {"coordinates": {"latitude": "21.0285", "longitude": "105.8542"}}}]
    assert send(web, user_event("user_send_link", "l-1", None, attachments=link))[0] == 200
    assert send(web, user_event("user_send_location", "p-1", None, attachments=place))[0] == 200
    info = {"app_id": "3608465249409039", "event_name": "user_submit_info", "timestamp": now_ms(), "sender": {"id": "777"},
            "recipient": {"id": "388613280878808645"}, "info": {"name": "Trần Thị Hoa", "phone": "0912345678", "city": "Hà Nội"}}
    assert send(web, info)[0] == 200
    process_all(engine)
    found = tickets(engine)
    assert len(found) == 2
    by_user = {t.sender_address: t for t in found}
    assert by_user["777"].sender_name == "Trần Thị Hoa"
    texts = [m.clean_text for m in messages(engine)]
    assert "https://baohiemxahoi.gov.vn/a" in texts[0] and "21.0285, 105.8542" in texts[1] and "Tỉnh/thành phố: Hà Nội" in texts[2]


def test_follow_unfollow_and_echoes_open_no_ticket(web: str, engine: Engine) -> None:
    assert send(web, follow_event("follow")) == (200, {"received": 0, "new": 0, "quarantined": 0})
    assert send(web, oa_event("e-1", "Cảm ơn bạn đã quan tâm BHXH Việt Nam"))[0] == 200
    process_all(engine)
    assert tickets(engine) == []
    with session_scope(engine) as session:
        follower = session.get(Checkpoint, ("zalo-oa", f"follower:{USER}"))
        assert follower is not None and follower.value["event"] == "follow"
    assert send(web, follow_event("unfollow"))[0] == 200
    with session_scope(engine) as session:
        assert session.get(Checkpoint, ("zalo-oa", f"follower:{USER}")).value["event"] == "unfollow"  # type: ignore[union-attr]
    # The echo waits, and joins the ticket when the user writes.
    assert send(web, user_event("user_send_text", "m-after", "Cho tôi hỏi thủ tục hưởng BHTN"))[0] == 200
    process_all(engine)
    (ticket,) = tickets(engine)
    assert sorted(m.external_id for m in messages(engine) if m.ticket_id == ticket.id) == ["zalo:e-1", "zalo:m-after"]


def test_a_message_after_resolution_reopens_the_same_ticket(web: str, engine: Engine) -> None:
    assert send(web, user_event("user_send_text", "r-1", "Sổ BHXH của tôi sai ngày sinh", seconds_ago=60))[0] == 200
    process_all(engine)
    (ticket,) = tickets(engine)
    resolve_ticket(engine, ticket.id, "coordinator", "đã hướng dẫn")
    assert tickets(engine)[0].status == "resolved"
    assert send(web, user_event("user_send_text", "r-2", "Tôi đã làm theo nhưng vẫn chưa được sửa"))[0] == 200
    process_all(engine)
    (again,) = tickets(engine)
    assert again.id == ticket.id and again.message_count == 2
    assert again.status == "triaged" and again.resolved_at is None
    with session_scope(engine) as session:
        kinds = [e.kind for e in session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)).scalars()]  # type: ignore[arg-type]
    assert kinds.count("reopened") == 1 and kinds.index("reopened") > kinds.index("status_changed")
    assert send(web, oa_event("r-3", "Chúng tôi đang kiểm tra lại"))[0] == 200  # the OA's own reply reopens nothing more
    process_all(engine)
    resolve_ticket(engine, ticket.id, "coordinator", "đã sửa")
    assert tickets(engine)[0].status == "resolved"


def test_unknown_shapes_are_quarantined_never_500(web: str, engine: Engine) -> None:
    weird = user_event("user_send_text", "w-1", "x")
    weird["sender"] = ["not", "an", "object"]
    status, answer = send(web, weird)
    assert status == 200 and answer == {"received": 0, "new": 1, "quarantined": 1}  # the body itself, kept
    no_name = {"app_id": "3608465249409039", "timestamp": now_ms(), "event_name": 42}
    assert send(web, no_name)[0] == 200
    bad_id = user_event("user_send_text", "w%2", "y")
    assert send(web, bad_id)[0] == 200
    with session_scope(engine) as session:
        rows = list(session.execute(select(RawItem).order_by(RawItem.id)).scalars())  # type: ignore[arg-type]
    assert [r.state for r in rows] == ["quarantined"] * 3
    assert "sender/recipient" in (rows[0].last_error or "") and "event_name" in (rows[1].last_error or "") and "msg_id" in (rows[2].last_error or "")
    assert "w%2" not in (rows[2].last_error or "")  # the value itself is never echoed
    ignored = {"app_id": "3608465249409039", "timestamp": now_ms(), "event_name": "user_seen_message", "sender": {"id": OA_SECRET}}
    assert send(web, ignored) == (200, {"received": 0, "new": 0, "quarantined": 0})
    assert tickets(engine) == []


def test_the_sender_name_is_filled_in_after_the_answer(web: str, engine: Engine, zalo: ZaloServer) -> None:
    zalo.state.users[USER] = {"display_name": "Nguyễn Văn An", "avatar": "https://s120.avatar.talk.zdn.vn/a.jpg"}
    zalo.state.detail_gate = threading.Event()  # the profile is not answered until the ticket exists
    assert send(web, user_event("user_send_text", "n-1", "Hỏi về lương hưu"))[0] == 200
    process_all(engine)
    assert tickets(engine)[0].sender_name is None and tickets(engine)[0].subject == "Tin nhắn Zalo từ người dùng"
    zalo.state.detail_gate.set()
    deadline = time.monotonic() + 15
    while tickets(engine)[0].sender_name is None and time.monotonic() < deadline:
        time.sleep(0.1)
    ticket = tickets(engine)[0]
    assert ticket.sender_name == "Nguyễn Văn An" and ticket.subject == "Tin nhắn Zalo từ Nguyễn Văn An"
    assert messages(engine)[0].sender_name == "Nguyễn Văn An"
    assert send(web, user_event("user_send_text", "n-2", "Thêm thông tin"))[0] == 200
    process_all(engine)
    time.sleep(0.5)
    assert zalo.state.detail_calls == 1  # cached: asked once
    assert zalo.state.refresh_calls == 1
