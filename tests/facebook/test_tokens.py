"""Page token health: /debug_token with an app token, else GET /me; stored in SourceHealth."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from ingest.facebook.tokens import status_from_debug_token
from tests.conftest import make_settings
from tests.facebook.conftest import APP_SECRET, PAGE_TOKEN
from tests.facebook.graph_server import GraphServer
from tickets.db import session_scope
from tickets.models import SourceHealth
from tiepnhan.scheduler import run_periodic_now

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_a_valid_token_far_from_expiry_needs_nothing() -> None:
    status = status_from_debug_token({"is_valid": True, "expires_at": int((NOW + timedelta(days=50)).timestamp()), "scopes": ["pages_messaging"]}, NOW)
    assert status.valid and status.warning is None and status.expires_at == (NOW + timedelta(days=50)).isoformat()
    assert status.scopes == ("pages_messaging",)


def test_a_never_expiring_token_has_no_expiry() -> None:
    status = status_from_debug_token({"is_valid": True, "expires_at": 0}, NOW)
    assert status.valid and status.expires_at is None and status.warning is None


@pytest.mark.parametrize("days", [0, 3, 7])
def test_expiry_within_the_warning_window_warns(days: int) -> None:
    expires = NOW + timedelta(days=days, hours=1)
    status = status_from_debug_token({"is_valid": True, "expires_at": int(expires.timestamp())}, NOW)
    assert status.warning is not None and f"sau {days} ngày" in status.warning and f"in {days} days" in status.warning


def test_eight_days_ahead_is_not_yet_a_warning() -> None:
    status = status_from_debug_token({"is_valid": True, "expires_at": int((NOW + timedelta(days=8, hours=1)).timestamp())}, NOW)
    assert status.valid and status.warning is None


def test_data_access_expiry_counts_too() -> None:
    soon = int((NOW + timedelta(days=2)).timestamp())
    status = status_from_debug_token({"is_valid": True, "expires_at": 0, "data_access_expires_at": soon}, NOW)
    assert status.warning is not None and "2" in status.warning


def test_an_invalid_token_says_so_in_both_languages() -> None:
    status = status_from_debug_token({"is_valid": False, "error": {"code": 190, "subcode": 460, "message": "The session has been invalidated because the user changed their password"}}, NOW)
    assert status.valid is False and status.warning is not None
    assert "hết hạn" in status.warning and "changed their password" in status.warning


def settings_for(graph: GraphServer, engine: Engine, tmp_path: Path, token: str, app_token: str | None) -> Any:
    page: dict[str, Any] = {"name": "fanpage", "page_id": graph.state.page_id, "access_token": token, "app_secret": APP_SECRET, "graph_url": graph.url}
    if app_token:
        page["app_token"] = app_token
    return make_settings(str(engine.url), tmp_path, facebook_pages=[page])


def health(engine: Engine) -> SourceHealth:
    with session_scope(engine) as session:
        row = session.get(SourceHealth, "fanpage")
        assert row is not None
        return row


def test_debug_token_expiring_soon_is_stored_and_logged(graph: GraphServer, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    graph.state.tokens[PAGE_TOKEN]["expires_at"] = int(time.time()) + 3 * 86400 + 600
    settings = settings_for(graph, engine, tmp_path, PAGE_TOKEN, "77|appsecret")
    with caplog.at_level(logging.WARNING, logger="ingest.facebook.tokens"):
        run_periodic_now(settings, engine, "token_health")
    token = health(engine).details["token"]
    assert token["valid"] is True and token["method"] == "debug_token" and token["expires_at"] is not None
    assert "sau 3 ngày" in token["warning"]
    assert any("needs attention" in r.getMessage() for r in caplog.records)
    assert health(engine).consecutive_errors == 0
    from tiepnhan.status import collect

    [source] = [s for s in collect(settings, engine).sources if s.kind == "facebook"]  # the portal is listed too
    assert source.warning is not None and "sau 3 ngày" in source.warning  # shown by `tiepnhan status`
    assert any(path.endswith("/debug_token") and args["input_token"] == PAGE_TOKEN for path, args in graph.state.requests)
    assert all(PAGE_TOKEN not in r.getMessage() and PAGE_TOKEN not in str(vars(r)) for r in caplog.records)


def test_debug_token_invalid_marks_the_source_failing(graph: GraphServer, engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(graph, engine, tmp_path, "EAAchangedpasswordtokenxxxxxxxx", "77|appsecret")
    run_periodic_now(settings, engine, "token_health")
    row = health(engine)
    assert row.details["token"]["valid"] is False
    assert row.consecutive_errors == 1 and row.last_error is not None and "hết hạn" in row.last_error


def test_without_an_app_token_a_cheap_call_checks_the_token(graph: GraphServer, engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(graph, engine, tmp_path, PAGE_TOKEN, None)
    run_periodic_now(settings, engine, "token_health")
    token = health(engine).details["token"]
    assert token == {**token, "valid": True, "method": "me", "expires_at": None, "warning": None}
    assert any(path.endswith("/me") for path, _ in graph.state.requests)
    bad = settings_for(graph, engine, tmp_path, "EAAexpiredtokenxxxxxxxxxxxxxxxx", None)
    run_periodic_now(bad, engine, "token_health")
    assert health(engine).details["token"]["valid"] is False
