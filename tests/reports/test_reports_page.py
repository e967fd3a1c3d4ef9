"""The reports page: the CLI's figures (same function), each a link to exactly the tickets it
counts, the downloads of what is shown, and an office seeing only what its unit was sent."""

from __future__ import annotations

import base64
import html
import io
import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import pytest

from reports.build import build_report
from reports.model import TOTAL, Report, cell_key
from reports.render import to_csv
from tests.reports.web_site import MARCH, ReportSite, listed_total, march, report_site, report_table  # noqa: F401
from tests.webapp.server import logged_in
from tickets.models import ticket_reference
from tiepnhan import runtime
from web.pages_reports import figure_text

HANOI, HCMC = "01 Thành phố Hà Nội", "79 Thành phố Hồ Chí Minh"
TICKET_COUNTS = {"volume": ("tickets", "spam"), "quality": ("tickets", "responded", "resolved", "reopened", "open"), "acceptance": ("counted", "within", "breaches")}


def _cli_report(site: ReportSite, name: str, by: str | None) -> Report:
    from tickets.directory import routing

    names = {u.id: u.name for u in routing(site.settings).units.units}
    return build_report(runtime.engine(), name, MARCH, by, targets=site.settings.report_targets, now=datetime.now(UTC), unit_names=names)


@pytest.mark.parametrize(("name", "by"), [("volume", "province"), ("quality", "category"), ("sla", None), ("workload", None), ("acceptance", None)])
def test_the_page_shows_the_cli_figures_and_each_links_to_the_tickets_it_counts(report_site: ReportSite, name: str, by: str | None) -> None:
    manager = logged_in(report_site.url, "lanhdao")
    page = manager.get("/reports", params=march(report=name, **({"by": by} if by else {})))
    assert page.status_code == 200
    shown = report_table(page.text)
    expected = _cli_report(report_site, name, by)
    lines = [*expected.rows, *([expected.total] if expected.total else [])]
    assert list(shown) == [str(line["label"]) for line in lines]
    linked = 0
    for line in lines:
        cell = TOTAL if line is expected.total else cell_key(line["group"])
        cells = shown[str(line["label"])]
        assert [text for text, _ in cells] == [figure_text(c.key, line.get(c.key)) for c in expected.columns[1:]]
        for column, (text, href) in zip(expected.columns[1:], cells, strict=True):
            if href is None:
                continue
            linked += 1
            listing = manager.get(href)
            assert listing.status_code == 200
            behind = expected.tickets_behind(cell, column.key)
            if behind is not None:
                assert listed_total(listing.text) == len(behind), f"{line['label']} {column.key}"
            if column.key in TICKET_COUNTS.get(name, ()):
                assert listed_total(listing.text) == line[column.key], f"{line['label']} {column.key}"
    assert linked >= 5


def test_a_drilled_figure_lists_exactly_its_tickets(report_site: ReportSite) -> None:
    manager = logged_in(report_site.url, "lanhdao")
    shown = report_table(manager.get("/reports", params=march(report="volume", by="province")).text)
    tickets_href = shown[HANOI][0][1]  # the first figure: new tickets
    assert tickets_href is not None
    listing = manager.get(tickets_href).text
    assert listed_total(listing) == 1 and ticket_reference(1) in listing and ticket_reference(2) not in listing
    assert f"Các phiếu của số liệu “Phiếu mới” · {HANOI}" in listing
    # the spam of the 'no province' row is T4 alone
    spam_href = shown["chưa rõ tỉnh/thành"][6][1]
    assert spam_href is not None
    spam = manager.get(spam_href).text
    assert listed_total(spam) == 1 and ticket_reference(4) in spam


def test_the_acceptance_report_lists_the_tickets_behind_each_breach(report_site: ReportSite) -> None:
    page = logged_in(report_site.url, "dieuphoi").get("/reports", params=march(report="acceptance")).text
    breaches = page[page.index("Các phiếu không đạt chỉ tiêu"):]
    sla = breaches[breaches.index("Đơn vị trả lời đúng hạn"):]
    assert re.findall(r'href="/tickets/(\d+)"', sla) == ["2", "3"]
    resolution = breaches[breaches.index("Giải quyết trong"):breaches.index("Điều phối duyệt")]
    assert re.findall(r'href="/tickets/(\d+)"', resolution) == ["2"]
    assert "chưa đạt tất cả chỉ tiêu" in page


