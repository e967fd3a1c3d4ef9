"""`tiepnhan suggest`, `evaluate-bank`, `bank import|export` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.qbank.conftest import BANK_FILE, QUERIES_FILE
from tickets.db import dispose_engines
from tiepnhan.cli import app


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIEPNHAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("TIEPNHAN_REDIS_URL", raising=False)
    monkeypatch.delenv("TIEPNHAN_CONFIG", raising=False)
    monkeypatch.setenv("TIEPNHAN_USER", "kiemtra")
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), input=stdin, catch_exceptions=False)

    yield invoke
    dispose_engines()


def test_suggest_prints_one_line_per_input_in_the_documented_shape(cli) -> None:  # type: ignore[no-untyped-def]
    lines = [
        {"id": "a", "channel": "facebook_message", "subject": None, "body": "mất thẻ bhyt thì xin cấp lại ở đâu ạ"},
        {"id": "b", "channel": "facebook_comment", "subject": None, "body": "cảm ơn ad nhiều ❤️"},
        {"id": 7, "channel": "email", "subject": "Hỏi về trợ cấp thất nghiệp", "body": "Điều kiện hưởng trợ cấp thất nghiệp là gì?"},
    ]
    result = cli("suggest", "--bank", str(BANK_FILE), "-", stdin="".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    assert result.exit_code == 0
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"] for row in out] == ["a", "b", 7]
    assert out[0]["suggestions"][0]["id"] == "q48"
    assert out[1]["suggestions"] == []  # a thank-you asks nothing
    assert out[2]["suggestions"][0]["id"] == "q64"
    for row in out:
        assert set(row) == {"id", "suggestions"}
        assert len(row["suggestions"]) <= 3
        scores = [s["score"] for s in row["suggestions"]]
        assert scores == sorted(scores, reverse=True)
        for suggestion in row["suggestions"]:
            assert set(suggestion) == {"id", "score", "matched"}
            assert suggestion["matched"] and all(isinstance(w, str) for w in suggestion["matched"])
    assert "thẻ" in out[0]["suggestions"][0]["matched"]


def test_suggest_reports_a_bad_input_line_by_number(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": 1, "body": "mất thẻ bhyt"}\nnot json\n', encoding="utf-8")
    result = cli("suggest", "--bank", str(BANK_FILE), str(queries))
    assert result.exit_code != 0
    assert "dòng 2" in result.output


def test_evaluate_bank_prints_the_figures(cli) -> None:  # type: ignore[no-untyped-def]
    from qbank.entry import load_jsonl_bank
    from qbank.evaluate import evaluate_bank
    from qbank.retrieve import build_index

    queries = [json.loads(line) for line in QUERIES_FILE.read_text(encoding="utf-8").splitlines()]
    expected = evaluate_bank(build_index(load_jsonl_bank(str(BANK_FILE))), queries).to_json()
    result = cli("evaluate-bank", str(QUERIES_FILE), "--bank", str(BANK_FILE), "--json")
    assert result.exit_code == 0
    figures = json.loads(result.stdout)
    assert figures == expected
    assert figures["answerable"] == 101 and figures["unanswerable"] == 19
    text = cli("evaluate-bank", str(QUERIES_FILE), "--bank", str(BANK_FILE)).stdout
    assert f"hit@1: {figures['hit@1']:.3f}" in text and f"hit@3: {figures['hit@3']:.3f}" in text and "MRR" in text


def test_evaluate_bank_uses_the_published_entries_of_the_database(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("bank", "import", str(BANK_FILE)).exit_code == 0
    from_db = json.loads(cli("evaluate-bank", str(QUERIES_FILE), "--json").stdout)
    from_file = json.loads(cli("evaluate-bank", str(QUERIES_FILE), "--bank", str(BANK_FILE), "--json").stdout)
    assert from_db == from_file


def test_import_reports_a_bad_row_by_line_and_keeps_the_others(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = tmp_path / "bank.csv"
    table.write_text(
        "id,question,alternatives,answer,insurance_type,topic,legal_basis,status\n"
        'a1,"Mất thẻ BHYT cấp lại ở đâu?","Làm lại thẻ BHYT\nThẻ BHYT bị mất",Đến BHXH nơi cư trú.,BHYT,the,,published\n'
        "a2,Câu hỏi không có trả lời,,,BHXH,x,,published\n"
        "a3,Lương hưu tính thế nào?,,Theo Điều 66.,BHQT,y,,published\n"
        "a4,Giờ làm việc?,,Từ 7 giờ 30.,,z,,draft\n",
        encoding="utf-8",
    )
    result = cli("bank", "import", str(table))
    assert result.exit_code == 1
    assert "dòng 4: thiếu câu trả lời" in result.output  # the first row spans lines 2-3
    assert "dòng 5: loại bảo hiểm 'BHQT' không hợp lệ" in result.output
    assert "2 mới" in result.output
    exported = tmp_path / "out.jsonl"
    assert cli("bank", "export", str(exported)).exit_code == 0
    rows = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a4"]
    assert rows[0]["alternatives"] == ["Làm lại thẻ BHYT", "Thẻ BHYT bị mất"]


def test_unknown_format_is_refused_with_a_reason(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bank.ods").write_bytes(b"x")
    result = cli("bank", "import", str(tmp_path / "bank.ods"))
    assert result.exit_code != 0 and "không biết định dạng" in result.output


def test_show_lists_the_bank_suggestions_of_a_question_ticket(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.samples import sample_email

    assert cli("bank", "import", str(BANK_FILE)).exit_code == 0
    (tmp_path / "q.eml").write_bytes(
        sample_email(1, subject="Hỏi về thẻ BHYT", body="Chào anh chị,\nTôi làm mất thẻ bảo hiểm y tế, xin hỏi cấp lại ở đâu ạ?\nTrân trọng,\nLê Văn Tám")
    )
    (tmp_path / "c.eml").write_bytes(
        sample_email(2, subject="Khiếu nại", body="Tôi nộp hồ sơ thai sản ba tháng rồi mà BHXH huyện vẫn chưa giải quyết, đề nghị kiểm tra và xử lý cán bộ chậm trễ.")
    )
    # One import each, so the question is ticket 1 whatever order pipeline threads take.
    assert cli("import", str(tmp_path / "q.eml")).exit_code == 0
    assert cli("import", str(tmp_path / "c.eml")).exit_code == 0
    shown = cli("show", "1").stdout
    assert "Gợi ý từ ngân hàng câu hỏi" in shown
    section = shown.split("Gợi ý từ ngân hàng câu hỏi", 1)[1]
    assert section.split()[0] == "q48"
    assert "khớp:" in section and "thẻ" in section
    assert "Gợi ý từ ngân hàng câu hỏi" not in cli("show", "2").stdout  # a complaint
