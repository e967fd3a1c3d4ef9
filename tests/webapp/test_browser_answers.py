"""Answering citizens and the question bank in a real browser (Debian's chromium via
Playwright) against a real `tiepnhan web` on loopback, aiosmtpd receiving the answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select

from qbank.entry import load_jsonl_bank
from qbank.models import BankEntryRow, BankEntryVersion
from tests.escalation.conftest import citizen_email, ingest_email
from tests.qbank.conftest import BANK_FILE
from tests.webapp.browser import PASSWORD, Site, browser, log_in, site  # noqa: F401  (fixtures)
from tests.webapp.test_browser import _axe_problems
from tickets.answer_models import Answer
from tickets.db import session_scope
from tiepnhan import runtime

AGENT = "tuvan"
CITIZEN = "Lê Văn Tám <tam@dan.localhost>"
LOST_CARD = ("Hỏi về thẻ BHYT", "Chào anh chị,\nTôi làm mất thẻ bảo hiểm y tế, xin hỏi cấp lại ở đâu ạ?\nLê Văn Tám")
RECRUITMENT = ("Hỏi", "Năm nay BHXH có thi tuyển viên chức không, khi nào thi?")


@dataclass
class Bank:
    site: Site
    questions: dict[str, int]


@pytest.fixture(scope="module")
def bank(site: Site) -> Iterator[Bank]:  # noqa: F811
    from access.users import create_user
    from qbank.store import save_entries
    from tickets.directory import routing

    engine = runtime.engine()
    with session_scope(engine) as session:
        save_entries(session, load_jsonl_bank(str(BANK_FILE)), "nhap")
    create_user(engine, AGENT, "agent", known_units=[u.id for u in routing(runtime.settings()).units.units], password=PASSWORD, display_name="Đỗ Thị Tư Vấn")
    questions = {}
    for name, (subject, body) in (("lost", LOST_CARD), ("lost-nojs", LOST_CARD), ("recruit", RECRUITMENT), ("axe", LOST_CARD)):
        ticket_id = ingest_email(citizen_email(subject, body, message_id=f"{name}@dan.localhost", sender=CITIZEN))
        assert ticket_id is not None
        questions[name] = ticket_id
    yield Bank(site, questions)


def answers_of(ticket_id: int) -> list[Answer]:
    with session_scope(runtime.engine()) as session:
        found = list(session.exec(select(Answer).where(Answer.ticket_id == ticket_id).order_by(Answer.id)))  # type: ignore[arg-type]
        for a in found:
            session.expunge(a)
        return found


def entry(key: str) -> BankEntryRow:
    with session_scope(runtime.engine()) as session:
        row = session.exec(select(BankEntryRow).where(BankEntryRow.key == key)).one()
        session.expunge(row)
        return row


def mails_to(site: Site, address: str) -> list[Any]:
    return [m for m in site.smtp.received if address in m.recipients]


def wait_for_mail(site: Site, address: str, count: int) -> list[Any]:
    import time

    deadline = time.monotonic() + 10
    while len(mails_to(site, address)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return mails_to(site, address)


def answer_with_the_first_suggestion(page: Any, ticket_id: int, addition: str) -> str:
    page.goto(f"/tickets/{ticket_id}")
    suggestion = page.locator("ol.suggestions li").first
    assert "q48" in suggestion.inner_text() and "độ phù hợp" in suggestion.inner_text() and "Từ khớp" in suggestion.inner_text()
    suggestion.get_by_role("button", name="Dùng câu trả lời này").click()
    page.wait_for_url(re.compile(rf"/tickets/{ticket_id}\?use=q48"))
    box = page.get_by_label("Nội dung trả lời")
    draft = box.input_value()
    assert draft.strip() == entry("q48").answer.strip()
    box.fill(draft + "\n" + addition)
    page.get_by_role("button", name="Gửi cho công dân").click()
    page.wait_for_url(re.compile(rf"/tickets/{ticket_id}(#answers)?$"))
    return draft


def test_an_agent_answers_a_question_from_a_suggested_entry_and_the_citizen_gets_it(browser: Any, bank: Bank) -> None:  # noqa: F811
    site, ticket_id = bank.site, bank.questions["lost"]
    visit = log_in(browser, site, AGENT)
    page = visit.page
    before = len(mails_to(site, "tam@dan.localhost"))
    addition = "Bạn cũng có thể đề nghị cấp lại trên ứng dụng VssID."
    answer_with_the_first_suggestion(page, ticket_id, addition)
    assert "Đã gửi câu trả lời cho công dân." in page.locator(".flash-success").inner_text()
    item = page.locator("article.answer-item")
    assert item.count() == 1 and "Đã gửi" in item.locator(".status").inner_text() and addition in item.inner_text()
    mails = wait_for_mail(site, "tam@dan.localhost", before + 1)
    assert len(mails) == before + 1
    body = mails[-1].message.get_body(preferencelist=("plain",)).get_content()
    assert addition in body and body.lstrip().startswith("Kính gửi Lê Văn Tám,")
    (answer,) = answers_of(ticket_id)
    assert (answer.status, answer.author, answer.entry_id) == ("sent", AGENT, entry("q48").id)
    assert not visit.dialogs and not visit.console_errors
    visit.page.context.close()


def test_the_answer_works_with_javascript_disabled(browser: Any, bank: Bank) -> None:  # noqa: F811
    site, ticket_id = bank.site, bank.questions["lost-nojs"]
    context = browser.new_context(java_script_enabled=False, base_url=site.url, locale="vi-VN")
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(AGENT)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{site.url}/")
    answer_with_the_first_suggestion(page, ticket_id, "Trả lời khi trình duyệt tắt JavaScript.")
    assert "Đã gửi" in page.locator("article.answer-item .status").inner_text()
    assert [a.status for a in answers_of(ticket_id)] == ["sent"]
    context.close()


def test_a_free_answer_is_saved_as_a_draft_entry_in_one_click(browser: Any, bank: Bank) -> None:  # noqa: F811
    site, ticket_id = bank.site, bank.questions["recruit"]
    visit = log_in(browser, site, AGENT)
    page = visit.page
    page.goto(f"/tickets/{ticket_id}")
    text = "Năm nay BHXH Việt Nam chưa có kế hoạch thi tuyển viên chức; thông báo sẽ đăng trên baohiemxahoi.gov.vn."
    page.get_by_label("Nội dung trả lời").fill(text)
    page.get_by_role("button", name="Gửi cho công dân").click()
    assert "Đã gửi câu trả lời" in page.locator(".flash-success").inner_text()
    page.get_by_role("button", name="Lưu thành câu hỏi mẫu (nháp)").click()
    flash = page.locator(".flash-success").inner_text()
    key = re.search(r"mục nháp (\S+)", flash)
    assert key, flash
    draft = entry(key.group(1))
    assert (draft.status, draft.answer, draft.changed_by) == ("draft", text, AGENT)
    assert "thi tuyển viên chức" in draft.question
    assert page.get_by_role("button", name="Lưu thành câu hỏi mẫu (nháp)").count() == 0
    assert not visit.dialogs and not visit.console_errors
    visit.page.context.close()


def test_a_coordinator_edits_an_entry_and_sees_the_new_version(browser: Any, bank: Bank) -> None:  # noqa: F811
    site = bank.site
    visit = log_in(browser, site, site.users["coordinator"])
    page = visit.page
    page.get_by_role("link", name="Ngân hàng câu hỏi").click()
    page.get_by_role("searchbox").fill("luong huu")  # tone marks not needed
    page.get_by_role("button", name="Tìm", exact=True).click()
    first = page.locator("table tbody tr td.ref a").first
    key = first.inner_text()
    assert key != "q48" and page.locator("table tbody tr").count() >= 1
    first.click()
    row = entry(key)
    page.wait_for_url(f"{site.url}/bank/{row.id}")
    assert page.locator("li.version").count() == 1
    legal = "Luật Bảo hiểm y tế; Nghị định 146/2018/NĐ-CP"
    page.get_by_label("Căn cứ pháp lý").fill(legal)
    page.get_by_label("Trạng thái").select_option("retired")
    page.get_by_role("button", name="Lưu phiên bản mới").click()
    assert f"Đã lưu phiên bản {row.version + 1}" in page.locator(".flash-success").inner_text()
    versions = page.locator("li.version")
    assert versions.count() == 2
    newest = versions.first.inner_text()
    assert f"Phiên bản {row.version + 1}" in newest and site.users["coordinator"] in newest and "căn cứ pháp lý" in newest
    saved = entry(key)
    assert (saved.legal_basis, saved.status, saved.changed_by) == (legal, "retired", site.users["coordinator"])
    with session_scope(runtime.engine()) as session:
        assert len(session.exec(select(BankEntryVersion).where(BankEntryVersion.entry_id == row.id)).all()) == 2
    assert not visit.dialogs and not visit.console_errors
    visit.page.context.close()


def test_an_office_is_refused_the_bank_pages(browser: Any, bank: Bank) -> None:  # noqa: F811
    site = bank.site
    page = log_in(browser, site, "bhxh79").page
    row = entry("q48")
    for path in ("/bank", f"/bank/{row.id}", "/bank/clusters"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        assert row.question not in page.content()
    assert page.get_by_role("link", name="Ngân hàng câu hỏi").count() == 0
    page.context.close()


def test_the_new_pages_have_no_serious_accessibility_violations(browser: Any, bank: Bank) -> None:  # noqa: F811
    site = bank.site
    problems: dict[str, list[str]] = {}
    coordinator = log_in(browser, site, site.users["coordinator"], bypass_csp=True)
    for path in ("/bank", f"/bank/{entry('q48').id}", "/bank/clusters", f"/tickets/{bank.questions['axe']}?use=q48"):
        coordinator.page.goto(path)
        problems[f"coordinator {path}"] = _axe_problems(coordinator.page)
    coordinator.page.context.close()
    agent = log_in(browser, site, AGENT, bypass_csp=True)
    for path in (f"/tickets/{bank.questions['axe']}", f"/tickets/{bank.questions['recruit']}"):
        agent.page.goto(path)
        assert agent.page.locator("#answer-form").count() == 1
        problems[f"agent {path}"] = _axe_problems(agent.page)
    agent.page.context.close()
    assert {k: v for k, v in problems.items() if v} == {}
    assert len(problems) == 6
