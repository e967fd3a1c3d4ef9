"""Fixtures for Zalo tests: the Zalo API stand-in, a migrated store, the web app under uvicorn."""

from __future__ import annotations

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

from config.settings import ZaloAccountConfig
from ingest.zalo.events import expected_signature
from tests.conftest import make_settings
from tests.servers import serve_asgi
from tests.zalo.zalo_server import ZaloServer, ZaloState
from tickets.db import session_scope
from tickets.models import Message, RawItem, Ticket
from tickets.pipeline import pending_raw_item_ids, process_raw_item_now
from tiepnhan import runtime
from tiepnhan.web.app import create_app

OA_ID = "388613280878808645"
OA_SECRET = "oa-secret-key-for-tests"
USER = "246845883529197922"


@pytest.fixture
def zalo() -> Iterator[ZaloServer]:
    with ZaloServer(ZaloState()) as server:
        yield server


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    return sqlite_engine


def account(server: ZaloServer, refresh_token: str | None = None, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"name": "zalo-oa", "oa_id": OA_ID, "app_id": server.state.app_id, "app_secret": server.state.app_secret,
                              "oa_secret_key": OA_SECRET, "api_url": server.url, "oauth_url": server.url}
    if refresh_token:
        values["refresh_token"] = refresh_token
    values.update(overrides)
    return values


def account_config(server: ZaloServer, refresh_token: str | None = None, **overrides: Any) -> ZaloAccountConfig:
    return ZaloAccountConfig(**account(server, refresh_token, **overrides))


@pytest.fixture
def web(zalo: ZaloServer, engine: Engine, tmp_path: Path) -> Iterator[str]:
    settings = runtime.configure(make_settings(str(engine.url), tmp_path, zalo_accounts=[account(zalo, zalo.state.issue_refresh_token())]))
    with serve_asgi(create_app(settings), log_config=None) as (url, _port):
        yield url


def now_ms(seconds_ago: float = 0) -> str:
    return str(int((time.time() - seconds_ago) * 1000))


def user_event(name: str, msg_id: str, text: str | None = None, *, user: str = USER, seconds_ago: float = 5, app_id: str = "3608465249409039",
               attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"msg_id": msg_id}
    if text is not None:
        message["text"] = text
    if attachments is not None:
        message["attachments"] = attachments
    return {"app_id": app_id, "user_id_by_app": "552177279717587730", "event_name": name, "timestamp": now_ms(seconds_ago),
            "sender": {"id": user}, "recipient": {"id": OA_ID}, "message": message}


def oa_event(msg_id: str, text: str, *, user: str = USER) -> dict[str, Any]:
    return {"app_id": "3608465249409039", "oa_id": OA_ID, "event_name": "oa_send_text", "timestamp": now_ms(),
            "sender": {"id": OA_ID}, "recipient": {"id": user}, "message": {"msg_id": msg_id, "text": text}}


def follow_event(name: str, *, user: str = USER) -> dict[str, Any]:
    return {"app_id": "3608465249409039", "oa_id": OA_ID, "event_name": name, "timestamp": now_ms(), "source": "oa_profile",
            "follower": {"id": user}, "user_id_by_app": "552177279717587730"}


def sign(body: bytes, payload: dict[str, Any], secret: str = OA_SECRET, app_id: str = "3608465249409039") -> str:
    return expected_signature(app_id, body, str(payload["timestamp"]), secret)


def post(url: str, body: bytes, signature: str | None) -> tuple[int, dict[str, Any] | str]:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-ZEvent-Signature"] = signature
    request = urllib.request.Request(f"{url}/webhooks/zalo", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def send(url: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any] | str]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return post(url, body, sign(body, payload))


def process_all(engine: Engine) -> None:
    for raw_id in pending_raw_item_ids(engine):
        process_raw_item_now(engine, raw_id, max_attachment_bytes=1_000_000)


def raw_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(RawItem)).scalar_one())


def tickets(engine: Engine) -> list[Ticket]:
    with session_scope(engine) as session:
        return list(session.execute(select(Ticket).order_by(Ticket.id)).scalars())  # type: ignore[arg-type]


def messages(engine: Engine) -> list[Message]:
    with session_scope(engine) as session:
        return list(session.execute(select(Message).order_by(Message.id)).scalars())  # type: ignore[arg-type]
