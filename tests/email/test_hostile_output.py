"""What a citizen wrote never drives a terminal or a mail client: escapes in a subject, a name, a
body or a file name are gone from `tiepnhan tickets`/`show` and from the mail to a unit."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from config.settings import Settings
from notifiers.delivery import Outcome, deliver_escalation
from tests.core.test_import_cli import cli  # noqa: F401 - the CLI fixture
from tests.escalation.conftest import COMPLAINT, citizen_email, escalation_settings, ingest_email, smtp  # noqa: F401
from tests.escalation.smtp_server import SmtpCapture
from tickets.escalations import approve
from tiepnhan import runtime

# Clear screen, cursor home, OSC 0 (window title), OSC 8 (a hidden link), 8-bit CSI, C1 NEL,
# a right-to-left override (a file name that reads backwards), and a NUL.
ESCAPES = "\x1b[2J\x1b[H\x1b]0;BI-TAN-CONG\x07\x1b]8;;http://evil.example/\x1b\\bấm\x1b]8;;\x1b\\\x9b31m\x85\u202e\x00"
HEADER_ESCAPES = ESCAPES.replace("\x85", "").replace("\x00", "")  # what the email package lets into a header
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def hostile_email(message_id: str) -> bytes:
    subject, body = COMPLAINT
    return citizen_email(
        subject + HEADER_ESCAPES, body + ESCAPES + " hết.", message_id=message_id,
        sender=f'"Nguyễn{HEADER_ESCAPES} An" <an@dan.localhost>',
        attachments=[(f"ho-so{HEADER_ESCAPES}fdp.exe", b"%PDF small")],
    )  # fmt: skip


def assert_clean(text: str) -> None:
    found = UNSAFE.findall(text)
    assert not found, f"control characters reach the reader: {found!r}"
    assert "BI-TAN-CONG" not in text and "evil.example" not in text


def test_tickets_and_show_print_no_escapes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    path = tmp_path / "thu.eml"
    path.write_bytes(hostile_email("esc1@dan.localhost"))
    code, output = cli("import", str(path))
    assert code == 0, output
    for command in (("tickets",), ("tickets", "--json"), ("show", "1")):
        code, output = cli(*command)
        assert code == 0, output
        assert_clean(output)
    code, output = cli("show", "1")
    assert "Khiếu nại chậm chi trả lương hưu" in output and "hết." in output


def test_the_mail_to_a_unit_carries_no_escapes(escalation_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:  # noqa: F811
    settings = escalation_settings()
    ticket_id = ingest_email(hostile_email("esc2@dan.localhost"))
    assert ticket_id is not None
    from tests.escalation.test_escalation_flow import escalations

    [proposal] = escalations(ticket_id)
    approve(runtime.engine(), proposal.id, "dpv")
    assert deliver_escalation(settings, runtime.engine(), proposal.id) is Outcome.SENT
    [received] = smtp.wait_for(1)
    message = received.message
    assert_clean(str(message["Subject"]))
    body = message.get_body(("plain",)).get_content()
    assert_clean(body.replace("\n", " "))
    assert "hết." in body
    html = message.get_body(("html",))
    if html is not None:
        assert_clean(html.get_content().replace("\n", " "))
    for part in message.iter_attachments():
        assert_clean(part.get_filename() or "")
