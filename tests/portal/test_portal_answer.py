"""Answering a portal ticket (issue 18) over real HTTP: an agent answers by POST
/api/tickets/{id}/answer; the answer is on the lookup page (escaped) and, when the question gave an
address, mailed to it (aiosmtpd) so the citizen's reply threads back. A call ticket has no written
answer: its refusal says why, in Vietnamese."""

from __future__ import annotations

from contextlib import closing

import httpx
import pytest
from sqlalchemy import select

from tests.escalation.conftest import ingest_email
from tests.escalation.smtp_server import Received
from tests.portal.conftest import API_KEY, Portal, form_client
from tests.portal.test_portal_web import tagged
from tests.webapp.server import add_users, logged_in
from tickets.answer_models import Answer
from tickets.answering import answer_modes
from tickets.db import session_scope
from tickets.models import Ticket
from tiepnhan import runtime

ANSWER = "Mức hưởng bằng 60% bình quân tiền lương <b>6 tháng</b> liền kề & tối đa 5 lần lương tối thiểu vùng."
ESCAPED = "60% bình quân tiền lương &lt;b&gt;6 tháng&lt;/b&gt; liền kề &amp; tối đa"


def ask(portal: Portal, client_id: str, email: str | None) -> dict[str, str]:
    body = {"client_id": client_id, "name": "Trần Văn Bình", "phone": "0912345678",
            "body": "Cho tôi hỏi mức hưởng trợ cấp thất nghiệp được tính thế nào?"}
    if email:
        body["email"] = email
    response = httpx.post(f"{portal.url}/api/portal/questions", json=body, headers={"authorization": f"Bearer {API_KEY}"}, timeout=30)
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    tagged(int(created["ticket"][3:]))
    return created


@pytest.fixture
def portal_site(portal_site: Portal) -> Portal:  # noqa: F811  (the portal with the web app's users)
    add_users()
    return portal_site


def answer_by_agent(portal: Portal, ticket_id: int, text: str = ANSWER) -> httpx.Response:
    with closing(logged_in(portal.url, "tuvan")) as agent:
        return agent.post(f"/api/tickets/{ticket_id}/answer", json={"text": text}, headers={"x-csrftoken": agent.cookies["csrftoken"]})


def lookup(portal: Portal, reference: str, code: str) -> str:
    client, _tokens = form_client(portal.url)
    with closing(client):
        page = client.post("/hoi-dap/tra-cuu", data={"csrftoken": client.cookies["csrftoken"], "reference": reference, "code": code})
    assert page.status_code == 200, page.text
    return page.text


def answer_mails(portal: Portal) -> list[Received]:
    return [r for r in portal.smtp.received if r.message["Message-ID"].startswith("<tiepnhan.answer.")]


def test_a_portal_answer_with_an_address_is_mailed_published_and_the_reply_threads_back(portal_site: Portal) -> None:
    created = ask(portal_site, "tra-loi-1", "binh@dan.localhost")
    ticket_id = int(created["ticket"][3:])
    response = answer_by_agent(portal_site, ticket_id)
    assert response.status_code == 202, response.text
    assert (response.json()["status"], response.json()["mode"]) == ("sent", "portal")
    [mail] = answer_mails(portal_site)
    assert mail.recipients == ["binh@dan.localhost"]
    assert str(mail.message["Subject"]) == f"Trả lời câu hỏi [{created['ticket']}]"
    assert portal_site.settings.smtp is not None and portal_site.settings.smtp.from_address in str(mail.message["From"])
    body = mail.message.get_body(("plain",)).get_content()
    assert "<b>6 tháng</b>" in body  # the plain part as written; the HTML part escapes it
    assert "&lt;b&gt;6 tháng&lt;/b&gt;" in mail.message.get_body(("html",)).get_content()
    page = lookup(portal_site, created["ticket"], created["secret_code"])
    assert ESCAPED in page and "<b>6 tháng</b>" not in page
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "answered"
    # The citizen answers the mail: it threads into the ticket by its In-Reply-To.
    from email.message import EmailMessage

    reply = EmailMessage()
    reply["From"] = "Trần Văn Bình <binh@dan.localhost>"
    reply["To"] = portal_site.settings.smtp.from_address
    reply["Subject"] = "Re: câu trả lời"  # no reference: only the In-Reply-To can thread it
    reply["Message-ID"] = "<tra-loi-lai-1@dan.localhost>"
    reply["In-Reply-To"] = mail.message["Message-ID"]
    reply["Date"] = "Thu, 04 Dec 2025 08:00:00 +0700"
    reply.set_content("Cảm ơn, cho tôi hỏi thêm về thời hạn nộp hồ sơ.")
    assert ingest_email(bytes(reply)) == ticket_id


def test_a_portal_answer_without_an_address_is_only_published(portal_site: Portal) -> None:
    created = ask(portal_site, "tra-loi-2", None)
    ticket_id = int(created["ticket"][3:])
    assert "Chưa có câu trả lời" in lookup(portal_site, created["ticket"], created["secret_code"])
    with closing(logged_in(portal_site.url, "tuvan")) as agent:  # the ticket page offers the answer form
        page = agent.get(f"/tickets/{ticket_id}").text
    assert '<input type="hidden" name="mode" value="portal">' in page and "Trả lời trên cổng thông tin" in page
    response = answer_by_agent(portal_site, ticket_id)
    assert response.status_code == 202 and response.json()["status"] == "sent", response.text
    assert answer_mails(portal_site) == []
    page = lookup(portal_site, created["ticket"], created["secret_code"])
    assert ESCAPED in page and "<b>6 tháng</b>" not in page
    with session_scope(runtime.engine()) as session:
        [answer] = session.execute(select(Answer).where(Answer.ticket_id == ticket_id)).scalars().all()
        assert (answer.mode, answer.status) == ("portal", "sent")


def test_a_call_ticket_has_no_written_answer_and_says_why(portal_site: Portal) -> None:
    with session_scope(runtime.engine()) as session:
        call = Ticket(channel="call", source="tongdai", subject="Cuộc gọi 0912345678", sender_address="0912345678", message_count=1)
        session.add(call)
        session.flush()
        call_id = call.id
        assert answer_modes(call) == []
    assert call_id is not None
    response = answer_by_agent(portal_site, call_id, "Trả lời.")
    assert response.status_code == 400
    assert "phiếu từ tổng đài: trả lời qua điện thoại" in response.json()["error"]
    with session_scope(runtime.engine()) as session:
        assert session.execute(select(Answer).where(Answer.ticket_id == call_id)).first() is None
