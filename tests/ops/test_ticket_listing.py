"""`tiepnhan tickets`: the table view shows 50 tickets by default and says how many more there
are; `--limit 0` shows all; `--json` streams every ticket, in order, with its messages' ids,
across the chunks it is read in (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.ops.bigdb import UNFINISHED, build
from tiepnhan import runtime
from tiepnhan.commands.tickets import DEFAULT_TABLE_LIMIT, STREAM_CHUNK

N = 2 * STREAM_CHUNK + 37  # three chunks, the last one partial


@pytest.fixture
def run(db_url: str, configure: Callable[..., Any], tmp_path: Path) -> Callable[..., Any]:
    configure(db_url)
    build(runtime.engine(), N)
    runner = CliRunner(env={"TIEPNHAN_DATABASE_URL": db_url, "TIEPNHAN_DATA_DIR": str(tmp_path / "var")})

    def _run(*args: str) -> Any:
        result = runner.invoke(app_(), list(args))
        assert result.exit_code == 0, result.output
        return result

    return _run


def app_() -> Any:
    from tiepnhan.cli import app

    return app


def table_rows(output: str) -> list[list[str]]:
    lines = [line.split("\t") for line in output.splitlines() if "\t" in line]  # piped: tab-separated, a header line
    assert lines[0][0] == "Mã"
    return lines[1:]


def test_the_table_shows_50_and_says_how_many_more(run: Callable[..., Any]) -> None:
    result = run("tickets")
    rows = table_rows(result.stdout)
    assert [r[0] for r in rows] == [f"TN-{i:06d}" for i in range(1, DEFAULT_TABLE_LIMIT + 1)]
    assert f"Còn {N - DEFAULT_TABLE_LIMIT:,} phiếu nữa".replace(",", ".") in result.stderr
    assert "--limit 0" in result.stderr


def test_limit_0_shows_every_ticket_and_no_more_line(run: Callable[..., Any]) -> None:
    result = run("tickets", "--limit", "0")
    assert len(table_rows(result.stdout)) == N
    assert "Còn" not in result.stderr


def test_a_filter_counts_only_its_own_tickets(run: Callable[..., Any]) -> None:
    result = run("tickets", "--status", "new", "--limit", "5")
    rows = table_rows(result.stdout)
    from tickets.labels import status_label

    assert len(rows) == 5 and all(r[-1] == status_label("new") for r in rows)
    assert f"Còn {UNFINISHED - 5} phiếu nữa" in result.stderr


def test_json_streams_every_ticket_in_order_with_its_message_ids(run: Callable[..., Any]) -> None:
    lines = [json.loads(line) for line in run("tickets", "--json").stdout.splitlines()]
    assert [t["id"] for t in lines] == list(range(1, N + 1))
    assert all(t["external_ids"] == [f"<m{t['id']}@bench>"] for t in lines)
    assert [t["id"] for t in (json.loads(x) for x in run("tickets", "--json", "--limit", "3").stdout.splitlines())] == [1, 2, 3]
