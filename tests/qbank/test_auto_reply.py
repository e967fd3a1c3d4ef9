"""Automatic answers at the end of the real pipeline (issue 14), sent over a real aiosmtpd:
off by default; when on, a question its published entry answers above the threshold gets one
answer by "auto" with the notice line, one `auto_answered` event, and never a second one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import select

from config.settings import Settings
from qbank.entry import load_jsonl_bank
from qbank.models import BankEntryRow
from qbank.store import save_entries
from tests.escalation.conftest import citizen_email, escalation_settings, ingest_email, smtp  # noqa: F401  (fixtures)
from tests.escalation.smtp_server import SmtpCapture
from tests.qbank.conftest import BANK_FILE
from tickets.answer_models import Answer
from tickets.db import session_scope
from tickets.models import TicketEvent
from tickets.reprocess import reprocess_all
from tiepnhan import runtime

QUESTION = ("Hỏi về thẻ BHYT", "Chào anh chị,\nTôi làm mất thẻ bảo hiểm y tế, xin hỏi cấp lại ở đâu ạ?\nLê Văn Tám")
FOLLOW_UP = "Cảm ơn anh chị. Cho tôi hỏi thêm: làm mất thẻ bảo hiểm y tế lần thứ hai thì cấp lại ở đâu?"


def bank_topic(key: str) -> str:
    return next(e.topic for e in load_jsonl_bank(str(BANK_FILE)) if e.id == key)


def auto_config(**changes: Any) -> dict[str, Any]:
    return {"auto_answer": {"enabled": True, "min_score": 0.95, "topics": [bank_topic("q48")], "channels": ["email"]} | changes}


def start(escalation_settings: Callable[..., Settings], **overrides: Any) -> Settings:  # noqa: F811
    settings = escalation_settings(**overrides)
    with session_scope(runtime.engine()) as session:
        save_entries(session, load_jsonl_bank(str(BANK_FILE)), "nhap")
    return settings


def automatic_answers(ticket_id: int) -> list[Answer]:
    with session_scope(runtime.engine()) as session:
        found = list(session.exec(select(Answer).where(Answer.ticket_id == ticket_id, Answer.automatic.is_(True))))  # type: ignore[attr-defined]
        for a in found:
            session.expunge(a)
        return found


def events(ticket_id: int, kind: str) -> list[TicketEvent]:
    with session_scope(runtime.engine()) as session:
        return list(session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)))


def test_on_a_question_the_bank_answers_well_is_answered_once_and_never_again(escalation_settings: Callable[..., Settings], smtp: SmtpCapture, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:  # noqa: F811
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    settings = start(escalation_settings, question_bank=auto_config())
    raw = citizen_email(*QUESTION, message_id="mat-the@dan.localhost", sender="Lê Văn Tám <tam@dan.localhost>")
    ticket_id = ingest_email(raw)
    assert ticket_id is not None
    (answer,) = automatic_answers(ticket_id)
    with session_scope(runtime.engine()) as session:
        q48 = session.exec(select(BankEntryRow).where(BankEntryRow.key == "q48")).one()
    assert (answer.author, answer.entry_id, answer.status, answer.mode) == ("auto", q48.id, "sent", "email")
    assert settings.question_bank.auto_answer.notice in answer.text
    (event,) = events(ticket_id, "auto_answered")
    assert event.actor == "auto" and event.data["answer_id"] == answer.id and event.data["entry"] == "q48"
    (mail,) = smtp.wait_for(1)
    assert mail.recipients == ["tam@dan.localhost"]
    body = mail.message.get_body(preferencelist=("plain",)).get_content()
    assert "câu trả lời tự động" in body and q48.answer.split("\n")[0].strip() in body

    # re-processing: the same mail again, `tiepnhan reprocess`, the citizen's next message
    assert ingest_email(raw) in (None, ticket_id)
    reprocess_all(runtime.engine(), settings.max_attachment_bytes)
    follow_up = ingest_email(citizen_email("Re: Hỏi về thẻ BHYT", FOLLOW_UP, message_id="mat-the-2@dan.localhost", sender="Lê Văn Tám <tam@dan.localhost>", in_reply_to="<mat-the@dan.localhost>"))
    assert follow_up == ticket_id
    assert len(automatic_answers(ticket_id)) == 1 and len(events(ticket_id, "auto_answered")) == 1
    assert len(smtp.received) == 1


@pytest.mark.parametrize(
    "question_bank",
    [
        pytest.param({}, id="off-by-default"),
        pytest.param(auto_config(min_score=1.5), id="threshold-above-every-score"),
        pytest.param(auto_config(topics=["mot-chu-de-khac"]), id="topic-not-chosen"),
        pytest.param(auto_config(channels=["facebook_message"]), id="channel-not-chosen"),
    ],
)
def test_otherwise_nothing_is_answered(escalation_settings: Callable[..., Settings], smtp: SmtpCapture, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, question_bank: dict[str, Any]) -> None:  # noqa: F811
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    start(escalation_settings, question_bank=question_bank)
    ticket_id = ingest_email(citizen_email(*QUESTION, message_id="mat-the@dan.localhost"))
    assert ticket_id is not None
    assert automatic_answers(ticket_id) == [] and events(ticket_id, "auto_answered") == []
    assert smtp.received == []


def test_workers_racing_on_one_ticket_answer_it_once(configure: Callable[..., Settings], db_url: str, tmp_path: Any, smtp: SmtpCapture, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Two workers finishing the same ticket at once (a redelivered message): the ticket's lock
    makes the second see the first's answer, on SQLite and PostgreSQL."""
    from concurrent.futures import ThreadPoolExecutor

    from config.settings import AutoAnswerConfig
    from qbank.auto_reply_stage import auto_reply_to_question
    from tests.escalation.conftest import INTAKE_ADDRESS, units_file

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    settings = configure(db_url, units_file=str(units_file(tmp_path)), smtp=smtp.settings(), intake={"reply_address": INTAKE_ADDRESS})
    with session_scope(runtime.engine()) as session:
        save_entries(session, load_jsonl_bank(str(BANK_FILE)), "nhap")
    ticket_id = ingest_email(citizen_email(*QUESTION, message_id="dua@dan.localhost", sender="Lê Văn Tám <tam@dan.localhost>"))
    assert ticket_id is not None and automatic_answers(ticket_id) == []  # off in the process's configuration
    on = settings.model_copy(update={"question_bank": settings.question_bank.model_copy(update={"auto_answer": AutoAnswerConfig(**auto_config()["auto_answer"])})})
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: auto_reply_to_question(runtime.engine(), ticket_id, on), range(4)))
    assert len([r for r in results if r is not None]) == 1
    assert len(automatic_answers(ticket_id)) == 1 and len(events(ticket_id, "auto_answered")) == 1
    assert len(smtp.wait_for(1)) == 1


def test_the_channels_are_those_an_answer_can_be_sent_on() -> None:
    from config.settings import ConfigError, load_settings

    on = {"enabled": True, "topics": ["x"]}
    assert load_settings(None, question_bank={"auto_answer": on | {"channels": ["zalo", "email"]}}).question_bank.auto_answer.channels == ["zalo", "email"]
    with pytest.raises(ConfigError, match="channels"):
        load_settings(None, question_bank={"auto_answer": on | {"channels": ["portal"]}})  # the portal has no way to answer yet
