"""Answering the citizen from the ticket page, over real HTTP (uvicorn on loopback) with
aiosmtpd as the mail server: the bank's suggestions, an entry's draft without JavaScript,
sending, the status on the page, refusals that keep what was typed, save-as-draft once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import httpx
import pytest
from sqlmodel import select

from config.settings import Settings
from qbank.entry import load_jsonl_bank
from qbank.models import BankEntryRow
from qbank.store import save_entries
from tests.escalation.conftest import citizen_email, ingest_email
from tests.escalation.smtp_server import SmtpCapture
from tests.qbank.conftest import BANK_FILE
from tests.webapp.server import Scenario, logged_in, serve
from tickets.answer_models import Answer
from tickets.db import session_scope
from tickets.models import Ticket, TicketEvent
from tiepnhan import runtime

QUESTION = ("Hỏi về thẻ BHYT", "Chào anh chị,\nTôi làm mất thẻ bảo hiểm y tế, xin hỏi cấp lại ở đâu ạ? Số CCCD của tôi là 079123456789.\nTrân trọng,\nLê Văn Tám")
FREE_QUESTION = ("Hỏi", "Năm nay BHXH có thi tuyển viên chức không, khi nào thi? Số điện thoại của tôi 0912 345 678.")


@pytest.fixture
def site(scenario: tuple[Settings, Scenario], smtp: SmtpCapture, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
    with session_scope(runtime.engine()) as session:
        save_entries(session, load_jsonl_bank(str(BANK_FILE)), "nhap")
    with serve(scenario[0]) as url:
        smtp.received.clear()
        yield url


def answers_of(ticket_id: int) -> list[Answer]:
    with session_scope(runtime.engine()) as session:
        found = list(session.exec(select(Answer).where(Answer.ticket_id == ticket_id).order_by(Answer.id)))  # type: ignore[arg-type]
        for a in found:
            session.expunge(a)
        return found


def textarea(page: str) -> str:
    found = re.search(r'<textarea id="citizen-answer-text"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, "no answer form on the page"
    return unescape(found.group(1))


def hidden(page: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert found, name
    return unescape(found.group(1))


def form(client: httpx.Client, page: str, text: str, **extra: str) -> dict[str, str]:
    return {"text": text, "mode": hidden(page, "mode"), "entry_id": hidden(page, "entry_id"), "last_answer": hidden(page, "last_answer"), "csrftoken": client.cookies["csrftoken"]} | extra


def test_an_agent_answers_from_a_suggested_entry_and_the_citizen_gets_the_mail(site: str, smtp: SmtpCapture) -> None:
    ticket_id = ingest_email(citizen_email(*QUESTION, message_id="hoi-the@dan.localhost", sender="Lê Văn Tám <tam@dan.localhost>"))
    assert ticket_id is not None
    agent = logged_in(site, "tuvan")
    page = agent.get(f"/tickets/{ticket_id}").text
    assert "Trả lời công dân" in page and "Dùng câu trả lời này" in page
    assert re.search(r"\(q48, độ phù hợp \d\.\d\d\)", page) and "Từ khớp:" in page
    assert "Kính gửi Lê Văn Tám," in page  # the greeting's preview, with the citizen's name
    assert textarea(page) == "" and hidden(page, "entry_id") == ""

    # "Dùng câu trả lời này" is a plain GET: the form comes back filled with the entry's draft
    picked = agent.get(f"/tickets/{ticket_id}", params={"use": "q48"}).text
    with session_scope(runtime.engine()) as session:
        q48 = session.exec(select(BankEntryRow).where(BankEntryRow.key == "q48")).one()
    assert textarea(picked) == q48.answer.strip() and hidden(picked, "entry_id") == str(q48.id)
    unknown = agent.get(f"/tickets/{ticket_id}", params={"use": "<khong-co>"}).text
    assert "Không có mục “&lt;khong-co&gt;” đã công bố" in unknown and textarea(unknown) == ""

    edited = textarea(picked) + "\nBạn có thể làm trên ứng dụng VssID."
    sent = agent.post(f"/tickets/{ticket_id}/answer", data=form(agent, picked, edited))
    assert sent.status_code == 303 and sent.headers["location"] == f"/tickets/{ticket_id}#answers"
    (answer,) = answers_of(ticket_id)
    assert (answer.status, answer.author, answer.entry_id, answer.automatic) == ("sent", "tuvan", q48.id, False)
    mails = smtp.wait_for(1)
    assert [m.recipients for m in mails] == [["tam@dan.localhost"]]
    body = mails[0].message.get_body(preferencelist=("plain",)).get_content()
    assert "ứng dụng VssID" in body and body.lstrip().startswith("Kính gửi Lê Văn Tám,")
    shown = agent.get(f"/tickets/{ticket_id}").text
    assert "Đã gửi câu trả lời cho công dân." in shown
    assert re.search(r'status-answer-sent">Đã gửi<', shown)
    assert "Lưu thành câu hỏi mẫu (nháp)" not in shown  # it came from an entry
    # the ticket now waits on the citizen: listed under that status, counted on the dashboard
    assert 'status-answered">Đã trả lời, chờ công dân<' in shown
    listed = agent.get("/tickets", params={"status": "answered"}).text
    assert f'href="/tickets/{ticket_id}"' in listed and '<option value="answered" selected>' in listed
    assert '<span class="value">1</span>Đã trả lời, chờ công dân</div>' in agent.get("/dashboard").text

    # the same form sent again (a second click) sends nothing more
    again = agent.post(f"/tickets/{ticket_id}/answer", data=form(agent, picked, edited))
    assert again.status_code == 303 and len(answers_of(ticket_id)) == 1 and len(smtp.received) == 1


def test_a_refused_answer_keeps_what_was_typed(site: str, smtp: SmtpCapture) -> None:
    ticket_id = ingest_email(citizen_email(*FREE_QUESTION, message_id="tuyen@dan.localhost"))
    assert ticket_id is not None
    agent = logged_in(site, "tuvan")
    page = agent.get(f"/tickets/{ticket_id}").text
    too_long = "Kính gửi <b>anh</b> " + "x" * 10_050
    refused = agent.post(f"/tickets/{ticket_id}/answer", data=form(agent, page, too_long))
    assert refused.status_code == 400
    assert "Chưa gửi: " in refused.text and "10000" in refused.text.replace(".", "").replace(",", "")
    assert textarea(refused.text) == too_long and "&lt;b&gt;anh&lt;/b&gt;" in refused.text
    empty = agent.post(f"/tickets/{ticket_id}/answer", data=form(agent, page, "   "))
    assert empty.status_code == 400 and "trống" in empty.text
    wrong_mode = agent.post(f"/tickets/{ticket_id}/answer", data=form(agent, page, "Trả lời", mode="zalo"))
    assert wrong_mode.status_code == 400 and textarea(wrong_mode.text) == "Trả lời"
    assert answers_of(ticket_id) == [] and smtp.received == []


def test_a_free_answer_is_saved_as_a_draft_entry_once(site: str, smtp: SmtpCapture) -> None:
    ticket_id = ingest_email(citizen_email(*FREE_QUESTION, message_id="tuyen-2@dan.localhost"))
    assert ticket_id is not None
    agent = logged_in(site, "tuvan")
    page = agent.get(f"/tickets/{ticket_id}").text
    body = "Năm nay BHXH Việt Nam chưa có kế hoạch thi tuyển viên chức; thông báo sẽ đăng trên baohiemxahoi.gov.vn."
    assert agent.post(f"/tickets/{ticket_id}/answer", data=form(agent, page, body, entry_id="987654")).status_code == 303  # no such entry
    (answer,) = answers_of(ticket_id)
    assert answer.status == "sent" and answer.entry_id is None and body in answer.text and answer.text != body
    shown = agent.get(f"/tickets/{ticket_id}").text
    assert "Lưu thành câu hỏi mẫu (nháp)" in shown
    with session_scope(runtime.engine()) as session:
        before = set(session.exec(select(BankEntryRow.key)))
    path = f"/tickets/{ticket_id}/answers/{answer.id}/draft"
    saved = agent.post(path, data={"csrftoken": agent.cookies["csrftoken"]})
    assert saved.status_code == 303
    with session_scope(runtime.engine()) as session:
        new = list(session.exec(select(BankEntryRow).where(BankEntryRow.key.not_in(before))))  # type: ignore[attr-defined]
        assert len(new) == 1
        draft = new[0]
        assert (draft.status, draft.answer, draft.changed_by) == ("draft", body, "tuvan")  # greeting and signature left out
        assert "thi tuyển viên chức" in draft.question and "0912" not in draft.question  # the phone number is hidden
        events = [e.kind for e in session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id))]
        assert "answer_saved_as_draft" in events
    after = agent.get(f"/tickets/{ticket_id}").text
    assert "Đã lưu thành mục nháp " + draft.key in after and "Lưu thành câu hỏi mẫu (nháp)" not in after
    assert agent.post(path, data={"csrftoken": agent.cookies["csrftoken"]}).status_code == 303  # once only
    with session_scope(runtime.engine()) as session:
        assert len(session.exec(select(BankEntryRow).where(BankEntryRow.key.not_in(before))).all()) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["vp79", "lanhdao", "quantri"])
def test_roles_that_do_not_answer_citizens_see_no_form_and_cannot_post(site: str, scenario: tuple[Settings, Scenario], smtp: SmtpCapture, name: str) -> None:
    ticket_id = scenario[1].hcm_ticket  # an office of province-79 sees this one
    client = logged_in(site, name)
    page = client.get(f"/tickets/{ticket_id}")
    assert page.status_code == 200 and 'id="answer-form"' not in page.text
    posted = client.post(f"/tickets/{ticket_id}/answer", data={"text": "Trả lời trái phép", "csrftoken": client.cookies["csrftoken"]})
    assert posted.status_code == 404
    assert answers_of(ticket_id) == [] and smtp.received == []
    with session_scope(runtime.engine()) as session:
        assert session.get(Ticket, ticket_id) is not None


def test_a_fanpage_comment_offers_the_choice_of_a_public_or_a_private_reply(site: str, smtp: SmtpCapture) -> None:
    from ingest.facebook.export import raw_inputs_from_graph_export
    from tickets.pipeline import process_raw_item_now
    from tiepnhan.intake import accept

    feed = {"page_id": "1122334455", "data": [{
        "id": "1122334455_99", "message": "Thông báo lịch chi trả lương hưu tháng 12",
        "comments": {"data": [{"id": "99_501", "message": "Cho em hỏi mất thẻ bảo hiểm y tế thì cấp lại ở đâu ạ?", "created_time": "2025-11-24T01:00:00+0000",
                               "from": {"id": "7001", "name": "Trần Thu Hà"}}]},
    }]}
    engine = runtime.engine()
    (saved,) = accept(engine, raw_inputs_from_graph_export(feed, "fanpage"), enqueue=False)
    outcome = process_raw_item_now(engine, saved.raw_item_id, runtime.settings().max_attachment_bytes)
    assert outcome is not None and outcome.ticket_id is not None
    ticket_id = outcome.ticket_id
    coordinator = logged_in(site, "dieuphoi")
    page = coordinator.get(f"/tickets/{ticket_id}").text
    modes = re.search(r'<select id="answer-mode" name="mode">(.*?)</select>', page, re.S)
    assert modes, "a comment can be answered two ways: the page asks which"
    assert re.findall(r'<option value="([^"]+)"', modes.group(1)) == ["comment_public", "comment_private"]
    assert "Chào Trần Thu Hà," in page  # the chat greeting's preview
    refused = coordinator.post(f"/tickets/{ticket_id}/answer", data={"text": "Trả lời", "mode": "email", "entry_id": "", "last_answer": "0", "csrftoken": coordinator.cookies["csrftoken"]})
    assert refused.status_code == 400 and "comment_public" in refused.text and textarea(refused.text) == "Trả lời"
    assert answers_of(ticket_id) == [] and smtp.received == []
