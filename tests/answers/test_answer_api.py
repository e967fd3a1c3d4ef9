"""POST /api/tickets/{id}/answer over real HTTP (uvicorn on loopback), with the web app's scoping:
an agent or a coordinator answers (202), an office or a manager may not (403 on what they see,
404 on what they do not), bad input is a Vietnamese 400 and stores nothing."""

from __future__ import annotations

from contextlib import closing

import httpx
from sqlalchemy import select

from config.settings import Settings
from tests.escalation.conftest import escalation_settings, smtp  # noqa: F401  (fixtures)
from tests.escalation.smtp_server import SmtpCapture
from tests.webapp.conftest import base_url, scenario, web_settings  # noqa: F401  (fixtures)
from tests.webapp.server import Scenario, logged_in
from tickets.answer_models import Answer
from tickets.db import session_scope
from tickets.models import Ticket, TicketEvent
from tiepnhan import runtime


def _post(client: httpx.Client, ticket_id: int, body: object) -> httpx.Response:
    return client.post(f"/api/tickets/{ticket_id}/answer", json=body, headers={"x-csrftoken": client.cookies["csrftoken"]})


def _answers() -> list[tuple[int, str, str]]:
    with session_scope(runtime.engine()) as session:
        return [(t, a, s) for t, a, s in session.execute(select(Answer.ticket_id, Answer.author, Answer.status).order_by(Answer.id)).all()]


def _answer_mails(smtp: SmtpCapture) -> list[str]:  # noqa: F811
    return [r.recipients[0] for r in smtp.received if r.message["Message-ID"].startswith("<tiepnhan.answer.")]


def test_an_agent_answers_and_the_ticket_is_answered(scenario: tuple[Settings, Scenario], base_url: str, smtp: SmtpCapture) -> None:  # noqa: F811
    _, found = scenario
    with closing(logged_in(base_url, "tuvan")) as agent:
        response = _post(agent, found.hcm_ticket, {"text": "Hồ sơ của ông/bà đã được chuyển BHXH TP.HCM xử lý."})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "sent" and isinstance(body["answer"], int)
    assert _answer_mails(smtp) == ["an@dan.localhost"]
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, found.hcm_ticket)
        assert ticket is not None and ticket.status == "answered" and ticket.first_response_at is not None
        [event] = session.execute(select(TicketEvent).where(TicketEvent.ticket_id == found.hcm_ticket, TicketEvent.kind == "answer_sent")).scalars().all()
    assert event.actor == "tuvan" and event.data["answer_id"] == body["answer"]


def test_a_coordinator_may_answer(scenario: tuple[Settings, Scenario], base_url: str, smtp: SmtpCapture) -> None:  # noqa: F811
    _, found = scenario
    with closing(logged_in(base_url, "dieuphoi")) as coordinator:
        response = _post(coordinator, found.hanoi_ticket, {"text": "Trả lời.", "mode": "email"})
    assert response.status_code == 202, response.text
    assert _answer_mails(smtp) == ["binh@dan.localhost"]


def test_office_and_manager_are_refused(scenario: tuple[Settings, Scenario], base_url: str, smtp: SmtpCapture) -> None:  # noqa: F811
    _, found = scenario
    with closing(logged_in(base_url, "vp79")) as office:
        own = _post(office, found.hcm_ticket, {"text": "Trả lời."})
        other = _post(office, found.hanoi_ticket, {"text": "Trả lời."})
    assert own.status_code == 403 and "trả lời công dân" in own.json()["error"]
    assert other.status_code == 404  # another province's ticket: not even its existence is shown
    with closing(logged_in(base_url, "lanhdao")) as manager:
        assert _post(manager, found.hcm_ticket, {"text": "Trả lời."}).status_code == 403
    with httpx.Client(base_url=base_url) as anonymous:
        assert anonymous.post(f"/api/tickets/{found.hcm_ticket}/answer", json={"text": "x"}).status_code in (401, 403)
    assert _answers() == [] and _answer_mails(smtp) == []


def test_bad_input_is_a_vietnamese_400_and_nothing_is_stored(scenario: tuple[Settings, Scenario], base_url: str, smtp: SmtpCapture) -> None:  # noqa: F811
    _, found = scenario
    with closing(logged_in(base_url, "tuvan")) as agent:
        empty = _post(agent, found.hcm_ticket, {"text": "   \n"})
        missing = _post(agent, found.hcm_ticket, {})
        wrong_type = _post(agent, found.hcm_ticket, {"text": ["a"]})
        wrong_mode = _post(agent, found.hcm_ticket, {"text": "x", "mode": "zalo"})
        no_entry = _post(agent, found.hcm_ticket, {"text": "x", "entry_id": 999})
        too_long = _post(agent, found.hcm_ticket, {"text": "a" * 10_001})
        not_json = agent.post(f"/api/tickets/{found.hcm_ticket}/answer", content=b"{", headers={"x-csrftoken": agent.cookies["csrftoken"], "content-type": "application/json"})
        unknown = _post(agent, 999_999, {"text": "x"})
    assert empty.status_code == missing.status_code == 400 and empty.json()["error"] == "nội dung trả lời trống"
    assert wrong_type.status_code == 400 and "chuỗi" in wrong_type.json()["error"]
    assert wrong_mode.status_code == 400 and "'zalo'" in wrong_mode.json()["error"]
    assert no_entry.status_code == 400 and "999" in no_entry.json()["error"]
    assert too_long.status_code == 400 and "10000" in too_long.json()["error"]
    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]
    assert unknown.status_code == 404
    assert _answers() == [] and _answer_mails(smtp) == []
