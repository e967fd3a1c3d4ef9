"""Escalation tests: a real SMTP server, a unit directory with loopback addresses, tickets made
from real emails through the pipeline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from config.settings import Settings
from ingest.files import email_raw_input
from tests.escalation.smtp_server import SmtpCapture, smtp_capture
from tickets.pipeline import process_raw_item_now
from tiepnhan import runtime
from tiepnhan.intake import accept

SHIPPED_UNITS = Path(__file__).resolve().parents[2] / "config" / "units.toml"
INTAKE_ADDRESS = "hotro@tiepnhan.localhost"


@pytest.fixture
def smtp() -> Iterator[SmtpCapture]:
    capture = smtp_capture()
    yield capture
    capture.stop()


def units_file(tmp_path: Path, *, real: bool = True, extra: str = "") -> Path:
    """The shipped directory, its example addresses replaced by loopback ones when `real`."""
    text = SHIPPED_UNITS.read_text(encoding="utf-8")
    if real:
        text = text.replace("@donvi.example", "@donvi.localhost")
    path = tmp_path / "units.toml"
    path.write_text(text + "\n" + extra, encoding="utf-8")
    return path


@pytest.fixture
def escalation_settings(configure: Callable[..., Settings], sqlite_url: str, tmp_path: Path, smtp: SmtpCapture) -> Callable[..., Settings]:
    def _settings(**overrides: Any) -> Settings:
        if "units_file" not in overrides:
            overrides["units_file"] = str(units_file(tmp_path))
        overrides.setdefault("smtp", smtp.settings())
        overrides.setdefault("intake", {"reply_address": INTAKE_ADDRESS})
        overrides.setdefault("escalation", {"retry_min_seconds": 1, "retry_max_seconds": 60})
        return configure(sqlite_url, **overrides)

    return _settings


def citizen_email(subject: str, body: str, *, message_id: str, sender: str = "Nguyễn Văn An <an@dan.localhost>", attachments: list[tuple[str, bytes]] | None = None, to: str = INTAKE_ADDRESS, in_reply_to: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id}>"
    message["Date"] = "Mon, 24 Nov 2025 08:00:00 +0700"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    message.set_content(body)
    for filename, content in attachments or []:
        message.add_attachment(content, maintype="application", subtype="pdf", filename=filename)
    return message.as_bytes()


def ingest_email(raw: bytes, source: str = "hotro") -> int | None:
    """Store and process one email now; returns its ticket id."""
    engine = runtime.engine()
    saved = accept(engine, [email_raw_input(raw, source, {})], enqueue=False)
    outcome = process_raw_item_now(engine, saved[0].raw_item_id, runtime.settings().max_attachment_bytes)
    return outcome.ticket_id if outcome else None


COMPLAINT = (
    "Khiếu nại chậm chi trả lương hưu",
    "Tôi nghỉ hưu từ tháng 8/2025 tại Biên Hòa, Đồng Nai nhưng đến nay BHXH vẫn chưa chi trả lương hưu cho tôi. "
    "Đề nghị cơ quan BHXH kiểm tra và giải quyết sớm.",
)
QUESTION = ("Hỏi về thủ tục cấp lại thẻ BHYT", "Cho tôi hỏi thủ tục cấp lại thẻ BHYT bị mất cần giấy tờ gì ạ?")
