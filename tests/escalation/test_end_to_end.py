"""The whole loop on real servers: a complaint arrives in Dovecot, is polled, tagged and
proposed; a coordinator approves; the mail reaches the provincial office through a real SMTP
server; the office answers the Reply-To address into Dovecot; the answer is polled, threads
into the same ticket and acknowledges the escalation."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from config.settings import MailboxConfig, Settings
from ingest.imap.poller import ImapPoller
from notifiers.dispatch import request_delivery
from tests.escalation.conftest import COMPLAINT, citizen_email
from tests.escalation.smtp_server import SmtpCapture
from tests.imap.dovecot import PASSWORD, USER, Dovecot, dovecot  # noqa: F401  (fixture)
from tickets.db import session_scope
from tickets.escalations import approve, list_escalations
from tickets.models import Message, Ticket
from tickets.pipeline import pending_raw_item_ids, process_raw_item_now
from tiepnhan import runtime

pytestmark = [pytest.mark.dovecot]


def poll(mailbox: MailboxConfig) -> None:
    engine = runtime.engine()
    ImapPoller(mailbox).poll_once(engine, enqueue=False)
    for raw_id in pending_raw_item_ids(engine):
        process_raw_item_now(engine, raw_id, runtime.settings().max_attachment_bytes)


def test_complaint_to_office_and_back(escalation_settings: Callable[..., Settings], smtp: SmtpCapture, dovecot: Dovecot) -> None:  # noqa: F811
    mailbox = MailboxConfig(name="hotro", host="127.0.0.1", port=dovecot.port, security="plain", username=USER, password=PASSWORD, timeout_seconds=10)
    escalation_settings(mailboxes=[mailbox.model_dump(mode="json") | {"password": PASSWORD}])
    dovecot.deliver(citizen_email(*COMPLAINT, message_id="khieu-nai-1@dan.localhost"))
    poll(mailbox)
    [proposal] = list_escalations(runtime.engine())
    assert (proposal.unit_id, proposal.status) == ("province-75", "proposed")
    ticket_id = proposal.ticket_id

    approve(runtime.engine(), proposal.id, "dieu-phoi-vien")
    request_delivery(proposal.id)  # the embedded default: handed to SMTP before this returns
    [forwarded] = smtp.wait_for(1)
    assert forwarded.recipients == ["bhxh.dongnai@donvi.localhost"]
    assert forwarded.message["Subject"] == f"[TN-{ticket_id:06d}] Phản ánh BHXH - Đồng Nai"

    answer = EmailMessage()
    answer["From"] = "BHXH tỉnh Đồng Nai <bhxh.dongnai@donvi.localhost>"
    answer["To"] = forwarded.message["Reply-To"]
    answer["Subject"] = "Re: " + forwarded.message["Subject"]
    answer["Message-ID"] = "<tra-loi-1@donvi.localhost>"
    answer["In-Reply-To"] = forwarded.message["Message-ID"]
    answer["Date"] = "Tue, 25 Nov 2025 09:00:00 +0700"
    answer.set_content("BHXH tỉnh Đồng Nai đã tiếp nhận và sẽ chi trả lương hưu trong tháng 12.\n\nVào ngày 24/11 Trung tâm đã viết:\n> Kính gửi ...")
    dovecot.deliver(answer.as_bytes())
    poll(mailbox)

    [acknowledged] = list_escalations(runtime.engine())
    assert acknowledged.status == "acknowledged"
    with session_scope(runtime.engine()) as session:
        replies = list(session.execute(select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)).scalars())
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert session.execute(select(Ticket.id)).scalars().all() == [ticket_id]  # no new ticket for the answer
    assert len(replies) == 2
    assert replies[1].reply_token == acknowledged.reply_token
    assert acknowledged.acknowledged_message_id == replies[1].id
    assert ticket.status == "unit_responded" and ticket.category == "complaint"
