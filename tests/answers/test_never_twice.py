"""Never sent twice, on SQLite and on a real PostgreSQL: senders racing for one answer (a Dramatiq
retry and the periodic pass at once) hand it to the SMTP server exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import select

from config.settings import Settings
from notifiers.answer_delivery import create_composed_answer, deliver_answer
from notifiers.delivery import Outcome
from tests.answers.conftest import citizen_email, ingest_email
from tests.escalation.smtp_server import SmtpCapture
from tickets.answer_models import AnswerAttempt
from tickets.db import session_scope
from tickets.models import Message, Ticket
from tiepnhan import runtime

RACERS = 4


def test_racing_senders_send_one_answer_once(answer_settings: Callable[..., Settings], db_url: str, smtp: SmtpCapture) -> None:
    settings = answer_settings(db_url)
    ticket_id = ingest_email(citizen_email("Hỏi thủ tục hưởng thai sản", "Tôi sinh con tháng 10, hồ sơ thai sản cần gì?", message_id="ts-1@dan.localhost"))
    assert ticket_id is not None
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        answer_id = create_composed_answer(session, settings, ticket, "Sổ BHXH và giấy khai sinh.", "can_bo").id or 0
    outcomes: list[Outcome] = []
    barrier = threading.Barrier(RACERS)

    def race() -> None:
        barrier.wait()
        outcomes.append(deliver_answer(settings, runtime.engine(), answer_id))

    threads = [threading.Thread(target=race) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(o.value for o in outcomes) == ["sent"] + ["skipped"] * (RACERS - 1)
    assert len(smtp.wait_for(1)) == 1
    with session_scope(runtime.engine()) as session:
        assert session.execute(select(AnswerAttempt.status).where(AnswerAttempt.answer_id == answer_id)).scalars().all() == ["sent"]
        assert len(session.execute(select(Message.id).where(Message.ticket_id == ticket_id, Message.direction == "outbound")).all()) == 1
