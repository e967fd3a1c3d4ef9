"""Answers follow their ticket when it is merged into another (tickets/actions.py::merge_tickets)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from config.settings import Settings
from notifiers.answer_delivery import submit_answer
from tests.answers.conftest import citizen_email, ingest_email
from tests.escalation.smtp_server import SmtpCapture
from tickets.actions import merge_tickets
from tickets.answer_models import Answer
from tickets.answering import AnswerRefused
from tickets.db import session_scope
from tiepnhan import runtime


def test_a_merged_tickets_answers_move_with_it(answer_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = answer_settings()
    first = ingest_email(citizen_email("Hỏi về thẻ BHYT", "Thẻ BHYT của tôi bị mất, làm lại thế nào?", message_id="m-1@dan.localhost"))
    second = ingest_email(citizen_email("Thẻ BHYT bị mất", "Tôi hỏi lại: làm lại thẻ BHYT cần gì?", message_id="m-2@dan.localhost"))
    assert first is not None and second is not None and first != second
    answer = submit_answer(runtime.engine(), settings, second, "Ông/bà mang CCCD đến BHXH huyện.", "can_bo")
    assert answer.status == "sent"
    merge_tickets(runtime.engine(), second, first, "dieuphoi")
    with session_scope(runtime.engine()) as session:
        assert session.execute(select(Answer.ticket_id)).scalars().all() == [first]
    with pytest.raises(AnswerRefused, match="gộp"):
        submit_answer(runtime.engine(), settings, second, "Trả lời nữa.", "can_bo")
