"""The ticket's follow-up (issue 12): a unit's answer, polled from a real IMAP server, is the
agency's first response and moves the ticket on to `unit_responded`; an out-of-office does not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from config.settings import MailboxConfig, Settings
from ingest.imap.poller import ImapPoller
from notifiers.dispatch import request_delivery
from tests.escalation.conftest import COMPLAINT, citizen_email
from tests.escalation.smtp_server import Received, SmtpCapture
from tests.imap.dovecot import PASSWORD, USER, Dovecot, dovecot  # noqa: F401  (fixture)
from tickets.db import session_scope
from tickets.escalations import approve, list_escalations, resolve_ticket
from tickets.models import Message, Ticket, TicketEvent
from tickets.pipeline import pending_raw_item_ids, process_raw_item_now
from tiepnhan import runtime

pytestmark = [pytest.mark.dovecot]


def poll(mailbox: MailboxConfig) -> None:
    engine = runtime.engine()
    ImapPoller(mailbox).poll_once(engine, enqueue=False)
    for raw_id in pending_raw_item_ids(engine):
        process_raw_item_now(engine, raw_id, runtime.settings().max_attachment_bytes)


def unit_mail(forwarded: Received, message_id: str, date: str, body: str, *, auto_reply: bool = False) -> bytes:
    answer = EmailMessage()
    answer["From"] = "BHXH tỉnh Đồng Nai <bhxh.dongnai@donvi.localhost>"
    answer["To"] = forwarded.message["Reply-To"]
    answer["Subject"] = ("Trả lời tự động: " if auto_reply else "Re: ") + forwarded.message["Subject"]
    answer["Message-ID"] = f"<{message_id}>"
    answer["In-Reply-To"] = forwarded.message["Message-ID"]
    answer["Date"] = date
    if auto_reply:
        answer["Auto-Submitted"] = "auto-replied"  # RFC 3834
    answer.set_content(body)
    return answer.as_bytes()


def ticket_and_events(ticket_id: int) -> tuple[Ticket, list[TicketEvent]]:
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        events = list(session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)).scalars())
        return ticket, events


def test_a_units_answer_is_the_first_response_and_the_unit_is_handling_it(
    escalation_settings: Callable[..., Settings], smtp: SmtpCapture, dovecot: Dovecot  # noqa: F811
) -> None:
    mailbox = MailboxConfig(name="hotro", host="127.0.0.1", port=dovecot.port, security="plain", username=USER, password=PASSWORD, timeout_seconds=10)
    escalation_settings(mailboxes=[mailbox.model_dump(mode="json") | {"password": PASSWORD}])
    dovecot.deliver(citizen_email(*COMPLAINT, message_id="theo-doi-1@dan.localhost"))
    poll(mailbox)
    [proposal] = list_escalations(runtime.engine())
    ticket_id = proposal.ticket_id
    approve(runtime.engine(), proposal.id, "dieu-phoi-vien")
    request_delivery(proposal.id)
    [forwarded] = smtp.wait_for(1)
    ticket, _ = ticket_and_events(ticket_id)
    assert (ticket.status, ticket.first_response_at) == ("escalated", None)

    # An out-of-office is no answer: nothing changes on the ticket.
    dovecot.deliver(unit_mail(forwarded, "vang-mat@donvi.localhost", "Tue, 25 Nov 2025 08:00:00 +0700", "Tôi đang nghỉ phép đến 01/12.", auto_reply=True))
    poll(mailbox)
    ticket, events = ticket_and_events(ticket_id)
    assert (ticket.status, ticket.first_response_at) == ("escalated", None)
    assert not [e for e in events if e.kind == "first_response"]

    before = datetime.now(UTC).replace(microsecond=0)
    dovecot.deliver(unit_mail(forwarded, "tra-loi-1@donvi.localhost", "Tue, 25 Nov 2025 09:00:00 +0700", "BHXH tỉnh Đồng Nai đã tiếp nhận, sẽ chi trả trong tháng 12."))
    poll(mailbox)
    [acknowledged] = list_escalations(runtime.engine())
    with session_scope(runtime.engine()) as session:
        answer = session.get(Message, acknowledged.acknowledged_message_id)
        assert answer is not None
        answered_at = answer.received_at  # its arrival in the mailbox (IMAP INTERNALDATE)
    assert before <= answered_at <= datetime.now(UTC)
    ticket, events = ticket_and_events(ticket_id)
    assert ticket.status == "unit_responded"
    assert ticket.first_response_at == answered_at
    [first] = [e for e in events if e.kind == "first_response"]
    assert first.actor == "province-75" and first.data["escalation_id"] == proposal.id and first.data["by"] == "unit"
    changes = [(e.data["previous"], e.data["status"]) for e in events if e.kind == "status_changed"]
    assert changes[-1] == ("escalated", "unit_responded") and changes.count(changes[-1]) == 1

    # The unit writes again: the first response stays the first one.
    dovecot.deliver(unit_mail(forwarded, "tra-loi-2@donvi.localhost", "Wed, 26 Nov 2025 10:00:00 +0700", "Bổ sung: đã chi trả ngày 26/11."))
    poll(mailbox)
    ticket, events = ticket_and_events(ticket_id)
    assert ticket.first_response_at == answered_at and ticket.status == "unit_responded"
    assert len([e for e in events if e.kind == "first_response"]) == 1

    # The coordinator closes it once the unit has settled it.
    resolve_ticket(runtime.engine(), ticket_id, "dieu-phoi-vien", "đơn vị đã chi trả")
    ticket, _ = ticket_and_events(ticket_id)
    assert ticket.status == "resolved" and ticket.resolved_at is not None and ticket.first_response_at == answered_at
