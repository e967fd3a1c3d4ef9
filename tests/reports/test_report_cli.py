"""`tiepnhan report`: JSON, CSV, XLSX and the table, from the real command on a real database."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.reports.dataset import build_dataset
from tickets.db import dispose_engines, get_engine, migrate
from tiepnhan.cli import app


@pytest.fixture
def database(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("TIEPNHAN_CONFIG", raising=False)
    engine = get_engine(sqlite_url)
    migrate(engine)
    build_dataset(engine)
    yield sqlite_url
    dispose_engines()


def run(url: str, *args: str) -> str:
    result = CliRunner().invoke(app, ["report", *args], env={"TIEPNHAN_DATABASE_URL": url}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_is_one_object_whose_rows_add_up(database: str) -> None:
    data = json.loads(run(database, "volume", "--from", "2025-03-01", "--to", "2025-03-31", "--by", "province", "--format", "json"))
    assert (data["report"], data["from"], data["to"]) == ("volume", "2025-03-01", "2025-03-31")
    assert [row["group"] for row in data["rows"]] == ["01", "79", None]
    assert sum(row["tickets"] for row in data["rows"]) == data["total"]["tickets"] == 4
    assert sum(row["messages"] for row in data["rows"]) == data["total"]["messages"] == 7


def test_csv_and_xlsx_carry_the_same_figures(database: str, tmp_path: Path) -> None:
    text = run(database, "sla", "--from", "2025-03-01", "--to", "2025-03-31", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["label"] == "Đơn vị"  # the Vietnamese headings line
    by_unit = {row["group"]: row for row in rows[1:]}
    assert (by_unit["province-79"]["sent"], by_unit["province-79"]["answered_in_time"]) == ("1", "0")
    out = tmp_path / "sla.xlsx"
    run(database, "sla", "--from", "2025-03-01", "--to", "2025-03-31", "--format", "xlsx", "--out", str(out))
    sheet = load_workbook(out).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[1][:3] == ["Đơn vị", "Đã gửi đơn vị", "Đơn vị đã trả lời"]
    # Units are named as in the unit directory (config/units.toml); central-cntt is not in it
    assert ["Bảo hiểm xã hội Thành phố Hồ Chí Minh", 1, 1, 0, 0] == values[[r[0] for r in values].index("Bảo hiểm xã hội Thành phố Hồ Chí Minh")][:5]
    assert "central-cntt" in [r[0] for r in values]
    assert values[-1][0] == "Tổng cộng" and values[-1][1] == 3


def test_table_has_vietnamese_headings(database: str) -> None:
    text = run(database, "quality", "--from", "2025-03-01", "--to", "2025-03-31")
    assert "Chất lượng phục vụ" in text and "Phản hồi đầu" in text


def test_mistakes_are_explained_in_vietnamese(database: str) -> None:
    for args, words in (
        (["volume", "--from", "2025-13-01", "--to", "2025-03-31"], "YYYY-MM-DD"),
        (["volume", "--from", "2025-03-31", "--to", "2025-03-01"], "trước ngày bắt đầu"),
        (["volume", "--from", "2025-03-01", "--to", "2025-03-31", "--by", "color"], "không nhóm được"),
        (["volumes", "--from", "2025-03-01", "--to", "2025-03-31"], "không có báo cáo"),
        (["volume", "--from", "2025-03-01", "--to", "2025-03-31", "--format", "xlsx"], "cần --out"),
    ):
        result = CliRunner().invoke(app, ["report", *args], env={"TIEPNHAN_DATABASE_URL": database})
        assert result.exit_code == 2 and words in result.output, (args, result.output)


def test_acceptance_pdf_reads_back_in_vietnamese(database: str, tmp_path: Path) -> None:
    from pypdf import PdfReader

    out = tmp_path / "nghiem-thu.pdf"
    run(database, "acceptance", "--from", "2025-03-01", "--to", "2025-03-31", "--format", "pdf", "--out", str(out))
    text = " ".join(page.extract_text() for page in PdfReader(out).pages)
    assert "Báo cáo nghiệm thu" in text and "01/03/2025" in text
    assert "Đơn vị trả lời đúng hạn" in text and "chưa đạt tất cả chỉ tiêu" in text
    assert "TN-000002, TN-000003" in text  # the tickets behind the units' breach
    assert "33.3%" in text  # one of three answered in time
