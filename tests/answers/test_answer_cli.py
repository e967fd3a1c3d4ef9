"""`tiepnhan answer` end to end: the embedded default (sent before the command returns) and with
Redis and a real Dramatiq worker process sending it from the "notify" queue."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from config.settings import Settings
from tests.answers.conftest import MAILBOX_ADDRESS, citizen_email, ingest_email
from tests.escalation.smtp_server import SmtpCapture
from tests.workers.conftest import REPO, redis_server, start_worker, wait_for, worker_env  # noqa: F401  (fixtures)
from tests.workers.redis_server import RedisServer
from tickets.answer_models import Answer
from tickets.db import session_scope
from tickets.models import Ticket, TicketEvent
from tiepnhan import runtime
from tiepnhan.cli import app
from tiepnhan.status import live_workers

QUESTION = ("Hỏi về BHXH một lần", "Tôi nghỉ việc 1 năm rồi, muốn rút BHXH một lần thì làm thế nào?")


def config_file(tmp_path: Path, database_url: str, smtp: SmtpCapture, redis_url: str | None = None) -> Path:
    path = tmp_path / "tiepnhan.toml"
    text = f'database_url = "{database_url}"\n'
    if redis_url:
        text += f'redis_url = "{redis_url}"\n'
    text += (
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "plain"\nfrom_address = "hotro@tiepnhan.localhost"\n'
        f'[[mailboxes]]\nname = "hotro"\nhost = "127.0.0.1"\nport = 1\nsecurity = "plain"\nusername = "hotro"\npassword = "x"\naddress = "{MAILBOX_ADDRESS}"\n'
        '[answers]\ngreeting_email = "Xin chào {name},"\nsignature_email = "Trân trọng,\\nBHXH Việt Nam ({reference})"\n'
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cli(tmp_path: Path, smtp: SmtpCapture, sqlite_url: str, answer_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str]]:
    monkeypatch.setenv("TIEPNHAN_CONFIG", str(config_file(tmp_path, sqlite_url, smtp)))
    monkeypatch.setenv("TIEPNHAN_USER", "nguoi-dung-may")
    answer_settings()

    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args), input=stdin)
        return result.exit_code, result.output

    return run


def test_answer_from_a_file_is_sent_before_the_command_returns(cli: Callable[..., tuple[int, str]], smtp: SmtpCapture, tmp_path: Path) -> None:
    ticket_id = ingest_email(citizen_email(*QUESTION, message_id="bhxh1lan@dan.localhost"))
    answer_file = tmp_path / "tra-loi.txt"
    answer_file.write_text("Ông/bà nộp hồ sơ hưởng BHXH một lần tại BHXH cấp huyện.\n", encoding="utf-8")
    code, output = cli("answer", f"TN-{ticket_id:06d}", "--text-file", str(answer_file), "--as", "Trần Thị Lan", "--json")
    assert code == 0, output
    result = json.loads(output.splitlines()[-1])  # the JSON line comes after the log lines
    assert (result["status"], result["mode"], result["ticket"]) == ("sent", "email", f"TN-{ticket_id:06d}")
    assert len(smtp.received) == 1  # handed to the SMTP server before the command returned
    plain = smtp.received[0].message.get_body(("plain",)).get_content()
    assert plain.startswith("Xin chào Nguyễn Văn An,") and f"BHXH Việt Nam (TN-{ticket_id:06d})" in plain  # the config's [answers]
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "answered"
        actors = dict(session.execute(select(TicketEvent.kind, TicketEvent.actor).where(TicketEvent.ticket_id == ticket_id)).all())
    assert actors["answer_sent"] == "Trần Thị Lan" and actors["answer_requested"] == "Trần Thị Lan"


def test_an_answer_from_a_bank_entry_records_the_entry(cli: Callable[..., tuple[int, str]], smtp: SmtpCapture) -> None:
    from qbank.entry import BankEntry
    from qbank.store import save_entry

    with session_scope(runtime.engine()) as session:
        row, _ = save_entry(session, BankEntry("bhxh-1-lan", "Rút BHXH một lần thế nào?", "Nộp hồ sơ tại BHXH cấp huyện."), "dieuphoi")
        entry_id = row.id
    ticket_id = ingest_email(citizen_email(*QUESTION, message_id="bhxh1lan-5@dan.localhost"))
    code, output = cli("answer", str(ticket_id), "--text-file", "-", "--entry", str(entry_id), stdin="Nộp hồ sơ tại BHXH cấp huyện.")
    assert code == 0, output
    with session_scope(runtime.engine()) as session:
        assert session.execute(select(Answer.entry_id)).scalar_one() == entry_id
        [event] = session.execute(select(TicketEvent).where(TicketEvent.kind == "answer_sent")).scalars().all()
        assert event.data["entry_id"] == entry_id


def test_answer_from_stdin_defaults_to_the_login_name(cli: Callable[..., tuple[int, str]], smtp: SmtpCapture) -> None:
    ticket_id = ingest_email(citizen_email(*QUESTION, message_id="bhxh1lan-2@dan.localhost"))
    code, output = cli("answer", str(ticket_id), "--text-file", "-", stdin="Trả lời từ đầu vào chuẩn.")
    assert code == 0, output
    assert "đã gửi" in output and f"TN-{ticket_id:06d}" in output
    assert "Trả lời từ đầu vào chuẩn." in smtp.wait_for(1)[0].message.get_body(("plain",)).get_content()
    with session_scope(runtime.engine()) as session:
        assert session.execute(select(Answer.author)).scalar_one() == "nguoi-dung-may"


def test_bad_input_is_refused_in_vietnamese_and_nothing_is_sent(cli: Callable[..., tuple[int, str]], smtp: SmtpCapture, tmp_path: Path) -> None:
    ticket_id = ingest_email(citizen_email(*QUESTION, message_id="bhxh1lan-3@dan.localhost"))
    empty = tmp_path / "trong.txt"
    empty.write_text("  \n\t\n", encoding="utf-8")
    code, output = cli("answer", str(ticket_id), "--text-file", str(empty))
    assert code == 1 and "nội dung trả lời trống" in output
    binary = tmp_path / "anh.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    code, output = cli("answer", str(ticket_id), "--text-file", str(binary))
    assert code == 2 and "UTF-8" in output
    code, output = cli("answer", str(ticket_id), "--text-file", str(tmp_path / "khong-co.txt"))
    assert code == 2 and "không đọc được tệp" in output
    code, output = cli("answer", str(ticket_id), "--text-file", "-", "--mode", "messenger", stdin="x")
    assert code == 1 and "không trả lời được theo cách 'messenger'" in output
    code, output = cli("answer", str(ticket_id), "--text-file", "-", "--entry", "42", stdin="x")
    assert code == 1 and "không có mục ngân hàng câu hỏi số 42" in output
    code, output = cli("answer", "999", "--text-file", "-", stdin="x")
    assert code == 1 and "không có phiếu số 999" in output
    assert "Traceback" not in output
    assert smtp.received == []
    with session_scope(runtime.engine()) as session:
        assert session.execute(select(Answer.id)).all() == []


@pytest.mark.redis
def test_answer_with_redis_is_sent_by_a_worker(
    tmp_path: Path, answer_settings: Callable[..., Settings], smtp: SmtpCapture, redis_server: RedisServer, start_worker: Callable[..., Any]  # noqa: F811
) -> None:
    settings = answer_settings()
    ticket_id = ingest_email(citizen_email(*QUESTION, message_id="bhxh1lan-4@dan.localhost"))
    env = worker_env(settings.database_url, redis_server.url, TIEPNHAN_CONFIG=str(config_file(tmp_path, settings.database_url, smtp, redis_server.url)))
    worker = start_worker(env)
    wait_for(lambda: live_workers(redis_server.client(), 3000) > 0, 60, "the worker to connect to Redis")
    result = subprocess.run(
        [sys.executable, "-m", "tiepnhan.cli", "answer", str(ticket_id), "--text-file", "-", "--as", "can_bo", "--json"],
        input="Trả lời qua hàng đợi.", env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    line = json.loads(result.stdout)
    assert (line["status"], line["queued"]) == ("pending", True)  # enqueued, not sent by the CLI
    received = smtp.wait_for(1, timeout=30)
    assert len(received) == 1, worker.output()[-3000:]
    assert received[0].recipients == ["an@dan.localhost"]

    def sent() -> bool:
        with session_scope(runtime.engine()) as session:
            return session.execute(select(Answer.status)).scalar_one() == "sent"

    wait_for(sent, 30, "the answer to be recorded as sent")
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "answered"


def test_answer_with_redis_unreachable_fails_clearly_and_the_periodic_pass_sends_it(
    tmp_path: Path, answer_settings: Callable[..., Settings], smtp: SmtpCapture
) -> None:
    from notifiers.reminders import send_reminders
    from tests.servers import free_port

    settings = answer_settings()
    ticket_id = ingest_email(citizen_email(*QUESTION, message_id="bhxh1lan-6@dan.localhost"))
    closed_url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    env = worker_env(settings.database_url, closed_url, TIEPNHAN_CONFIG=str(config_file(tmp_path, settings.database_url, smtp, closed_url)))
    result = subprocess.run(
        [sys.executable, "-m", "tiepnhan.cli", "answer", str(ticket_id), "--text-file", "-", "--as", "can_bo"],
        input="Trả lời khi Redis không chạy.", env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "không kết nối được Redis" in result.stderr and "Câu trả lời đã được lưu" in result.stderr
    assert "Traceback" not in result.stderr
    with session_scope(runtime.engine()) as session:
        assert session.execute(select(Answer.status)).scalar_one() == "pending"
    assert smtp.received == []
    assert send_reminders(runtime.settings(), runtime.engine())["answers"] == {"sent": 1}  # the scheduler's sla_reminders job
    assert [r.recipients for r in smtp.wait_for(1)] == [["an@dan.localhost"]]
