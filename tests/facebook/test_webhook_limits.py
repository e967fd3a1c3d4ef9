"""Body size and time limits of /webhooks/facebook, over raw sockets to a real uvicorn server.

urllib (and Starlette's TestClient) send a whole body before reading the answer; these tests
speak HTTP/1.1 on a socket to see when the server answers: before the body, in the middle of
a chunked stream, or while a slow client is still trickling.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select as sql_select
from sqlalchemy.engine import Engine

from tests.conftest import make_settings
from tests.facebook.conftest import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN
from tests.facebook.webhook_server import PAGE_ID, USER, post_signed, serving, sign
from tickets.db import session_scope
from tickets.models import RawItem
from tiepnhan import runtime

LIMIT = 64 * 1024
TIMEOUT = 1.5


@pytest.fixture(params=["webhook routes", "whole app"])
def web(engine: Engine, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    """The routes alone, and inside the whole web app (its middleware must not read the body first)."""
    page = {"name": "fanpage", "page_id": PAGE_ID, "access_token": PAGE_TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN}
    settings = runtime.configure(make_settings(str(engine.url), tmp_path, facebook_pages=[page],
                                               webhooks={"max_body_bytes": LIMIT, "body_timeout_seconds": TIMEOUT}))
    with serving(settings, whole_app=request.param == "whole app") as served:
        yield served


def event_body(mid: str, text: str) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": 1760000000000, "messaging": [
        {"sender": {"id": USER}, "recipient": {"id": PAGE_ID}, "timestamp": 1760000000000, "message": {"mid": mid, "text": text}}]}]}).encode()


def raw_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.execute(sql_select(func.count()).select_from(RawItem)).scalar_one())


def request_head(port: int, body: bytes, *, length: int | None) -> bytes:
    framing = f"Content-Length: {length}\r\n" if length is not None else "Transfer-Encoding: chunked\r\n"
    return (f"POST /webhooks/facebook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"X-Hub-Signature-256: {sign(body)}\r\n{framing}\r\n").encode()


def answered(sock: socket.socket, wait: float) -> bool:
    return bool(select.select([sock], [], [], wait)[0])


def status_of(sock: socket.socket) -> int:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, "the server closed without answering"
        data += chunk
    return int(data.split(b" ", 2)[1])


def test_a_declared_10_mb_body_is_refused_before_any_of_it_is_sent(web: tuple[str, int], engine: Engine) -> None:
    _, port = web
    body = event_body("m_big", "x" * (10 * 1024 * 1024))  # correctly signed
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_head(port, body, length=len(body)))
        assert answered(sock, 5), "no answer without the body: the server waits to read it"
        assert status_of(sock) == 413
    assert raw_count(engine) == 0


def test_a_chunked_body_is_counted_and_refused_once_past_the_limit(web: tuple[str, int], engine: Engine) -> None:
    _, port = web
    body = event_body("m_chunked", "x" * (10 * 1024 * 1024))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_head(port, body, length=None))
        sent = 0
        while sent <= LIMIT:  # a little more than the limit, then the stream stalls (never ends)
            piece = body[sent : sent + 8192]
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sent += len(piece)
        assert answered(sock, TIMEOUT * 0.8), "no answer before the time limit: the stream was not counted"
        assert status_of(sock) == 413
    assert sent < len(body) // 100 and raw_count(engine) == 0


def test_a_slow_body_times_out_and_holds_nothing(web: tuple[str, int], engine: Engine) -> None:
    base, port = web
    body = event_body("m_slow", "Cho tôi hỏi về BHXH tự nguyện")
    slow = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(4)]
    stop = threading.Event()
    sent = [0] * len(slow)

    def trickle(index: int) -> None:
        sock = slow[index]
        sock.sendall(request_head(port, body, length=len(body)))
        for position in range(len(body)):  # one byte every 50 ms: the whole would take seconds
            if stop.is_set() or answered(sock, 0):
                return
            sock.sendall(body[position : position + 1])
            sent[index] += 1
            time.sleep(0.05)

    threads = [threading.Thread(target=trickle, args=(i,)) for i in range(len(slow))]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        # While they trickle, an ordinary delivery is served at once.
        assert post_signed(base, event_body("m_fast", "Hỏi về BHYT"))[0] == 200
        for sock in slow:
            assert answered(sock, TIMEOUT + 5), "a slow body held the connection past the time limit"
            assert status_of(sock) == 408
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        for sock in slow:
            sock.close()
    assert all(count < len(body) for count in sent)
    with session_scope(engine) as session:
        assert list(session.execute(sql_select(RawItem.external_id)).scalars()) == ["m_fast"]


def test_a_body_of_exactly_the_limit_is_taken(web: tuple[str, int], engine: Engine) -> None:
    base, _ = web
    body = event_body("m_limit", "Hỏi về chế độ thai sản")
    padded = body + b" " * (LIMIT - len(body))  # trailing whitespace is still the same JSON
    assert len(padded) == LIMIT
    assert post_signed(base, padded)[0] == 200
    assert post_signed(base, padded + b" ")[0] == 413
    assert raw_count(engine) == 1


@pytest.mark.parametrize(("values", "field"), [({"max_body_bytes": 10}, "webhooks.max_body_bytes"), ({"body_timeout_seconds": 0}, "webhooks.body_timeout_seconds"),
                                               ({"body_timeout_seconds": "slow"}, "webhooks.body_timeout_seconds"), ({"max_size": 1}, "webhooks.max_size")])
def test_limits_are_validated_at_start_up(tmp_path: Path, values: dict[str, object], field: str) -> None:
    from config.settings import ConfigError

    with pytest.raises(ConfigError) as raised:
        make_settings(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, webhooks=values)
    assert any(field in problem for problem in raised.value.problems), raised.value.problems
    assert make_settings(f"sqlite:///{tmp_path / 'x.db'}", tmp_path).webhooks.max_body_bytes == 4 * 1024 * 1024
