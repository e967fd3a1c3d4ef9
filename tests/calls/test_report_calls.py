"""The calls report (issue 18) as the sixth report: `tiepnhan report calls` in every format the
other reports have, the same figures as `report-calls`, and on the web reports page over the
reader's scope (an office counts only the calls whose summary is on a ticket sent to its unit)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from config.settings import Settings
from ingest.calls.intake import store_calls
from ingest.calls.record import CallDirection, CallOutcome, CallRecordData
from tests.calls.generated import HEADER, as_csv, generated_rows
from tests.calls.test_import_calls import Cli, cli  # noqa: F401  (fixture)
from tests.escalation.conftest import escalation_settings, smtp  # noqa: F401  (fixtures)
from tests.reports.web_site import report_table
from tests.webapp.server import HANOI_COMPLAINT, HCM_COMPLAINT, add_users, deliver, escalation_of, logged_in, serve
from tickets.pipeline import process_raw_item_now
from tiepnhan import runtime
from tiepnhan.cli import app

DAY = "2025-11-24"


def _report(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_the_report_command_has_the_calls_groupings_of_the_report() -> None:
    from reports.calls import GROUPINGS
    from tiepnhan.commands import report

    assert report.CALL_GROUPINGS == GROUPINGS and "calls" in report.REPORTS


def test_report_calls_gives_the_figures_of_report_calls_in_every_format(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    from openpyxl import load_workbook

    rows = generated_rows(120, seed=11)
    path = tmp_path / "nhat-ky.csv"
    path.write_bytes(as_csv(HEADER, [r.cells for r in rows]))
    assert cli(str(path))[0] == 0
    code, output = _report("report", "calls", "--from", DAY, "--to", DAY, "--by", "outcome", "--format", "json")
    assert code == 0, output
    report = json.loads(output)
    code, old = _report("report-calls", "--from", DAY, "--to", DAY, "--by", "outcome", "--format", "json")
    assert code == 0 and json.loads(old) == report
    expected: dict[str, int] = {}
    for r in rows:
        expected[r.outcome] = expected.get(r.outcome, 0) + 1
    assert {row["group"]: row["calls"] for row in report["rows"]} == expected
    assert report["total"]["calls"] == len(rows) and report["total"]["with_summary"] == sum(1 for r in rows if r.summary)
    code, csv_text = _report("report", "calls", "--from", DAY, "--to", DAY, "--by", "agent", "--format", "csv")
    agents = {r.cells[3] for r in rows}
    assert code == 0 and all(any(line.startswith(f"{agent},") for line in csv_text.splitlines()) for agent in agents), csv_text
    out = tmp_path / "cuoc-goi.xlsx"
    code, _ = _report("report", "calls", "--from", DAY, "--to", DAY, "--format", "xlsx", "--out", str(out))
    assert code == 0
    cells = [v for row in load_workbook(io.BytesIO(out.read_bytes())).active.iter_rows(values_only=True) for v in row]
    assert len(rows) in cells
    pdf = tmp_path / "cuoc-goi.pdf"
    code, _ = _report("report", "calls", "--from", DAY, "--to", DAY, "--format", "pdf", "--out", str(pdf))
    assert code == 0 and pdf.read_bytes().startswith(b"%PDF")
    code, table = _report("report", "calls", "--from", DAY, "--to", DAY)
    assert code == 0 and "Cuộc gọi tổng đài" in table
    code, wrong = _report("report", "calls", "--from", DAY, "--to", DAY, "--by", "province")
    assert code != 0 and "không nhóm được" in wrong and "outcome" in wrong
    code, wrong = _report("report", "volume", "--from", DAY, "--to", DAY, "--by", "outcome")
    assert code != 0 and "không nhóm được" in wrong


def _call(call_id: str, minutes: int, outcome: CallOutcome, summary: str = "", number: str = "0912000001") -> CallRecordData:
    start = datetime(2025, 11, 24, 8, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(minutes=minutes)
    talk = 120 if outcome == CallOutcome.ANSWERED else 0
    return CallRecordData(call_id, start, number, CallDirection.INBOUND, outcome, "Lan", duration_seconds=talk, wait_seconds=10, summary=summary)


@pytest.fixture
def calls_site(escalation_settings: Callable[..., Settings]) -> str:  # noqa: F811
    """Four calls: two with a complaint summary (one HCMC's, one Hanoi's, each sent to its
    province's office), one answered without a summary, one missed."""
    settings = escalation_settings(web={"secret_key": "k" * 40})
    engine = runtime.engine()
    calls = [
        _call("C-1", 0, CallOutcome.ANSWERED, HCM_COMPLAINT[1], "0912000001"),
        _call("C-2", 10, CallOutcome.ANSWERED, HANOI_COMPLAINT[1], "0912000002"),
        _call("C-3", 20, CallOutcome.ANSWERED, "", "0912000003"),
        _call("C-4", 30, CallOutcome.MISSED, "", "0912000004"),
    ]
    stored = store_calls(engine, settings.call_center, calls, enqueue=False)
    tickets = []
    for raw_id in stored.raw_item_ids:
        outcome = process_raw_item_now(engine, raw_id, settings.max_attachment_bytes)
        assert outcome is not None and outcome.ticket_id is not None
        tickets.append(outcome.ticket_id)
    units = sorted(escalation_of(t).unit_id for t in tickets)
    assert units == ["province-01", "province-79"]  # the precondition: each complaint was routed to its province
    for ticket_id in tickets:
        escalation_id = escalation_of(ticket_id).id
        assert escalation_id is not None
        deliver(escalation_id)
    add_users()
    return settings  # type: ignore[return-value]


def test_the_reports_page_shows_the_calls_report_over_the_readers_scope(calls_site: Settings) -> None:
    params = {"report": "calls", "period": "day", "day": DAY}
    with serve(calls_site) as url:
        manager = logged_in(url, "lanhdao")
        page = manager.get("/reports", params={**params, "by": "outcome"})
        assert page.status_code == 200 and "Cuộc gọi tổng đài" in page.text
        shown = report_table(page.text)
        assert {label: cells[0][0] for label, cells in shown.items()} == {"đã trả lời": "3", "gọi nhỡ": "1", "Tổng": "4"}
        assert all(href is None for cells in shown.values() for _, href in cells)  # calls are not tickets: no drill-down links
        assert '<option value="outcome" selected>' in page.text
        assert 'src="data:image/svg+xml;base64,' in page.text  # its chart, drawn on the server
        data = manager.get("/reports", params={**params, "format": "json"}).json()
        assert data["report"] == "calls" and data["total"]["calls"] == 4 and data["total"]["with_summary"] == 2
        assert manager.get("/reports", params={**params, "format": "csv"}).headers["content-type"].startswith("text/csv")
        one_province = report_table(manager.get("/reports", params={**params, "province": "79"}).text)
        assert one_province["Tổng"][0][0] == "1"  # only the call whose ticket is HCMC's
        office = logged_in(url, "vp79")
        own = report_table(office.get("/reports", params=params).text)
        assert own["Tổng"][0][0] == "1" and own["Tổng"][1][0] == "1"  # one call, answered: its summary's ticket was sent to the unit
        refused = office.get("/reports", params={**params, "province": "01"})
        assert "chỉ xem được số liệu của tỉnh/thành mình" in refused.text and report_table(refused.text) == {}
        wrong = manager.get("/reports", params={**params, "by": "province"})
        assert "Không nhóm được theo “province”" in wrong.text
