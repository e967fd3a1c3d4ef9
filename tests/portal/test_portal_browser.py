"""The portal form in a real browser (Debian's chromium via Playwright) against a real `tiepnhan web`
on loopback: a citizen on a phone, with JavaScript off, asks a question with an attachment and
sees the reference; the coordinator sees the ticket; the lookup shows its status; the pages pass
axe's serious checks; a scripted flood is answered 429."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.webapp.browser import PHONE, Site, browser, log_in, open_tab, screenshot, site  # noqa: F401  (fixtures)
from tests.webapp.test_browser import _axe_problems

BODY = "Tôi làm việc ở Đà Nẵng, công ty chưa chốt sổ BHXH khi tôi nghỉ việc. Cho tôi hỏi phải làm gì để được chốt sổ?"


def test_a_citizen_asks_without_javascript_sees_the_reference_and_the_coordinator_sees_the_ticket(browser: Any, site: Site, tmp_path: Any) -> None:
    scan = tmp_path / "quyet-dinh-nghi-viec.pdf"
    scan.write_bytes(b"%PDF-1.4 quyet dinh nghi viec\n")
    context = browser.new_context(viewport=PHONE, locale="vi-VN", base_url=site.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/hoi-dap")
    page.get_by_label("Họ và tên").fill("Võ Thị Mai")
    page.get_by_label("Thư điện tử").fill("mai@dan.localhost")
    page.get_by_label("Tỉnh, thành phố").select_option("48")
    page.get_by_label("Loại bảo hiểm").select_option("BHXH")
    page.get_by_label("Tiêu đề").fill("Công ty chưa chốt sổ & nợ \"BHXH\" <3 tháng")
    page.get_by_label("Nội dung câu hỏi").fill(BODY)
    page.get_by_label("Tệp đính kèm").set_input_files(str(scan))
    screenshot(page, "portal-form-phone")
    page.wait_for_timeout(3_200)  # a person takes longer than portal.min_fill_seconds (3 s)
    page.get_by_role("button", name="Gửi câu hỏi").click()
    page.wait_for_url(re.compile(r".*/hoi-dap/da-nhan\?t="))
    reference = page.locator(".portal-reference").inner_text()
    code = page.locator(".portal-code").inner_text()
    assert re.fullmatch(r"TN-\d{6}", reference) and re.fullmatch(r"[A-Z2-7]{4}-[A-Z2-7]{4}", code)
    assert "thư điện tử" in page.locator("main").inner_text()
    screenshot(page, "portal-done-phone")
    # The lookup page, still without JavaScript.
    page.goto("/hoi-dap/tra-cuu")
    page.get_by_label("Mã phiếu").fill(reference)
    page.get_by_label("Mã bí mật").fill(code)
    page.get_by_role("button", name="Tra cứu").click()
    assert page.locator("h2", has_text=reference).count() == 1 and page.locator(".portal-status").inner_text()
    assert 'Công ty chưa chốt sổ & nợ "BHXH" <3 tháng' in page.locator("main").inner_text()  # shown as the text it is
    context.close()
    # The coordinator finds it in the work and opens it.
    coordinator = log_in(browser, site, site.users["coordinator"]).page
    coordinator.goto(f"/tickets/{int(reference[3:])}")
    text = coordinator.locator("main").inner_text()
    assert reference in text and "chưa chốt sổ" in text and "quyet-dinh-nghi-viec.pdf" in text
    coordinator.context.close()


def test_the_portal_pages_pass_axe(browser: Any, site: Site) -> None:
    page = open_tab(browser, site, PHONE, bypass_csp=True).page
    problems = {}
    for path in ("/hoi-dap", "/hoi-dap/tra-cuu"):
        page.goto(path)
        problems[path] = _axe_problems(page)
    page.context.close()
    assert problems == {"/hoi-dap": [], "/hoi-dap/tra-cuu": []}


def test_a_scripted_flood_is_answered_429(browser: Any, site: Site) -> None:
    statuses = []
    for number in range(8):
        with httpx.Client(base_url=site.url, timeout=30) as client:
            form = client.get("/hoi-dap").text
            token = re.search(r'name="form_token" value="([^"]+)"', form)
            assert token is not None
            answer = client.post("/hoi-dap", data={"csrftoken": client.cookies["csrftoken"], "form_token": token.group(1), "email": f"may{number}@dan.localhost",
                                                   "body": f"Câu hỏi tự động số {number} về BHXH"})
            statuses.append(answer.status_code)
    # Every attempt from one client address counts (these are refused anyway: sent faster than a
    # person fills the form); past portal.max_per_ip the answer is 429, whatever the form holds.
    assert set(statuses) <= {400, 429} and statuses.count(429) >= 3
    first = statuses.index(429)
    assert statuses[first:] == [429] * (len(statuses) - first)
