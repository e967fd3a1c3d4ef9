"""The email answer reaches a real SMTP server as a reply in the citizen's thread."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from config.settings import Settings
from notifiers.answer_delivery import deliver_answer, submit_answer
from notifiers.delivery import Outcome
from tests.answers.conftest import MAILBOX_ADDRESS, citizen_email, ingest_email
from tests.escalation.smtp_server import SmtpCapture
from tickets.answer_models import Answer, AnswerAttempt
from tickets.db import session_scope
from tickets.models import Message, Ticket, TicketEvent
from tiepnhan import runtime

QUESTION = ("Re: RE: Hỏi về thủ tục cấp lại thẻ BHYT", "Cho tôi hỏi thủ tục cấp lại thẻ BHYT bị mất cần giấy tờ gì ạ?")


def _question_ticket() -> int:
    first = ingest_email(citizen_email(*QUESTION, message_id="q1@dan.localhost"))
    second = ingest_email(citizen_email("Re: " + QUESTION[0], "Tôi bổ sung: thẻ cấp ở Hà Nội.", message_id="q2@dan.localhost", in_reply_to="<q1@dan.localhost>"))
    assert first is not None and first == second
    return first


def test_answer_is_a_reply_in_the_citizens_thread(answer_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = answer_settings()
    ticket_id = _question_ticket()
    body = "Ông/bà cần tờ khai <b>TK1-TS</b> & CCCD.\x1b[31m"
    answer = submit_answer(runtime.engine(), settings, ticket_id, body, "can_bo_lan", user_id=7)
    assert answer.status == "sent"
    (received,) = smtp.wait_for(1)
    mail = received.message
    assert received.recipients == ["an@dan.localhost"]
    assert mail["In-Reply-To"] == "<q2@dan.localhost>"
    assert mail["References"].split() == ["<q1@dan.localhost>", "<q2@dan.localhost>"]
    reference = f"TN-{ticket_id:06d}"
    assert mail["Subject"] == f"Re: Hỏi về thủ tục cấp lại thẻ BHYT [{reference}]"
    assert mail["From"].addresses[0].addr_spec == MAILBOX_ADDRESS
    assert mail["Message-ID"] == f"<tiepnhan.answer.{answer.id}@bhxh.localhost>"
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert plain.startswith("Kính gửi Nguyễn Văn An,") and reference in plain and "<b>TK1-TS</b> & CCCD." in plain
    assert "\x1b" not in plain and "\x1b" not in html
    assert "&lt;b&gt;TK1-TS&lt;/b&gt; &amp; CCCD." in html and "<b>" not in html
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "answered" and ticket.first_response_at is not None
        outbound = session.execute(select(Message).where(Message.ticket_id == ticket_id, Message.direction == "outbound")).scalars().all()
        assert [m.external_id for m in outbound] == [f"tiepnhan.answer.{answer.id}@bhxh.localhost"]
        sent_events = session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "answer_sent")).scalars().all()
        assert [(e.actor, e.data["answer_id"]) for e in sent_events] == [("can_bo_lan", answer.id)]
        attempts = session.execute(select(AnswerAttempt.status).where(AnswerAttempt.answer_id == answer.id)).scalars().all()
        assert attempts == ["sent"]
    # Never sent twice.
    assert deliver_answer(settings, runtime.engine(), answer.id or 0) is Outcome.SKIPPED
    assert len(smtp.received) == 1


def test_without_mailbox_address_the_smtp_from_address_is_used(answer_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = answer_settings(mailboxes=[])
    ticket_id = _question_ticket()
    submit_answer(runtime.engine(), settings, ticket_id, "Trả lời.", "can_bo")
    (received,) = smtp.wait_for(1)
    assert received.message["From"].addresses[0].addr_spec == "hotro@tiepnhan.localhost"
    with session_scope(runtime.engine()) as session:
        assert session.execute(select(Answer.status)).scalar_one() == "sent"
