"""The web pages in a real browser (Debian's chromium via Playwright) against a real
`tiepnhan web` on loopback, with aiosmtpd as the units' mail server."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from tests.webapp.browser import (  # noqa: F401  (fixtures)
    DESKTOP,
    HOSTILE_BODY,
    HOSTILE_SUBJECT,
    PHONE,
    Site,
    browser,
    log_in,
    open_tab,
    screenshot,
    site,
)
from tickets.db import session_scope
from tickets.escalation_models import Escalation
from tickets.models import ticket_reference
from tiepnhan import runtime


def escalation(escalation_id: int) -> Escalation:
    with session_scope(runtime.engine()) as session:
        found = session.get(Escalation, escalation_id)
        assert found is not None
        session.expunge(found)
        return found


def escalations_of(ticket_id: int) -> list[Escalation]:
    with session_scope(runtime.engine()) as session:
        found = list(session.execute(select(Escalation).where(Escalation.ticket_id == ticket_id)).scalars())
        for item in found:
            session.expunge(item)
        return found


def test_coordinator_approves_the_unit_gets_the_mail_answers_on_the_page_and_the_coordinator_sees_it(browser: Any, site: Site) -> None:
    hcm = site.tickets["hcm"]
    assert escalation(site.escalations["hcm"]).status == "proposed"
    visit = log_in(browser, site, site.users["coordinator"])
    page = visit.page
    card = page.locator("article.queue-item", has_text=ticket_reference(hcm))
    assert card.count() == 1
    # the tags' evidence is highlighted in the citizen's text
    assert card.locator("mark.evidence", has_text="Thành phố Hồ Chí Minh").count() >= 1
    card.get_by_label("Ghi chú khi duyệt").fill("Đề nghị trả lời công dân trong tuần")
    card.get_by_role("button", name=re.compile("^Duyệt")).click()
    page.wait_for_url(f"{site.url}/tickets/{hcm}")
    flash = page.locator(".flash-success")
    assert "Đã duyệt" in flash.inner_text() and "đã được gửi" in flash.inner_text()
    mails = site.smtp.wait_for(1)
    assert len(mails) == 1
    assert mails[0].recipients == ["bhxh.hochiminh@donvi.localhost"]
    assert ticket_reference(hcm) in str(mails[0].message["Subject"])
    # the unit's mail links to the ticket's page (web.public_base_url)
    body = mails[0].message.get_body(preferencelist=("plain",)).get_content()
    assert f"{site.url}/tickets/{hcm}" in body
    assert escalation(site.escalations["hcm"]).status == "sent"
    assert escalation(site.escalations["hcm"]).decided_by == site.users["coordinator"]
    assert not visit.dialogs and not visit.console_errors

    # the office of province-79 sees it in its queue, opens the mail's link and answers
    office = log_in(browser, site, "bhxh79")
    office_card = office.page.locator("article.queue-item", has_text=ticket_reference(hcm))
    assert office_card.count() == 1
    assert office.page.locator("article.queue-item").count() == 1  # nothing of other provinces
    office.page.goto(f"{site.url}/tickets/{hcm}")
    answer = "Đơn vị đã liên hệ bà Bình, thẻ BHYT được cấp lại ngày 05/12/2025."
    office.page.get_by_label("Nội dung trả lời").fill(answer)
    office.page.get_by_role("button", name="Gửi trả lời").click()
    office.page.wait_for_url(f"{site.url}/tickets/{hcm}")
    assert "Đã gửi trả lời" in office.page.locator(".flash-success").inner_text()
    assert escalation(site.escalations["hcm"]).status == "acknowledged"
    assert not office.dialogs and not office.console_errors

    # the coordinator sees the answer on the ticket and the escalation acknowledged
    page.goto(f"/tickets/{hcm}")
    unit_answer = page.locator("article.message.unit-answer")
    assert unit_answer.count() == 1 and answer in unit_answer.inner_text()
    assert "Đơn vị đã phản hồi" in page.locator("aside").inner_text()
    page.goto("/")
    assert page.locator("article.queue-item", has_text=ticket_reference(hcm)).count() == 0


def test_an_office_never_reaches_another_provinces_ticket(browser: Any, site: Site) -> None:
    hanoi, attachment = site.tickets["hanoi"], site.attachments["hanoi"]
    # the office that got it opens it and downloads the attachment (never shown inline)
    page = log_in(browser, site, "bhxh01").page
    assert page.goto(f"/tickets/{hanoi}").status == 200, page.content()[:2000]
    assert "lương hưu" in page.locator("main").inner_text()
    answer = page.request.get(f"/attachments/{attachment}")
    assert answer.status == 200 and answer.body().startswith(b"%PDF-1.4")
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.headers["x-content-type-options"] == "nosniff"

    visit = log_in(browser, site, "bhxh79")
    page = visit.page
    for path in (f"/tickets/{hanoi}", f"/attachments/{attachment}"):
        response = page.goto(path) if path.startswith("/tickets") else page.request.get(path)
        assert response.status == 404, path
        assert b"luong huu" not in response.body().lower() and "lương hưu".encode() not in response.body()
    assert page.request.get(f"/api/tickets/{hanoi}").status == 404
    page.goto("/tickets?q=luong+huu")
    assert ticket_reference(hanoi) not in page.locator("main").inner_text()
    page.goto("/tickets?q=Ha+Noi")
    assert ticket_reference(hanoi) not in page.locator("main").inner_text()
    api_list = page.request.get("/api/tickets?q=luong%20huu").json()
    assert hanoi not in [t["id"] for t in api_list.get("tickets", api_list if isinstance(api_list, list) else [])]
    page.goto("/dashboard")
    assert "Hà Nội" not in page.locator("main").inner_text()


def test_a_forged_form_post_without_the_csrf_token_is_refused(browser: Any, site: Site) -> None:
    hostile = site.tickets["hostile"]
    page = log_in(browser, site, site.users["coordinator"]).page
    before = escalations_of(hostile)
    # logged in (the session cookie goes along), but the form carries no token
    answer = page.request.post(f"/tickets/{hostile}/escalate", form={"to": "province-79", "note": "giả mạo"})
    assert answer.status == 403
    assert escalations_of(hostile) == before
    # a page elsewhere that posts to the site is refused the same way
    page.set_content(
        f'<form method="post" action="{site.url}/tickets/{hostile}/escalate"><input name="to" value="province-79"></form>'
    )
    with page.expect_navigation():
        page.evaluate("document.forms[0].submit()")
    assert "bị từ chối" in page.content() or "/login" in page.url
    assert escalations_of(hostile) == before


def test_a_citizens_markup_is_shown_as_text_and_runs_nothing(browser: Any, site: Site) -> None:
    hostile = site.tickets["hostile"]
    # bypass_csp: the escaping alone must hold; the Content-Security-Policy is a second wall
    context = browser.new_context(viewport=DESKTOP, base_url=site.url, bypass_csp=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(site.users["coordinator"])
    page.get_by_label("Mật khẩu").fill("mat-khau-thu-nghiem-2025")
    page.get_by_role("button", name="Đăng nhập").click()
    for path in (f"/tickets/{hostile}", "/tickets", f"/tickets?q=thu+tuc+huong"):
        page.goto(path)
        page.wait_for_timeout(300)
        assert page.evaluate("typeof window.__pwned") == "undefined", path
        assert page.title() != "bị chiếm"
        assert page.locator("main script, main img").count() == 0
    page.goto(f"/tickets/{hostile}")
    text = page.locator("main").inner_text()
    assert "<script>window.__pwned = 1; alert('x')</script>" in text
    assert '<img src=x onerror="window.__pwned = 2; alert(\'y\')">' in text
    assert not dialogs
    assert HOSTILE_SUBJECT and HOSTILE_BODY
    context.close()


def _axe_problems(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def test_the_main_pages_have_no_serious_accessibility_violations(browser: Any, site: Site) -> None:
    # axe-core is injected by script: this context lets it past the pages' CSP
    problems: dict[str, list[str]] = {}
    for name, paths in (
        ("coordinator", ["/", "/tickets", f"/tickets/{site.tickets['hcm']}", f"/tickets/{site.tickets['hostile']}", "/escalations", "/dashboard"]),
        ("admin", ["/admin"]),
        ("office", ["/", f"/tickets/{site.tickets['hcm']}"]),
    ):
        visit = log_in(browser, site, site.users[name], bypass_csp=True)
        for path in paths:
            visit.page.goto(path)
            problems[f"{name} {path}"] = _axe_problems(visit.page)
        visit.page.context.close()
    anonymous = open_tab(browser, site, bypass_csp=True).page
    anonymous.goto("/login")
    problems["/login"] = _axe_problems(anonymous)
    assert {k: v for k, v in problems.items() if v} == {}
    assert len(problems) == 10


def test_screenshots_of_the_queue_a_ticket_and_the_dashboard(browser: Any, site: Site) -> None:
    from tests.escalation.conftest import citizen_email, ingest_email

    # a queue with something in it: two more complaints waiting for review
    for number, (subject, body) in enumerate((
        ("Phản ánh chưa được hưởng trợ cấp thất nghiệp", "Tôi ở phường Hải Châu, Đà Nẵng, nộp hồ sơ hưởng trợ cấp thất nghiệp đã 2 tháng nhưng vẫn chưa được giải quyết."),
        ("Khiếu nại bị từ chối thanh toán BHYT", "Bệnh viện ở Cần Thơ từ chối thanh toán BHYT khi tôi khám đúng tuyến, đề nghị BHXH kiểm tra."),
    )):
        assert ingest_email(citizen_email(subject, body, message_id=f"shot-{number}@dan.localhost"))
    saved = []
    for width_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = log_in(browser, site, site.users["coordinator"], viewport).page
        for name, path in (("queue", "/"), ("ticket", f"/tickets/{site.tickets['hcm']}"), ("tickets", "/tickets"), ("dashboard", "/dashboard")):
            page.goto(path)
            saved.append(screenshot(page, f"{name}-{width_name}"))
        # nothing wider than the screen on a phone: no sideways scrolling of the page
        if width_name == "phone":
            for path in ("/", f"/tickets/{site.tickets['hcm']}", "/dashboard"):
                page.goto(path)
                assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], path
        page.context.close()
    office = log_in(browser, site, "bhxh79").page
    saved.append(screenshot(office, "queue-office-desktop"))
    assert all(p.stat().st_size > 10_000 for p in saved)


def test_a_coordinator_corrects_tags_notes_assigns_resolves_and_reopens_from_the_page(browser: Any, site: Site) -> None:
    from tickets.action_models import TicketAssignment, TicketNote
    from tickets.models import Ticket

    hostile = site.tickets["hostile"]
    page = log_in(browser, site, site.users["coordinator"]).page
    page.goto(f"/tickets/{hostile}")
    form = page.locator("form[action$='/tags']")
    form.get_by_label("BHYT").check()
    form.get_by_label("Tỉnh").select_option("48")
    form.get_by_label("Loại thư").select_option("complaint")
    form.get_by_role("button").click()
    assert "Đã sửa nhãn" in page.locator(".flash-success").inner_text()
    page.get_by_label("Ghi chú (người dân không thấy)").fill("Gọi lại cho công dân <b>chiều nay</b>")
    page.get_by_role("button", name="Thêm ghi chú").click()
    assert "Đã thêm ghi chú" in page.locator(".flash-success").inner_text()
    page.locator("form[action$='/assign']").get_by_label("Người nhận").select_option(site.users["coordinator"])
    page.get_by_role("button", name="Giao việc").click()
    page.get_by_role("button", name="Đã giải quyết").click()
    assert "Đã giải quyết" in page.locator(".flash-success").inner_text()
    page.get_by_role("button", name="Mở lại").click()
    assert "Đã mở lại" in page.locator(".flash-success").inner_text()
    assert "Gọi lại cho công dân <b>chiều nay</b>" in page.locator("li.note").inner_text()  # shown as text
    events = page.locator("aside").inner_text()
    assert site.users["coordinator"] in events
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, hostile)
        assert ticket is not None and ticket.tags_locked and ticket.province_code == "48" and ticket.category == "complaint"
        assert "BHYT" in ticket.insurance_types and ticket.status not in ("resolved", "closed")
        notes = list(session.execute(select(TicketNote.text).where(TicketNote.ticket_id == hostile)).scalars())
        assert notes == ["Gọi lại cho công dân <b>chiều nay</b>"]
        assignment = session.get(TicketAssignment, hostile)
        assert assignment is not None and assignment.assignee == site.users["coordinator"]
    # a bad form is refused with a message, and nothing changes
    answer = page.request.post(f"/tickets/{hostile}/merge", form={"into": "không phải số", "csrftoken": page.locator("input[name=csrftoken]").first.input_value()})
    assert answer.ok and "là một số" in answer.text()


def test_an_office_acknowledges_then_hands_a_ticket_back_and_loses_sight_of_it(browser: Any, site: Site) -> None:
    hanoi, hanoi_escalation = site.tickets["hanoi"], site.escalations["hanoi"]
    office = log_in(browser, site, "bhxh01").page
    office.goto(f"/tickets/{hanoi}")
    office.get_by_role("button", name="Đã nhận").click()
    assert "đã nhận" in office.locator(".flash-success").inner_text()
    assert escalation(hanoi_escalation).status == "acknowledged"
    office.get_by_label("Lý do, đơn vị nên nhận").fill("Công dân hưởng lương hưu tại Bắc Ninh")
    office.get_by_role("button", name="Đề nghị chuyển lại").click()
    assert "Đã trả lại trung tâm" in office.locator(".flash-success").inner_text()
    assert escalation(hanoi_escalation).status == "proposed"
    assert office.goto(f"/tickets/{hanoi}").status == 404
    coordinator = log_in(browser, site, site.users["coordinator"]).page
    card = coordinator.locator("article.queue-item", has_text=ticket_reference(hanoi))
    assert card.count() == 1
