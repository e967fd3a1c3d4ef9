"""`tiepnhan poll --once` polls fanpages like mailboxes, through the embedded worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.facebook.conftest import APP_SECRET, PAGE_TOKEN, tickets_with_messages
from tests.facebook.graph_server import GraphServer, ago
from tickets.db import dispose_engines, get_engine
from tiepnhan.cli import app


def test_poll_once_brings_in_a_page_and_reports_a_broken_one(graph: GraphServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TIEPNHAN_DATABASE_URL", "TIEPNHAN_REDIS_URL", "TIEPNHAN_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FB_PAGE_TOKEN", PAGE_TOKEN)
    monkeypatch.setenv("FB_APP_SECRET", APP_SECRET)
    graph.state.add_message("t_1", "m_1", "Tôi muốn hỏi về trợ cấp thất nghiệp ở Đà Nẵng", ago(hours=1))
    post = graph.state.add_post("p1", "Thông báo", ago(days=1))
    graph.state.add_comment(post, "c_1", "Thẻ BHYT của tôi hết hạn", ago(hours=2), user=2)
    config = tmp_path / "tiepnhan.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "t.db"}"\n'
        f'[[facebook_pages]]\nname = "fanpage"\npage_id = "{graph.state.page_id}"\naccess_token_env = "FB_PAGE_TOKEN"\n'
        f'app_secret_env = "FB_APP_SECRET"\ngraph_url = "{graph.url}"\ntimeout_seconds = 10\n'
        f'[[facebook_pages]]\nname = "fanpage-cu"\npage_id = "{graph.state.page_id}"\naccess_token = "EAAoldtokenxxxxxxxxxxxxxxxxxxxx"\n'
        f'graph_url = "{graph.url}"\ntimeout_seconds = 10\n',
        encoding="utf-8",
    )
    try:
        result = CliRunner().invoke(app, ["--config", str(config), "poll", "--once"], catch_exceptions=False)
        assert result.exit_code == 1, result.output  # one source failed
        assert "fanpage: polled" in result.output
        assert "fanpage-cu: failed" in result.output and "hết hạn" in result.output
        assert "EAAoldtoken" not in result.output
        found = tickets_with_messages(get_engine(f"sqlite:///{tmp_path / 't.db'}"))
        assert sorted(m.external_id for _, messages in found for m in messages) == ["c_1", "m_1"]
        assert all(t.tagged_at is not None for t, _ in found)  # the whole pipeline ran
    finally:
        dispose_engines()
