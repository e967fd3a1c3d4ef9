"""Call-log files: the column mapping, a few hundred rows with one bad row reported by its line."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ingest.calls.log_file import CallLogError, read_call_log
from ingest.calls.record import CallOutcome
from tests.calls.generated import HEADER, as_csv, as_xlsx, generated_rows

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def test_three_hundred_rows_with_one_bad_row_reported_by_line_and_nothing_else_lost() -> None:
    rows = generated_rows(300)
    cells = [r.cells for r in rows]
    cells[136] = [*cells[136][:1], "ngày 32 tháng 13", *cells[136][2:]]  # data row 137 = line 138 of the file
    log = read_call_log(as_csv(HEADER, cells), "cuoc-goi.csv", ZONE)
    assert [(e.line, "thời gian" in e.message) for e in log.errors] == [(138, True)]
    assert log.lines == 300 and len(log.calls) == 299
    expected = {r.call_id: r for i, r in enumerate(rows) if i != 136}
    assert {c.call_id for c in log.calls} == set(expected)
    for call in log.calls:
        row = expected[call.call_id]
        assert (call.citizen_number, call.outcome.value if call.outcome else None, call.summary) == (row.number, row.outcome, row.summary)
        assert call.started_at.tzinfo is not None


def test_a_quoted_summary_over_two_lines_keeps_later_line_numbers_right() -> None:
    text = ("call_id,time,caller,summary,duration\n"
            'a,2025-11-24 08:00,0912345678,"dòng một\ndòng hai",60\n'
            "b,2025-11-24 08:05,0912,,0\n").encode()  # fmt: skip
    log = read_call_log(text, "x.csv", ZONE)
    assert [c.summary for c in log.calls] == ["dòng một\ndòng hai"]
    assert [(e.line, e.message) for e in log.errors] == [(4, "số điện thoại không phải số Việt Nam")]


def test_xlsx_with_real_datetimes_and_numbers() -> None:
    rows = [["X-1", datetime(2025, 11, 24, 9, 15), "0987654321", "Lan", 125, 7, "gọi đi", "", "đã trả lời"],
            ["X-2", "24/11/2025 09:20", 987654322, "", 0, 40, "gọi đến", "", ""],
            ["X-1", "24/11/2025 09:25", "0987654323", "", 0, 0, "", "", ""]]  # fmt: skip
    log = read_call_log(as_xlsx(HEADER, rows), "goi.xlsx", ZONE)
    first, second = log.calls
    assert (first.duration_seconds, first.wait_seconds, first.direction.value, first.outcome) == (125, 7, "outbound", CallOutcome.ANSWERED)
    assert first.started_at == datetime(2025, 11, 24, 9, 15, tzinfo=ZONE)
    assert second.citizen_number == "0987654322"  # a number cell loses the leading zero; it is put back
    assert second.outcome is CallOutcome.MISSED
    assert [(e.line, "trùng với dòng 2" in e.message) for e in log.errors] == [(4, True)]


@pytest.mark.parametrize(("content", "name", "reason"), [
    (b"foo,bar\n1,2\n", "x.csv", "thiếu cột"),
    (b"", "x.csv", "không có dòng tiêu đề"),
    (b"\xff\xfe\x00bad", "x.csv", "UTF-8"),
    (b"not a workbook", "x.xlsx", "XLSX"),
    (b"call_id\n", "x.json", ".csv hoặc .xlsx"),
])  # fmt: skip
def test_a_file_that_cannot_be_read_says_why(content: bytes, name: str, reason: str) -> None:
    with pytest.raises(CallLogError, match=reason):
        read_call_log(content, name, ZONE)


def test_unknown_direction_and_outcome_are_line_errors() -> None:
    text = "call_id,time,caller,direction,outcome\na,2025-11-24 08:00,0912345678,ngang,\nb,2025-11-24 08:00,0912345678,in,thắng\n".encode()
    log = read_call_log(text, "x.csv", ZONE)
    assert [e.line for e in log.errors] == [2, 3] and not log.calls
