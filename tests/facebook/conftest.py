"""Fixtures for fanpage tests: a Graph-shaped local server, a migrated store, a page config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from config.settings import FacebookPageConfig
from ingest.facebook import graph as graph_module
from tests.facebook.graph_server import GraphServer, GraphState
from tickets.db import session_scope
from tickets.models import Message, Ticket
from tickets.pipeline import pending_raw_item_ids, process_raw_item_now

PAGE_TOKEN = "EAApagetokenfortests0123456789"
APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "verify-me"


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphServer]:
    monkeypatch.setattr(graph_module, "DEFAULT_MIN_CALL_INTERVAL", 0.0)
    state = GraphState(app_secret=APP_SECRET)
    state.tokens[PAGE_TOKEN] = {"is_valid": True, "type": "PAGE", "app_id": "77", "expires_at": 0, "scopes": ["pages_messaging"]}
    with GraphServer(state) as server:
        yield server


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    return sqlite_engine


def page_config(server: GraphServer, **overrides: Any) -> FacebookPageConfig:
    values: dict[str, Any] = {"name": "fanpage", "page_id": server.state.page_id, "access_token": PAGE_TOKEN, "app_secret": APP_SECRET,
                              "verify_token": VERIFY_TOKEN, "graph_url": server.url, "timeout_seconds": 10}
    values.update(overrides)
    return FacebookPageConfig(**values)


def process_all(engine: Engine) -> None:
    for raw_id in pending_raw_item_ids(engine):
        process_raw_item_now(engine, raw_id, max_attachment_bytes=1_000_000)


def tickets_with_messages(engine: Engine) -> list[tuple[Ticket, list[Message]]]:
    with session_scope(engine) as session:
        tickets = list(session.execute(select(Ticket).order_by(Ticket.id)).scalars())  # type: ignore[arg-type]
        return [(ticket, list(session.execute(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.sent_at, Message.id)).scalars()))  # type: ignore[arg-type]
                for ticket in tickets]


def all_messages(engine: Engine) -> list[Message]:
    with session_scope(engine) as session:
        return list(session.execute(select(Message).order_by(Message.id)).scalars())  # type: ignore[arg-type]
