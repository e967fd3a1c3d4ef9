"""The coordinator's commands, run as the CLI runs them, against a real SMTP server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from config.settings import Settings
from tests.escalation.conftest import COMPLAINT, INTAKE_ADDRESS, citizen_email, ingest_email, units_file
from tests.escalation.smtp_server import SmtpCapture
from tickets.db import session_scope
from tickets.models import TicketEvent
from tiepnhan import runtime
from tiepnhan.cli import app


@pytest.fixture
def cli(tmp_path: Path, smtp: SmtpCapture, sqlite_url: str, configure: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str]]:
    config = tmp_path / "tiepnhan.toml"
    config.write_text(
        f'database_url = "{sqlite_url}"\nunits_file = "{units_file(tmp_path)}"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "plain"\nfrom_address = "hotro@tiepnhan.localhost"\n'
        f'[intake]\nreply_address = "{INTAKE_ADDRESS}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TIEPNHAN_CONFIG", str(config))
    monkeypatch.setenv("TIEPNHAN_USER", "nguoi-dung-may")
    configure(sqlite_url, units_file=str(tmp_path / "units.toml"), smtp=smtp.settings(), intake={"reply_address": INTAKE_ADDRESS})

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.output

    return run


def test_a_coordinator_reviews_and_approves_from_the_cli(cli: Callable[..., tuple[int, str]], smtp: SmtpCapture) -> None:
    ticket_id = ingest_email(citizen_email(*COMPLAINT, message_id="c1@dan.localhost"))
    code, output = cli("escalations", "--status", "proposed", "--json")
    assert code == 0
    [line] = [json.loads(line) for line in output.splitlines()]
    assert {"id", "ticket_id", "unit", "status", "created_at"} <= set(line)
    assert (line["ticket_id"], line["unit"], line["status"]) == (ticket_id, "province-75", "proposed")
    code, output = cli("escalation", "approve", str(line["id"]), "--by", "Trần Thị Lan")
    assert code == 0, output
    assert "đã gửi tới máy chủ thư" in output
    assert len(smtp.received) == 1  # handed to the SMTP server before the command returned
    code, output = cli("escalations", "--unit", "province-75", "--json")
    assert json.loads(output.splitlines()[0])["status"] == "sent"
    code, output = cli("escalation", "reject", str(line["id"]), "--reason", "muộn")
    assert code == 1 and "trạng thái sent" in output
    code, output = cli("resolve", f"TN-{ticket_id:06d}")
    assert code == 0
    with session_scope(runtime.engine()) as session:
        actors = dict(session.execute(select(TicketEvent.kind, TicketEvent.actor).where(TicketEvent.ticket_id == ticket_id)).all())
    assert actors["escalation_approved"] == "Trần Thị Lan"
    assert actors["escalation_resolved"] == "nguoi-dung-may"  # from TIEPNHAN_USER


def test_reroute_reject_and_manual_escalation_refuse_mistakes_clearly(cli: Callable[..., tuple[int, str]], smtp: SmtpCapture) -> None:
    ticket_id = ingest_email(citizen_email(*COMPLAINT, message_id="c1@dan.localhost"))
    code, output = cli("escalation", "reroute", "1", "--to", "province-00")
    assert code == 1 and "không có đơn vị 'province-00'" in output
    code, output = cli("escalation", "approve", "99")
    assert code == 1 and "không có đề xuất" in output
    code, output = cli("escalation", "reroute", "1", "--to", "central-collection", "--reason", "nợ đóng", "--by", "Lan")
    assert code == 0 and "đã gửi" in output
    assert smtp.received[0].recipients == ["central-collection@donvi.localhost"]
    code, output = cli("escalate", str(ticket_id), "--to", "central-inspection", "--reason", "có dấu hiệu tố cáo")
    assert code == 0
    assert len(smtp.received) == 2
    code, output = cli("escalate", str(ticket_id), "--to", "central-inspection")
    assert code == 1 and "đã có đề xuất" in output
    code, output = cli("escalations", "--status", "nonsense")
    assert code == 2
    code, output = cli("units", "--json")
    units = [json.loads(line) for line in output.splitlines()]
    assert len(units) == 43 and all(u["reachable"] for u in units)


def test_without_smtp_approve_says_why_nothing_was_sent(cli: Callable[..., tuple[int, str]], tmp_path: Path, smtp: SmtpCapture) -> None:
    config = tmp_path / "tiepnhan.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text[: text.index("[smtp]")] + text[text.index("[intake]") :], encoding="utf-8")
    ingest_email(citizen_email(*COMPLAINT, message_id="c1@dan.localhost"))
    code, output = cli("escalation", "approve", "1")
    assert code == 0
    assert "chưa gửi được" in output and "[smtp]" in output  # the reason, printed as written
    code, output = cli("escalations", "--json")
    [row] = [json.loads(line) for line in output.splitlines()]
    assert row["status"] == "approved" and "[smtp]" in row["last_error"]  # waiting, with its reason
    assert smtp.received == []
