"""A manager in Debian's chromium (Playwright), JavaScript off: opens the monthly report, clicks a
figure, finds exactly that many tickets; downloads the XLSX and reads it back; and axe finds no
serious accessibility problem on the reports page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.reports.web_site import ReportSite, report_site  # noqa: F401  (fixture)
from tests.webapp.browser import browser  # noqa: F401  (fixture: Debian's chromium)
from tests.webapp.browser import DESKTOP
from tests.webapp.server import PASSWORD
from tests.webapp.test_browser import _axe_problems


def _log_in(browser: Any, site: ReportSite, name: str, *, javascript: bool = True, bypass_csp: bool = False) -> Any:  # noqa: F811
    context = browser.new_context(
        viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", base_url=site.url, java_script_enabled=javascript, bypass_csp=bypass_csp, accept_downloads=True,
    )  # fmt: skip
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(name)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{site.url}/")
    return page


def test_a_manager_opens_the_monthly_report_clicks_a_figure_and_downloads_it(browser: Any, report_site: ReportSite, tmp_path: Path) -> None:  # noqa: F811
    from openpyxl import load_workbook

    page = _log_in(browser, report_site, "lanhdao", javascript=False)
    page.get_by_role("link", name="Báo cáo").click()
    page.get_by_label("Báo cáo", exact=True).select_option("volume")
    page.get_by_label("Kỳ", exact=True).select_option("month")
    page.get_by_label("Ngày trong kỳ").fill("2025-03-15")
    page.get_by_label("Nhóm theo").select_option("province")
    page.get_by_role("button", name="Xem báo cáo").click()
    page.wait_for_url("**/reports?**")
    assert "Khối lượng tiếp nhận: 01/03/2025 – 31/03/2025" in page.locator("h2#report-title").inner_text()
    table = page.locator("table.report")
    shown = [[cell.inner_text().strip() for cell in row.locator("th, td").all()] for row in table.locator("tbody tr").all()]
    assert shown[-1][0] == "Tổng cộng" and shown[-1][1] == "4"
    # the new tickets of the total: a link to the tickets it counts
    figure = table.locator("tbody tr").last.locator("td").first.get_by_role("link")
    count = int(figure.inner_text())
    figure.click()
    page.wait_for_url("**/tickets?drill=**")
    listed = page.locator("table tbody tr td.ref a")
    assert listed.count() == count
    assert f"{count} phiếu" in page.get_by_role("status").inner_text()
    page.get_by_role("link", name="Về báo cáo").click()
    page.wait_for_url("**/reports?**")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="XLSX").click()
    saved = tmp_path / "bao-cao.xlsx"
    download_info.value.save_as(saved)
    sheet = load_workbook(saved).active
    rows = [[cell for cell in row] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert [str(row[0]) for row in rows] == [line[0] for line in shown]
    assert [row[1] for row in rows] == [int(line[1]) for line in shown]
    page.context.close()


def test_the_reports_pages_have_no_serious_accessibility_violations(browser: Any, report_site: ReportSite) -> None:  # noqa: F811
    page = _log_in(browser, report_site, "dieuphoi", bypass_csp=True)  # axe-core is injected by script
    problems = {}
    for query in ("report=volume&by=province", "report=quality&by=category", "report=sla", "report=acceptance"):
        page.goto(f"/reports?period=month&day=2025-03-15&{query}")
        problems[query] = _axe_problems(page)
    page.goto("/reports?report=doanh-thu")
    problems["bad report"] = _axe_problems(page)
    assert {k: v for k, v in problems.items() if v} == {}
    page.context.close()
