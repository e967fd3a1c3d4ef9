"""What people read from the CLI: Vietnamese, no Python reprs, every column when piped."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tickets.db import dispose_engines
from tiepnhan.cli import app

ROOT = Path(__file__).resolve().parents[2]
EMAILS = ROOT / "tiepnhan" / "samples" / "emails"
# What a Python repr looks like in text: a list or dict literal, a keyword=value, True/False.
REPR_PATTERNS = [re.compile(p) for p in (r"\['", r"\{'", r"\b\w+=\S", r"\b(True|False|None)\b")]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    values = {"TIEPNHAN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    for var in ("TIEPNHAN_REDIS_URL", "TIEPNHAN_CONFIG", "TIEPNHAN_LOG_LEVEL"):
        monkeypatch.delenv(var, raising=False)
    yield values
    dispose_engines()


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def imported(env: dict[str, str]) -> list[dict]:  # type: ignore[type-arg]
    code, output = invoke("import", "--json", str(EMAILS))
    assert code == 0, output
    code, output = invoke("tickets", "--json")
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_show_log_has_no_reprs_and_the_message_comes_before_the_evidence(env: dict[str, str]) -> None:
    rows = imported(env)
    thread = next(r for r in rows if r["message_count"] == 3)
    code, output = invoke("show", str(thread["id"]))
    assert code == 0, output
    log = output[output.index("Nhật ký"):]
    for pattern in REPR_PATTERNS:
        assert not pattern.search(log), (pattern.pattern, log)
    assert "Gắn nhãn" in log and "loại bảo hiểm" in log
    message_at = output.index("Tôi gửi bổ sung")  # the citizen's words
    assert message_at < output.index("Căn cứ") < output.index("Nhật ký")
    assert "tagged" not in log and "message_added" not in log


def test_piped_ticket_list_keeps_every_column_and_whole_cells(env: dict[str, str], tmp_path: Path) -> None:
    rows = imported(env)
    dispose_engines()
    # A real pipe, as in `tiepnhan tickets | cat`, with an 80-column terminal size in the env.
    result = subprocess.run(
        [sys.executable, "-m", "tiepnhan.cli", "tickets"],
        capture_output=True, text=True, cwd=tmp_path, env={**_base_env(), **env, "COLUMNS": "80"}, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0].split("\t")
    assert header == ["Mã", "Kênh", "Người gửi", "Tiêu đề", "Loại BH", "Tỉnh", "Phân loại", "Tin", "Trạng thái"]
    body = [line.split("\t") for line in lines[1:]]
    assert len(body) == len(rows)
    assert all(len(cells) == len(header) for cells in body)
    by_reference = {cells[0]: cells for cells in body}
    for row in rows:
        cells = by_reference[row["reference"]]
        assert cells[3] == " ".join(row["subject"].split())  # never cut with "…"
        assert cells[7] == str(row["message_count"])
    assert "…" not in result.stdout


def _base_env() -> dict[str, str]:
    import os

    return {**{k: v for k, v in os.environ.items() if not k.startswith("TIEPNHAN_")}, "PYTHONPATH": str(ROOT)}


def test_demo_output_has_no_log_lines(tmp_path: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tiepnhan.cli", "demo", "--database", str(tmp_path / "demo.db")],
        capture_output=True, text=True, cwd=tmp_path, env={**_base_env(), **env}, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "TN-000001" in result.stdout
    assert '"level"' not in result.stdout and '"level": "info"' not in result.stderr
    table = [line for line in result.stdout.splitlines() if line.startswith("TN-")]
    assert table and all(len(line.split("\t")) == 9 for line in table)


def test_province_outside_the_2025_map_is_an_error(env: dict[str, str]) -> None:
    imported(env)
    code, output = invoke("tickets", "--province", "7")
    assert code != 0
    assert "mã tỉnh/thành không hợp lệ" in output and "'7'" in output
    code, output = invoke("tickets", "--json", "--province", "79")
    assert code == 0
    assert all(json.loads(line)["province_code"] == "79" for line in output.splitlines() if line.strip())


def test_version() -> None:
    from importlib.metadata import version

    code, output = invoke("--version")
    assert code == 0
    assert version("tiepnhan") in output and "tiepnhan" in output
