"""Automatic answers in the reports (issue 15): the workload report shows them as their own row
("Trả lời tự động", after the people), the quality report the share of question tickets an
automatic answer was sent to. The fixed data set plus tickets answered by hand and automatically,
written through the real store; the figures worked out by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from qbank.auto_reply_stage import AUTHOR
from reports.workload import AUTOMATIC_ACTOR, AUTOMATIC_LABEL
from tests.reports.dataset import build_dataset
from tests.reports.test_reports import report, rows_by_group
from tests.reports.timeline import new_ticket, vn
from tickets.answer_models import Answer
from tickets.db import dispose_engines, get_engine, migrate, session_scope
from tickets.models import TicketEvent
from tickets.store import add_event


def _answer(session: Any, ticket_id: int, at: datetime, *, automatic: bool, status: str = "sent") -> None:
    author = AUTHOR if automatic else "tu.van"
    answer = Answer(ticket_id=ticket_id, channel="email", mode="email", status=status, text="Trả lời", author=author, automatic=automatic,
                    message_id=f"<a-{ticket_id}-{at.timestamp()}@tiepnhan.localhost>", sent_at=at if status == "sent" else None)  # fmt: skip
    session.add(answer)
    session.flush()
    add_event(session, ticket_id, "answer_requested", author, answer_id=answer.id, mode="email", automatic=automatic, at=at)
    if status == "sent":
        add_event(session, ticket_id, "answer_sent", author, answer_id=answer.id, mode="email", automatic=automatic, at=at)


@pytest.fixture
def engine(db_url: str) -> Any:
    engine = get_engine(db_url)
    migrate(engine)
    build_dataset(engine)  # T1, T3: questions in March (no answer of these kinds); T2 a complaint; T4 spam
    with session_scope(engine) as session:
        q1 = new_ticket(session, vn(2025, 3, 17, 9), category="question", province_code="01")
        q2 = new_ticket(session, vn(2025, 3, 18, 9), category="question", province_code="79")
        q3 = new_ticket(session, vn(2025, 3, 19, 9), category="question", province_code="79")
        c1 = new_ticket(session, vn(2025, 3, 20, 9), category="complaint", province_code="79")
        _answer(session, q1.id or 0, vn(2025, 3, 17, 9, 1), automatic=True)
        _answer(session, q2.id or 0, vn(2025, 3, 18, 9, 1), automatic=True)
        _answer(session, q2.id or 0, vn(2025, 3, 18, 10), automatic=False)  # a person answered it too: still answered automatically
        _answer(session, q3.id or 0, vn(2025, 3, 19, 9, 1), automatic=True, status="failed")  # never reached the citizen
        _answer(session, q3.id or 0, vn(2025, 3, 19, 11), automatic=False)
        _answer(session, c1.id or 0, vn(2025, 3, 20, 9, 1), automatic=True)  # not a question: not in the share
        found = {"q1": q1.id, "q2": q2.id, "q3": q3.id, "c1": c1.id}
    with session_scope(engine) as session:
        for event in session.exec(select(TicketEvent)).all():
            if isinstance(event.data.get("at"), str):
                event.at = datetime.fromisoformat(event.data["at"])
                session.add(event)
    engine.found = found  # type: ignore[attr-defined]
    yield engine
    dispose_engines()


def test_the_actor_is_the_auto_reply_stages() -> None:
    assert AUTOMATIC_ACTOR == AUTHOR


def test_workload_shows_the_automatic_answers_as_their_own_row(engine: Engine) -> None:
    result = report(engine, "workload")
    rows = rows_by_group(result)
    auto = rows[AUTOMATIC_ACTOR]
    assert auto["label"] == AUTOMATIC_LABEL
    assert result.rows[-1] is auto  # after the people, not sorted among them
    # Sent automatically: q1, q2, c1 (q3's failed); requested on 4 tickets
    assert (auto["answers_sent"], auto["tickets_handled"], auto["decisions"]) == (3, 4, 0)
    assert rows["tu.van"]["label"] == "tu.van" and rows["tu.van"]["answers_sent"] == 2
    assert result.members[AUTOMATIC_ACTOR]["first_actions"] == set(engine.found.values())  # type: ignore[attr-defined]


def test_quality_shows_the_share_of_questions_answered_automatically(engine: Engine) -> None:
    result = report(engine, "quality")
    total = result.total
    assert total is not None
    found = engine.found  # type: ignore[attr-defined]
    # Questions opened in March: T1, T3, q1, q2, q3; answered automatically: q1, q2 (q3's failed, c1 is a complaint)
    assert (total["questions"], total["auto_answered"]) == (5, 2)
    assert total["auto_answered_share"] == pytest.approx(2 / 5)
    assert result.members["*"]["auto_answered_share"] == {found["q1"], found["q2"]}
    by_province = rows_by_group(report(engine, "quality", "province"))
    assert (by_province["79"]["questions"], by_province["79"]["auto_answered"], by_province["79"]["auto_answered_share"]) == (2, 1, 0.5)
    assert by_province["79"]["auto_answered_share"] == 0.5
    complaints = rows_by_group(report(engine, "quality", "category"))["complaint"]
    assert (complaints["questions"], complaints["auto_answered"], complaints["auto_answered_share"]) == (0, 0, None)
