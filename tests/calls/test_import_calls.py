"""`tiepnhan import-calls` through the real CLI and pipeline (SQLite): every call counted, calls with
a summary on tickets, the caller's open ticket found by number, a bad row reported by line."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from ingest.calls.models import CallRecord
from tests.calls.generated import HEADER, as_csv, as_xlsx, generated_rows
from tickets.db import dispose_engines, session_scope
from tickets.models import Message, Ticket
from tiepnhan import runtime
from tiepnhan.cli import app

Cli = Callable[..., tuple[int, dict]]  # type: ignore[type-arg]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., tuple[int, dict]]]:  # type: ignore[type-arg]
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "tiepnhan.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "calls.db"}"\nlog_format = "text"\n[call_center]\nname = "tongdai"\nmatch_open_ticket_days = 7\n', encoding="utf-8")
    monkeypatch.setenv("TIEPNHAN_CONFIG", str(config))
    for name in ("TIEPNHAN_DATABASE_URL", "TIEPNHAN_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
        result = runner.invoke(app, ["import-calls", "--json", *args], catch_exceptions=False)
        return result.exit_code, json.loads(result.output.strip().splitlines()[-1])

    yield invoke
    dispose_engines()


def counts() -> tuple[int, int, int]:
    with session_scope(runtime.engine()) as session:
        calls = session.execute(select(func.count()).select_from(CallRecord)).scalar_one()
        messages = session.execute(select(func.count()).select_from(Message).where(Message.channel == "call")).scalar_one()  # type: ignore[arg-type]
        tickets = session.execute(select(func.count()).select_from(Ticket).where(Ticket.channel == "call")).scalar_one()  # type: ignore[arg-type]
    return calls, messages, tickets


def test_three_hundred_calls_one_bad_row_nothing_else_lost_and_a_second_import_adds_nothing(cli: Cli, tmp_path: Path) -> None:
    rows = generated_rows(300)
    cells = [r.cells for r in rows]
    cells[41] = [cells[41][0], cells[41][1], "không có số", *cells[41][3:]]  # data row 42 = line 43
    path = tmp_path / "nhat-ky-cuoc-goi.csv"
    path.write_bytes(as_csv(HEADER, cells))
    code, summary = cli(str(path))
    assert code == 1
    assert [(e["line"], e["reason"]) for e in summary["errors"]] == [(43, "số điện thoại không phải số Việt Nam")]
    with_summary = [r for i, r in enumerate(rows) if i != 41 and r.summary]
    assert (summary["new_calls"], summary["new_messages"]) == (299, len(with_summary))
    calls, messages, tickets = counts()
    assert (calls, messages) == (299, len(with_summary))
    assert tickets == len({r.number for r in with_summary})  # one ticket per caller
    with session_scope(runtime.engine()) as session:
        outcomes = dict(session.execute(select(CallRecord.outcome, func.count()).group_by(CallRecord.outcome)).all())  # type: ignore[arg-type]
    expected: dict[str, int] = {}
    for i, r in enumerate(rows):
        if i != 41:
            expected[r.outcome] = expected.get(r.outcome, 0) + 1
    assert outcomes == expected
    code, again = cli(str(path))
    assert (again["new_calls"], again["known_calls"], again["new_messages"]) == (0, 299, 0)
    assert counts() == (calls, messages, tickets)


def test_a_call_joins_the_callers_open_ticket(cli: Cli, tmp_path: Path) -> None:
    header = ["call_id", "time", "caller", "summary", "duration"]
    first = tmp_path / "sang.xlsx"
    first.write_bytes(as_xlsx(header, [["S-1", "2025-11-24 08:00", "0912 000 111", "Khiếu nại chậm cấp thẻ BHYT ở Đà Nẵng.", 120]]))
    assert cli(str(first))[0] == 0
    later = tmp_path / "chieu.csv"
    later.write_bytes(as_csv(header, [["C-1", "2025-11-24 15:00", "+84912000111", "Gọi lại hỏi tiến độ cấp thẻ BHYT.", "95"],
                                      ["C-2", "2025-11-24 15:05", "0988000222", "Hỏi thủ tục hưởng BHXH một lần.", "60"],
                                      ["C-3", "2025-11-24 15:09", "0988000222", "Gọi bổ sung: đã nghỉ việc từ tháng 6.", "30"]]))
    code, summary = cli(str(later))
    assert code == 0 and summary["new_messages"] == 3
    with session_scope(runtime.engine()) as session:
        by_call = {m.external_id: m.ticket_id for m in session.execute(select(Message).where(Message.channel == "call")).scalars()}  # type: ignore[arg-type]
        ticket = session.get(Ticket, by_call["call:tongdai:S-1"])
        assert ticket is not None and ticket.message_count == 2 and ticket.sender_address == "0912000111"
    assert by_call["call:tongdai:C-1"] == by_call["call:tongdai:S-1"]
    assert by_call["call:tongdai:C-2"] == by_call["call:tongdai:C-3"] != by_call["call:tongdai:S-1"]


def test_a_resolved_ticket_is_not_joined(cli: Cli, tmp_path: Path) -> None:
    header = ["call_id", "time", "caller", "summary", "duration"]
    first = tmp_path / "a.csv"
    first.write_bytes(as_csv(header, [["R-1", "2025-11-24 08:00", "0912000333", "Hỏi mức đóng BHYT hộ gia đình.", "60"]]))
    cli(str(first))
    with session_scope(runtime.engine()) as session:
        ticket = session.execute(select(Ticket).where(Ticket.sender_address == "0912000333")).scalar_one()  # type: ignore[arg-type]
        ticket.status = "resolved"
        session.add(ticket)
    second = tmp_path / "b.csv"
    second.write_bytes(as_csv(header, [["R-2", "2025-11-24 10:00", "0912000333", "Hỏi thêm về thẻ BHYT cho con.", "60"]]))
    cli(str(second))
    with session_scope(runtime.engine()) as session:
        assert session.execute(select(func.count()).select_from(Ticket).where(Ticket.sender_address == "0912000333")).scalar_one() == 2  # type: ignore[arg-type]


def test_a_file_that_cannot_be_read_stores_nothing(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "sai.csv"
    path.write_bytes(b"foo,bar\n1,2\n")
    result = CliRunner().invoke(app, ["import-calls", str(path)])
    assert result.exit_code == 2 and "thiếu cột" in result.output


def test_report_calls_counts_every_call_with_or_without_summary(cli: Cli, tmp_path: Path) -> None:
    rows = generated_rows(240, seed=7)
    path = tmp_path / "thang-11.csv"
    path.write_bytes(as_csv(HEADER, [r.cells for r in rows]))
    assert cli(str(path))[0] == 0
    result = CliRunner().invoke(app, ["report-calls", "--from", "2025-11-24", "--to", "2025-11-24", "--by", "outcome", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    by_outcome = {row["group"]: row["calls"] for row in report["rows"]}
    expected: dict[str, int] = {}
    for r in rows:
        expected[r.outcome] = expected.get(r.outcome, 0) + 1
    assert by_outcome == expected
    total = report["total"]
    answered = [r for r in rows if r.outcome == "answered"]
    assert (total["calls"], total["answered"], total["with_summary"]) == (len(rows), len(answered), sum(1 for r in rows if r.summary))
    talk = sum(int(r.cells[4].split(":")[0]) * 60 + int(r.cells[4].split(":")[1]) for r in answered)
    assert total["talk_total_minutes"] == round(talk / 60, 1)
    assert abs(total["share"] - len(answered) / len(rows)) < 1e-9
    other_day = CliRunner().invoke(app, ["report-calls", "--from", "2025-11-25", "--to", "2025-11-30", "--format", "json"], catch_exceptions=False)
    assert json.loads(other_day.output)["total"]["calls"] == 0
    wrong = CliRunner().invoke(app, ["report-calls", "--from", "2025-11-24", "--to", "2025-11-24", "--by", "tinh"])
    assert wrong.exit_code == 2 and "không nhóm được" in wrong.output


def test_import_with_kind_calls_is_the_call_log_import(cli: Cli, tmp_path: Path) -> None:
    header = ["call_id", "time", "caller", "summary", "duration"]
    path = tmp_path / "k.csv"
    path.write_bytes(as_csv(header, [["K-1", "2025-11-24 09:00", "0912000444", "Hỏi cấp lại thẻ BHYT bị mất.", "60"],
                                     ["K-2", "2025-11-24 09:05", "0912000555", "", "15"]]))
    result = CliRunner().invoke(app, ["import", "--kind", "calls", "--json", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["new_calls"], summary["new_messages"]) == (2, 1)
    assert counts()[:2] == (2, 1)
    wrong = CliRunner().invoke(app, ["import", "--kind", "faxes", str(path)])
    assert wrong.exit_code != 0 and "messages hoặc calls" in wrong.output
