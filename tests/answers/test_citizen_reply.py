"""The whole answer loop on real servers: the citizen's question arrives in Dovecot and is
polled; the agent's answer reaches the citizen through a real SMTP server; the citizen's reply
to it, delivered to Dovecot and polled, threads into the same ticket and reopens it."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from config.settings import MailboxConfig, Settings
from ingest.imap.poller import ImapPoller
from notifiers.answer_delivery import submit_answer
from tests.answers.conftest import citizen_email
from tests.escalation.smtp_server import SmtpCapture
from tests.imap.dovecot import PASSWORD, USER, Dovecot, dovecot  # noqa: F401  (fixture)
from tickets.db import session_scope
from tickets.models import Message, Ticket, TicketEvent
from tickets.pipeline import pending_raw_item_ids, process_raw_item_now
from tiepnhan import runtime

pytestmark = [pytest.mark.dovecot]
QUESTION = ("Hỏi về thủ tục cấp lại thẻ BHYT", "Cho tôi hỏi thủ tục cấp lại thẻ BHYT bị mất cần giấy tờ gì ạ? Tôi ở Cần Thơ.")


def poll(mailbox: MailboxConfig) -> None:
    engine = runtime.engine()
    ImapPoller(mailbox).poll_once(engine, enqueue=False)
    for raw_id in pending_raw_item_ids(engine):
        process_raw_item_now(engine, raw_id, runtime.settings().max_attachment_bytes)


def _status_and_messages(ticket_id: int) -> tuple[str, list[tuple[str, str]]]:
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        rows = session.execute(select(Message.direction, Message.external_id).where(Message.ticket_id == ticket_id).order_by(Message.id)).all()
        return ticket.status, [(d, e) for d, e in rows]


def test_citizens_reply_to_the_answer_threads_back_and_reopens(answer_settings: Callable[..., Settings], smtp: SmtpCapture, dovecot: Dovecot) -> None:  # noqa: F811
    mailbox = MailboxConfig(name="hotro", host="127.0.0.1", port=dovecot.port, security="plain", username=USER, password=PASSWORD, timeout_seconds=10, address="hoidap@bhxh.localhost")
    settings = answer_settings(mailboxes=[mailbox.model_dump(mode="json") | {"password": PASSWORD}])
    dovecot.deliver(citizen_email(*QUESTION, message_id="hoi-1@dan.localhost"))
    poll(mailbox)
    with session_scope(runtime.engine()) as session:
        [ticket_id] = session.execute(select(Ticket.id)).scalars().all()

    answer = submit_answer(runtime.engine(), settings, ticket_id, "Ông/bà mang CCCD đến BHXH quận nơi cư trú.", "can_bo_lan")
    [sent] = smtp.wait_for(1)
    assert sent.message["In-Reply-To"] == "<hoi-1@dan.localhost>"
    status, messages = _status_and_messages(ticket_id)
    assert status == "answered"
    assert messages == [("inbound", "hoi-1@dan.localhost"), ("outbound", f"tiepnhan.answer.{answer.id}@bhxh.localhost")]

    # A copy of the answer in the intake mailbox (a Bcc, a client's "reply all") is the same message.
    dovecot.deliver(sent.raw)
    poll(mailbox)
    assert _status_and_messages(ticket_id) == (status, messages)

    # An out-of-office reply to the answer threads in but reopens nothing (RFC 3834).
    away = EmailMessage()
    away["From"] = "Nguyễn Văn An <an@dan.localhost>"
    away["To"] = "hoidap@bhxh.localhost"
    away["Subject"] = "Tự động trả lời: " + str(sent.message["Subject"])
    away["Message-ID"] = "<vang-mat-1@dan.localhost>"
    away["In-Reply-To"] = sent.message["Message-ID"]
    away["Auto-Submitted"] = "auto-replied"
    away["Date"] = "Tue, 25 Nov 2025 08:00:00 +0700"
    away.set_content("Tôi đang đi vắng đến hết tuần.")
    dovecot.deliver(away.as_bytes())
    poll(mailbox)
    status, messages = _status_and_messages(ticket_id)
    assert status == "answered" and messages[-1] == ("inbound", "vang-mat-1@dan.localhost")

    # The citizen answers from a client that changed the subject: only In-Reply-To threads it.
    reply = EmailMessage()
    reply["From"] = "Nguyễn Văn An <an@dan.localhost>"
    reply["To"] = "hoidap@bhxh.localhost"
    reply["Subject"] = "Cảm ơn, cho hỏi thêm"
    reply["Message-ID"] = "<hoi-2@dan.localhost>"
    reply["In-Reply-To"] = sent.message["Message-ID"]
    reply["Date"] = "Tue, 25 Nov 2025 09:00:00 +0700"
    reply.set_content("Cảm ơn cán bộ. Cho tôi hỏi thêm: làm lại thẻ có mất phí không?")
    dovecot.deliver(reply.as_bytes())
    poll(mailbox)

    status, messages = _status_and_messages(ticket_id)
    assert messages[-1] == ("inbound", "hoi-2@dan.localhost")
    assert status == "triaged"
    with session_scope(runtime.engine()) as session:
        assert session.execute(select(Ticket.id)).scalars().all() == [ticket_id]  # no new ticket for the reply
        kinds = [k for (k,) in session.execute(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)).all()]
    assert kinds.index("answer_sent") < kinds.index("reopened")
