"""Answers on Zalo reach the local Zalo API stand-in (tests/zalo/zalo_server.py) with the right
body and token; errors are retried or shown; the OA's echo (`oa_send_text`, through the real
webhook on uvicorn) opens nothing and adds no second message. Every test runs on SQLite and on a
real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ingest.zalo.client import SendResult
from notifiers.answer_delivery import deliver_answer, submit_answer
from notifiers.answer_errors import AnswerPermanentError, AnswerTransientError
from notifiers.answer_zalo import answer_error, zalo_body
from notifiers.delivery import Outcome
from notifiers.reminders import resend_due_answers
from tests.zalo.conftest import USER, oa_event, process_all, send, user_event, web, zalo  # noqa: F401  (fixtures)
from tests.zalo.zalo_server import ZaloServer
from tickets.answer_models import Answer, AnswerAttempt
from tickets.db import dispose_engines, get_engine, migrate, session_scope
from tickets.models import Message, Ticket, TicketEvent
from tiepnhan import runtime


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = get_engine(db_url)
    migrate(engine)
    yield engine
    dispose_engines()


def zalo_ticket(web: str, zalo: ZaloServer, engine: Engine, *, follows: bool = True) -> int:  # noqa: F811
    if follows:
        zalo.state.users[USER] = {"display_name": "Trần Thị Hoa", "avatar": None}
    assert send(web, user_event("user_send_text", "m-q1", "Cho tôi hỏi mức đóng BHXH tự nguyện năm nay?"))[0] == 200
    process_all(engine)
    with session_scope(engine) as session:
        (ticket_id,) = session.execute(select(Ticket.id)).scalars().all()
    return int(ticket_id)


def answer_row(engine: Engine, answer_id: int) -> Answer:  # noqa: F811
    with session_scope(engine) as session:
        answer = session.get(Answer, answer_id)
        assert answer is not None
        session.expunge(answer)
        return answer


def counts(engine: Engine) -> tuple[int, int]:  # noqa: F811
    with session_scope(engine) as session:
        return (int(session.execute(select(func.count()).select_from(Ticket)).scalar_one()),
                int(session.execute(select(func.count()).select_from(Message)).scalar_one()))


def event_kinds(engine: Engine, ticket_id: int) -> list[str]:  # noqa: F811
    with session_scope(engine) as session:
        return list(session.execute(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)).scalars())  # type: ignore[arg-type]


def test_zalo_answer_is_a_cs_message_and_its_echo_opens_nothing(web: str, zalo: ZaloServer, engine: Engine) -> None:  # noqa: F811
    ticket_id = zalo_ticket(web, zalo, engine)
    answer = submit_answer(engine, runtime.settings(), ticket_id, "Mức đóng thấp nhất là 22% mức chuẩn hộ nghèo.", "can_bo_hoa")
    assert answer.status == "sent"
    (body,) = zalo.state.sent
    assert body == {"recipient": {"user_id": USER}, "message": {"text": answer.text}}
    assert "22% mức chuẩn hộ nghèo" in answer.text
    ((message_id, user, _text),) = zalo.state.delivered
    assert user == USER and answer.external_id == f"zalo:{message_id}"
    with session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "answered" and ticket.first_response_at is not None
    before = counts(engine)
    assert send(web, oa_event(message_id, answer.text))[0] == 200  # Zalo's echo of the OA's own message
    process_all(engine)
    assert counts(engine) == before
    kinds = event_kinds(engine, ticket_id)
    assert "message_edited" not in kinds and "reopened" not in kinds and kinds.count("answer_sent") == 1
    assert deliver_answer(runtime.settings(), engine, answer.id or 0) is Outcome.SKIPPED
    assert len(zalo.state.sent) == 1


def test_a_user_who_blocked_the_oa_fails_the_answer_permanently(web: str, zalo: ZaloServer, engine: Engine) -> None:  # noqa: F811
    ticket_id = zalo_ticket(web, zalo, engine)
    zalo.state.blocked.add(USER)
    answer = submit_answer(engine, runtime.settings(), ticket_id, "Trả lời.", "can_bo")
    stored = answer_row(engine, answer.id or 0)
    assert stored.status == "failed" and stored.permanent and "đã chặn Zalo OA" in (stored.last_error or "")
    assert "answer_failed" in event_kinds(engine, ticket_id)
    assert deliver_answer(runtime.settings(), engine, answer.id or 0) is Outcome.SKIPPED
    assert len(zalo.state.sent) == 1 and zalo.state.delivered == []


def test_a_user_not_following_or_out_of_the_window_is_permanent(web: str, zalo: ZaloServer, engine: Engine) -> None:  # noqa: F811
    ticket_id = zalo_ticket(web, zalo, engine, follows=False)
    answer = submit_answer(engine, runtime.settings(), ticket_id, "Trả lời.", "can_bo")
    stored = answer_row(engine, answer.id or 0)
    assert stored.status == "failed" and "chưa quan tâm" in (stored.last_error or "")


def test_a_rate_limit_is_retried_once_and_the_answer_sent_once(web: str, zalo: ZaloServer, engine: Engine) -> None:  # noqa: F811
    ticket_id = zalo_ticket(web, zalo, engine)
    zalo.state.send_errors.append(-32)
    answer = submit_answer(engine, runtime.settings(), ticket_id, "Trả lời.", "can_bo")
    pending = answer_row(engine, answer.id or 0)
    assert pending.status == "pending" and pending.next_attempt_at is not None
    # The periodic pass (notifiers/reminders.py) sends it again once its backoff is over, not before.
    assert resend_due_answers(runtime.settings(), engine, pending.next_attempt_at - timedelta(milliseconds=500)).get("sent", 0) == 0
    assert len(zalo.state.sent) == 1
    resend_due_answers(runtime.settings(), engine, pending.next_attempt_at + timedelta(seconds=1))
    assert answer_row(engine, answer.id or 0).status == "sent"
    assert deliver_answer(runtime.settings(), engine, answer.id or 0) is Outcome.SKIPPED
    assert len(zalo.state.sent) == 2 and len(zalo.state.delivered) == 1
    with session_scope(engine) as session:
        attempts = session.execute(select(AnswerAttempt.status).where(AnswerAttempt.answer_id == answer.id).order_by(AnswerAttempt.id)).scalars().all()  # type: ignore[arg-type]
    assert attempts == ["failed", "sent"]


def test_a_refused_access_token_is_refreshed_once_and_the_message_sent(web: str, zalo: ZaloServer, engine: Engine) -> None:  # noqa: F811
    ticket_id = zalo_ticket(web, zalo, engine)
    first = submit_answer(engine, runtime.settings(), ticket_id, "Câu trả lời thứ nhất.", "can_bo")
    assert first.status == "sent"
    refreshes = zalo.state.refresh_calls
    zalo.state.access_tokens.clear()  # the stored token is revoked before its expiry
    second = submit_answer(engine, runtime.settings(), ticket_id, "Câu trả lời thứ hai.", "can_bo")
    assert second.status == "sent"
    assert zalo.state.refresh_calls == refreshes + 1
    assert len(zalo.state.delivered) == 2 and len(zalo.state.sent) == 3  # first, the refused try, the resend


def test_zalo_codes_map_to_transient_or_permanent() -> None:
    for code in (-32, -216, -124):
        assert isinstance(answer_error(SendResult(code, "x")), AnswerTransientError), code
    for code in (-201, -213, -230, -14002):
        assert isinstance(answer_error(SendResult(code, "x")), AnswerPermanentError), code
    assert zalo_body("42", "Chào") == {"recipient": {"user_id": "42"}, "message": {"text": "Chào"}}
    try:
        zalo_body("42", "x" * 2001)
    except AnswerPermanentError as exc:
        assert "tối đa 2.000 ký tự" in exc.reason_vi
    else:
        raise AssertionError("a 2,001-character Zalo text was not refused")
