"""`tiepnhan escalations` shows each ticket's subject and category, in the table and in --json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.settings import Settings
from tests.escalation.conftest import COMPLAINT, citizen_email, ingest_email, units_file
from tests.escalation.smtp_server import SmtpCapture
from tickets.db import session_scope
from tickets.labels import category_label
from tickets.models import Ticket
from tiepnhan import runtime
from tiepnhan.cli import app


@pytest.fixture
def cli(tmp_path: Path, smtp: SmtpCapture, sqlite_url: str, configure: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str]]:
    config = tmp_path / "tiepnhan.toml"
    config.write_text(f'database_url = "{sqlite_url}"\nunits_file = "{units_file(tmp_path)}"\n', encoding="utf-8")
    monkeypatch.setenv("TIEPNHAN_CONFIG", str(config))
    configure(sqlite_url, units_file=str(tmp_path / "units.toml"), smtp=smtp.settings())

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    return run


def test_list_shows_subject_and_category(cli: Callable[..., tuple[int, str]]) -> None:
    subject = COMPLAINT[0] + " [b]không[/b]\tđậm"  # markup-looking and a tab: shown as text, one cell
    ticket_id = ingest_email(citizen_email(subject, COMPLAINT[1], message_id="l1@dan.localhost"))
    assert ticket_id is not None
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        stored_subject, category = ticket.subject, ticket.category
    code, output = cli("escalations", "--json")
    assert code == 0, output
    [row] = [json.loads(line) for line in output.splitlines()]
    assert (row["subject"], row["category"]) == (stored_subject, category)
    code, output = cli("escalations")  # CliRunner's stdout is not a terminal: every column, tab-separated
    assert code == 0, output
    header, line = output.splitlines()[:2]
    cells = dict(zip(header.split("\t"), line.split("\t"), strict=True))
    assert cells["Tiêu đề"] == " ".join(stored_subject.split())
    assert cells["Phân loại"] == category_label(category)
    assert cells["Phiếu"] == f"TN-{ticket_id:06d}"
