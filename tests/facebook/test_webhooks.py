"""/webhooks/facebook over real HTTP (uvicorn on loopback): handshake, signatures, events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from config.settings import Settings
from ingest.facebook.poller import FacebookPagePoller
from tests.conftest import make_settings
from tests.facebook.conftest import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, all_messages, page_config, process_all, tickets_with_messages
from tests.facebook.graph_server import GraphServer, ago
from tests.servers import serve_asgi
from tickets.db import session_scope
from tickets.models import RawItem, TicketEvent
from tiepnhan import runtime
from tiepnhan.web.app import create_app

PAGE_ID = "1001"
USER = "900001"


@pytest.fixture
def web(graph: GraphServer, engine: Engine, tmp_path: Path) -> Iterator[str]:
    page = {"name": "fanpage", "page_id": PAGE_ID, "access_token": PAGE_TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN,
            "graph_url": graph.url}
    settings: Settings = runtime.configure(make_settings(str(engine.url), tmp_path, facebook_pages=[page]))
    with serve_asgi(create_app(settings), log_config=None) as (url, _port):
        yield url


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def post(url: str, body: bytes, signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(web: str, payload: dict[str, Any]) -> int:
    # Facebook's own serialization (escaped non-ASCII); the signature is over these exact bytes.
    body = json.dumps(payload).encode()
    return post(f"{web}/webhooks/facebook", body, sign(body))


def messaging(mid: str, text: str, *, echo: bool = False, seconds_ago: float = 60) -> dict[str, Any]:
    sender, recipient = (PAGE_ID, USER) if echo else (USER, PAGE_ID)
    message: dict[str, Any] = {"mid": mid, "text": text}
    if echo:
        message["is_echo"] = True
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": [
        {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": int((time.time() - seconds_ago) * 1000), "message": message}]}]}


def comment_change(comment_id: str, verb: str, text: str | None = None, *, parent: str | None = None, at: float | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"item": "comment", "verb": verb, "comment_id": comment_id, "post_id": f"{PAGE_ID}_p1",
                             "parent_id": parent or f"{PAGE_ID}_p1", "from": {"id": "900002", "name": "Lê Văn Nam"},
                             "created_time": int(at or time.time() - 600)}
    if text is not None:
        value["message"] = text
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": int(at or time.time()), "changes": [{"field": "feed", "value": value}]}]}


def raw_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(RawItem)).scalar_one())


def test_handshake_echoes_the_challenge_only_for_our_verify_token(web: str) -> None:
    assert get(f"{web}/webhooks/facebook?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444") == (200, "1158201444")
    assert get(f"{web}/webhooks/facebook?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1158201444")[0] == 403
    assert get(f"{web}/webhooks/facebook?hub.mode=unsubscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1")[0] == 403
    assert get(f"{web}/webhooks/facebook?hub.verify_token={VERIFY_TOKEN}&hub.challenge=1")[0] == 403


def test_only_correctly_signed_events_are_stored(web: str, engine: Engine) -> None:
    body = json.dumps(messaging("m_sig", "Cho tôi hỏi về BHXH tự nguyện")).encode()
    assert post(f"{web}/webhooks/facebook", body, None) == 403
    assert post(f"{web}/webhooks/facebook", body, sign(body, "another-secret")) == 403
    assert post(f"{web}/webhooks/facebook", body, "sha256=" + "0" * 64) == 403
    assert post(f"{web}/webhooks/facebook", body + b" ", sign(body)) == 403  # the signature covers the exact bytes
    assert raw_count(engine) == 0
    assert post(f"{web}/webhooks/facebook", body, sign(body)) == 200
    assert raw_count(engine) == 1
    process_all(engine)
    (ticket, messages), = tickets_with_messages(engine)
    assert messages[0].external_id == "m_sig" and messages[0].clean_text == "Cho tôi hỏi về BHXH tự nguyện"


def test_a_message_seen_by_webhook_and_poll_is_one_message_in_one_ticket(web: str, graph: GraphServer, engine: Engine) -> None:
    state = graph.state
    state.add_message("t_1", "m_1", "Xin hỏi về chế độ ốm đau", ago(minutes=10), user=1)
    assert send(web, messaging("m_1", "Xin hỏi về chế độ ốm đau", seconds_ago=600)) == 200
    process_all(engine)
    assert send(web, messaging("m_2", "Chào bạn, bạn cần giấy ra viện", echo=True, seconds_ago=300)) == 200  # the page's reply
    state.add_message("t_1", "m_2", "Chào bạn, bạn cần giấy ra viện", ago(minutes=5), from_page=True, user=1)
    state.add_message("t_1", "m_3", "Cảm ơn ạ", ago(minutes=1), user=1)
    post_ = state.add_post("p1", "Thông báo", ago(days=1))
    state.add_comment(post_, "c_1", "Hỏi về BHTN", ago(minutes=10), user=2)
    assert send(web, comment_change("c_1", "add", "Hỏi về BHTN")) == 200
    FacebookPagePoller(page_config(graph)).poll_once(engine, enqueue=False)
    process_all(engine)
    messages = all_messages(engine)
    assert sorted(m.external_id for m in messages) == ["c_1", "m_1", "m_2", "m_3"]
    found = tickets_with_messages(engine)
    assert len(found) == 2
    conversation = next(messages for _, messages in found if messages[0].channel == "facebook_message")
    assert [(m.external_id, m.direction) for m in conversation] == [("m_1", "inbound"), ("m_2", "outbound"), ("m_3", "inbound")]
    ticket = next(t for t, messages in found if messages[0].channel == "facebook_message")
    assert ticket.first_response_at is not None
    assert raw_count(engine) == 4


def test_edits_and_removal_update_the_comment_and_keep_every_text(web: str, engine: Engine) -> None:
    now = time.time()
    assert send(web, comment_change("c_9", "add", "Sổ BHXH của tôi bị sai năm sinh", at=now - 300)) == 200
    process_all(engine)
    assert send(web, comment_change("c_9", "edited", "Sổ BHXH của tôi bị sai năm sinh, tôi ở Nghệ An", at=now - 200)) == 200
    assert send(web, comment_change("c_9", "edited", "Sổ BHXH bị sai năm sinh (Nghệ An), xin hướng dẫn", at=now - 100)) == 200
    process_all(engine)
    assert send(web, comment_change("c_9", "remove", at=now)) == 200
    process_all(engine)
    message, = all_messages(engine)
    assert message.is_deleted and message.edited_at is not None
    assert message.clean_text == "Sổ BHXH bị sai năm sinh (Nghệ An), xin hướng dẫn"
    assert message.previous_texts == ["Sổ BHXH của tôi bị sai năm sinh", "Sổ BHXH của tôi bị sai năm sinh, tôi ở Nghệ An"]
    with session_scope(engine) as session:
        kinds = [e.kind for e in session.execute(select(TicketEvent).order_by(TicketEvent.id)).scalars()]  # type: ignore[arg-type]
    assert kinds.count("message_edited") == 2 and kinds.count("message_deleted") == 1


def test_removal_of_a_comment_never_seen_stores_nothing(web: str, engine: Engine) -> None:
    assert send(web, comment_change("c_unknown", "remove")) == 200
    assert raw_count(engine) == 0


def test_events_for_other_pages_and_non_message_events_are_ignored(web: str, engine: Engine) -> None:
    payload = messaging("m_x", "Hỏi")
    payload["entry"][0]["id"] = "999"
    assert send(web, payload) == 200
    read = {"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "messaging": [{"sender": {"id": USER}, "recipient": {"id": PAGE_ID}, "read": {"watermark": 1}}]}]}
    assert send(web, read) == 200
    assert raw_count(engine) == 0