def test_downloads_are_exactly_what_is_shown(report_site: ReportSite) -> None:
    from openpyxl import load_workbook

    manager = logged_in(report_site.url, "lanhdao")
    params = march(report="volume", by="province")
    csv = manager.get("/reports", params={**params, "format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-disposition"].startswith("attachment")
    assert csv.text == to_csv(_cli_report(report_site, "volume", "province"))
    xlsx = manager.get("/reports", params={**params, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [list(row) for row in sheet.iter_rows(min_row=3, values_only=True)]
    shown = report_table(manager.get("/reports", params=params).text)
    assert [str(v[0]) for v in values] == list(shown)
    assert [v[1] for v in values] == [int(cells[0][0]) for cells in shown.values()]
    data = manager.get("/reports", params={**params, "format": "json"}).json()
    assert data["report"] == "volume" and data["total"]["tickets"] == 4
    pdf = manager.get("/reports", params={**params, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_chart_is_an_svg_drawn_on_the_server(report_site: ReportSite) -> None:
    page = logged_in(report_site.url, "lanhdao").get("/reports", params=march(report="sla")).text
    found = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]*)"', page)
    assert found is not None
    svg = base64.b64decode(found.group(1)).decode()
    first_unit = next(iter(report_table(page)))
    assert svg.startswith("<svg") and "pygal" in svg and html.unescape(first_unit)[:20] in html.unescape(svg)  # the units' names are on it
    assert "Tỉ lệ đơn vị trả lời đúng hạn" in found.group(2)
    assert "<script" not in page.replace(found.group(1), "")  # the page itself runs nothing


def test_an_office_sees_only_what_its_unit_was_sent_and_cannot_ask_for_another_province(report_site: ReportSite) -> None:
    office = logged_in(report_site.url, "vp01")
    shown = report_table(office.get("/reports", params=march(report="volume", by="province")).text)
    assert list(shown) == [HANOI, "Tổng cộng"]  # T1 only: not HCMC's T2, not the others
    assert shown["Tổng cộng"][0][0] == "1"
    sla = report_table(office.get("/reports", params=march(report="sla")).text)
    assert [label for label in sla if label != "Tổng cộng"] == [label for label in sla if "Hà Nội" in label]
    # the same page for a manager has every province
    assert {HANOI, HCMC, "chưa rõ tỉnh/thành"} <= set(report_table(logged_in(report_site.url, "lanhdao").get("/reports", params=march(report="volume", by="province")).text))
    refused = office.get("/reports", params=march(report="volume", province="79"))
    assert refused.status_code == 200 and "chỉ xem được số liệu của tỉnh/thành mình" in refused.text
    assert report_table(refused.text) == {} and "Hồ Chí Minh" not in refused.text.split("</form>")[-1]
    assert office.get("/reports", params={**march(report="volume", province="79"), "format": "csv"}).headers["content-type"].startswith("text/html")
    # a forged drill-down link: the scope holds — its own ticket only, or nothing for another province
    forged = {"report": "volume", "from": "2025-03-01", "to": "2025-03-31", "cell": TOTAL, "figure": "tickets"}
    listing = office.get("/tickets", params={"drill": urlencode(forged)}).text
    assert listed_total(listing) == 1 and ticket_reference(1) in listing
    other = office.get("/tickets", params={"drill": urlencode({**forged, "province": "79"})}).text
    assert listed_total(other) == 0 and "chỉ xem được số liệu của tỉnh/thành mình" in other


def test_who_may_open_the_reports(report_site: ReportSite) -> None:
    for name in ("lanhdao", "dieuphoi", "vp79"):
        answer = logged_in(report_site.url, name)
        assert answer.get("/reports").status_code == 200
        assert 'href="/reports"' in answer.get("/").text
    agent = logged_in(report_site.url, "tuvan")
    assert agent.get("/reports").status_code == 404 and 'href="/reports"' not in agent.get("/").text
    with httpx.Client(base_url=report_site.url) as anonymous:
        assert anonymous.get("/reports").status_code == 303


def test_bad_choices_are_named_and_nothing_is_guessed(report_site: ReportSite) -> None:
    manager = logged_in(report_site.url, "lanhdao")
    page = manager.get("/reports", params={"report": "doanh-thu", "period": "custom", "from": "2025-03-31", "to": "2025-03-01"}).text
    assert "Không có báo cáo “doanh-thu”" in page and "ngày đầu không sau ngày cuối" in page and report_table(page) == {}
    bad_drill = manager.get("/tickets", params={"drill": "report=volume&cell=*"}).text
    assert listed_total(bad_drill) == 0 and "không đọc được" in bad_drill
