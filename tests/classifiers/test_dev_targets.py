"""The targets on the shared dev set (tests/data/dev.jsonl), and the CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from classifiers.evaluate import evaluate

DEV = Path(__file__).resolve().parents[1] / "data" / "dev.jsonl"
ROWS = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_dev_set_targets() -> None:
    report = evaluate(ROWS)
    assert report.accuracy("province_code") >= 0.97
    assert report.accuracy("category") >= 0.90
    assert report.accuracy("insurance_types") >= 0.95


WRITTEN = Path(__file__).resolve().parents[1] / "data" / "written"


def test_messages_written_for_the_project_stay_well_tagged() -> None:
    """Regression guard on the written sets (see tests/data/written/README.md)."""
    for name in ("set_a.jsonl", "set_b.jsonl", "set_c.jsonl"):
        rows = [json.loads(line) for line in (WRITTEN / name).read_text(encoding="utf-8").splitlines() if line.strip()]
        report = evaluate(rows)
        assert report.accuracy("insurance_types") >= 0.93, name
        assert report.accuracy("province_code") >= 0.93, name
        assert report.accuracy("category") >= 0.93, name


def test_classify_command_needs_no_database(tmp_path: Path) -> None:
    lines = "\n".join(json.dumps({k: r.get(k) for k in ("id", "channel", "subject", "body", "sender")}, ensure_ascii=False) for r in ROWS[:20])
    env = {"PATH": "/usr/bin:/bin", "TIEPNHAN_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "tiepnhan.cli", "classify", "-"], input=lines, capture_output=True, text=True, env=env, cwd=tmp_path, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [r["id"] for r in ROWS[:20]]
    for row in out:
        assert set(row) == {"id", "insurance_types", "province_code", "category", "topics", "confidence", "evidence"}
    assert not (tmp_path / "var").exists()  # no database was created


def test_evaluate_command_prints_the_report(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "tiepnhan.cli", "evaluate", str(DEV)], capture_output=True, text=True, check=False, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "insurance_types: accuracy" in result.stdout and "misclassified:" in result.stdout
    assert "province confusions" in result.stdout
