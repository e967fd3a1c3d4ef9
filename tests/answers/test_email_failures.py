"""SMTP failures of an email answer, on a real aiosmtpd that refuses on demand (RFC 5321 4.2.1:
4yz transient, 5yz permanent)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from config.settings import Settings
from notifiers.answer_delivery import deliver_answer, submit_answer
from notifiers.delivery import Outcome
from notifiers.reminders import send_reminders
from tests.answers.conftest import citizen_email, ingest_email
from tests.escalation.smtp_server import SmtpCapture
from tickets.answer_models import Answer, AnswerAttempt
from tickets.db import session_scope
from tickets.models import Message, Ticket, TicketEvent, utcnow
from tiepnhan import runtime


class Refusing:
    """Wraps the capture: the first `times` DATA commands get `reply`, later ones are accepted."""

    def __init__(self, capture: SmtpCapture, reply: str, times: int) -> None:
        self.capture, self.reply, self.left = capture, reply, times

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.left > 0:
            self.left -= 1
            return self.reply
        return await self.capture.handle_DATA(server, session, envelope)


def _refusing(smtp: SmtpCapture, reply: str, times: int) -> None:
    smtp.stop()
    from aiosmtpd.controller import Controller

    smtp.controller = Controller(Refusing(smtp, reply, times), hostname="127.0.0.1", port=smtp.port)
    smtp.controller.start()


def _ticket() -> int:
    ticket_id = ingest_email(citizen_email("Hỏi mức đóng BHXH tự nguyện", "Mức đóng BHXH tự nguyện thấp nhất là bao nhiêu?", message_id="tn-1@dan.localhost"))
    assert ticket_id is not None
    return ticket_id


def _attempts(answer_id: int) -> list[tuple[str, bool]]:
    with session_scope(runtime.engine()) as session:
        return [(s, p) for s, p in session.execute(select(AnswerAttempt.status, AnswerAttempt.permanent).where(AnswerAttempt.answer_id == answer_id).order_by(AnswerAttempt.id)).all()]


def test_4xx_is_retried_then_sent_once(answer_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = answer_settings()
    _refusing(smtp, "451 4.3.0 Hệ thống bận, thử lại sau", times=1)
    ticket_id = _ticket()
    answer = submit_answer(runtime.engine(), settings, ticket_id, "Mức đóng thấp nhất là 22% của chuẩn hộ nghèo.", "can_bo")
    assert answer.status == "pending" and answer.attempts == 1 and answer.next_attempt_at is not None
    assert "451" in (answer.last_error or "")
    assert _attempts(answer.id or 0) == [("failed", False)]
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status != "answered" and ticket.first_response_at is None

    # Not due yet: the periodic pass leaves it; once due, it sends it.
    assert send_reminders(settings, runtime.engine())["answers"] == {}
    later = answer.next_attempt_at
    assert later is not None
    assert send_reminders(settings, runtime.engine(), now=later)["answers"] == {"sent": 1}
    assert _attempts(answer.id or 0) == [("failed", False), ("sent", False)]
    assert deliver_answer(settings, runtime.engine(), answer.id or 0) is Outcome.SKIPPED
    assert len(smtp.received) == 1
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "answered"
        assert session.execute(select(Answer.status, Answer.attempts)).one() == ("sent", 2)


def test_5xx_fails_with_the_reason_on_the_ticket(answer_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = answer_settings()
    _refusing(smtp, "550 5.1.1 Hộp thư không tồn tại", times=5)
    ticket_id = _ticket()
    answer = submit_answer(runtime.engine(), settings, ticket_id, "Trả lời.", "can_bo")
    assert answer.status == "failed" and answer.permanent
    assert _attempts(answer.id or 0) == [("failed", True)]
    assert send_reminders(settings, runtime.engine(), now=utcnow())["answers"] == {}  # never retried
    assert deliver_answer(settings, runtime.engine(), answer.id or 0) is Outcome.SKIPPED
    with session_scope(runtime.engine()) as session:
        [event] = session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "answer_failed")).scalars().all()
        assert event.actor == "can_bo" and "550" in event.data["error"] and event.data["permanent"] is True
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status != "answered" and ticket.first_response_at is None
        assert session.execute(select(Message.id).where(Message.direction == "outbound")).all() == []
    assert smtp.received == []


def test_a_stale_claim_is_sent_by_the_periodic_pass(answer_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    """A sender that crashed after claiming: after stale_send_minutes the pass sends it."""
    settings = answer_settings()
    ticket_id = _ticket()
    from notifiers.answer_delivery import create_composed_answer

    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        answer = create_composed_answer(session, settings, ticket, "Trả lời.", "can_bo")
        answer.status, answer.claimed_at = "sending", utcnow()
        session.add(answer)
        answer_id = answer.id or 0
    assert send_reminders(settings, runtime.engine())["answers"] == {}  # still held
    from datetime import timedelta

    assert send_reminders(settings, runtime.engine(), now=utcnow() + timedelta(minutes=settings.escalation.stale_send_minutes + 1))["answers"] == {"sent": 1}
    assert len(smtp.wait_for(1)) == 1 and _attempts(answer_id) == [("sent", False)]


def test_without_smtp_the_answer_is_refused_with_its_reason(answer_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = answer_settings(smtp=None)
    ticket_id = _ticket()
    answer = submit_answer(runtime.engine(), settings, ticket_id, "Trả lời.", "can_bo")
    assert answer.status == "refused" and answer.permanent and "[smtp]" in (answer.last_error or "")
    assert _attempts(answer.id or 0) == [("refused", True)]
    assert send_reminders(settings, runtime.engine())["answers"] == {}  # not retried by itself
    with session_scope(runtime.engine()) as session:
        [event] = session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "answer_failed")).scalars().all()
        assert event.data["reason"] == answer.last_error
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status != "answered"
