"""The reports page (issue 15): the six reports of `tiepnhan report`, built by the same function
(reports.build.build_report) over what the user may see (access.scope), as HTML tables, a chart
drawn on the server (reports/charts.py), the same figures as CSV, XLSX, PDF or JSON, and every
figure a link to the list of tickets it counts (`/tickets?drill=…`, resolved by `drill_down`).

Who: the roles with Action.VIEW_REPORTS. An office user counts only the tickets and escalations
its unit was sent (ticket_scope and escalation_scope), and may not ask for another province.
The calls report (issue 18): an office, or anyone asking for one province, counts only the calls
whose summary is on a ticket in that scope (a call has no province of its own); the roles that
see everything count every call.
Plain GET forms: it works without JavaScript.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from sqlalchemy import and_
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from access.models import User
from access.roles import Action, can
from access.scope import SEES_EVERYTHING, escalation_scope, ticket_scope
from config.settings import Settings
from reports.build import REPORTS, build_report
from reports.charts import chart_description, chart_svg
from reports.groups import GROUPINGS, HEADINGS
from reports.model import SHARE_FIGURES, TOTAL, Report, cell_key
from reports.period import PERIOD_KINDS, Period, parse_day, period_of
from reports.render import cell_text, to_csv, to_json, to_xlsx
from reports.rows import RowScope
from reports.workload import ON_DEMAND_FIGURES
from tickets.db import get_engine
from tickets.directory import routing
from tickets.labels import TIMEZONE, province_label
from tickets.models import Ticket, ticket_reference
from tickets.places import province_codes
from web.pages_render import render, user_of

REPORT_LABELS = {
    "volume": "Khối lượng tiếp nhận",
    "quality": "Chất lượng phục vụ",
    "sla": "Thời hạn xử lý của các đơn vị",
    "workload": "Công việc theo người",
    "acceptance": "Nghiệm thu",
    "calls": "Cuộc gọi tổng đài",
}
PERIOD_LABELS = {"day": "Ngày", "week": "Tuần", "month": "Tháng", "quarter": "Quý", "custom": "Tùy chọn (từ ngày – đến ngày)"}
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": ("application/pdf", "pdf"),
    "json": ("application/json", "json"),
}
GROUPED = ("volume", "quality", "calls")  # the reports that take `--by`
# The calls report's groupings (reports.calls.GROUPINGS) beyond the time ones every report has.
CALL_GROUPING_LABELS = {"day": "Ngày", "week": "Tuần", "month": "Tháng", "agent": "Điện thoại viên (cuộc gọi)",
                        "direction": "Chiều cuộc gọi (cuộc gọi)", "outcome": "Kết quả cuộc gọi (cuộc gọi)"}
OFFICE_UNIT_PREFIX = "province-"


@dataclass(frozen=True)
class ReportQuery:
    """What the page was asked for, read from the query string (bad values are errors, never guessed)."""

    report: str = "volume"
    period_kind: str = "month"
    day: str = ""
    date_from: str = ""
    date_to: str = ""
    by: str = ""
    province: str = ""
    errors: tuple[str, ...] = ()

    def period(self, today: date) -> Period | None:
        try:
            if self.period_kind == "custom":
                return Period(parse_day(self.date_from), parse_day(self.date_to))
            return period_of(self.period_kind, parse_day(self.day) if self.day else today)
        except ValueError:
            return None

    def as_params(self, **extra: str) -> dict[str, str]:
        params = {"report": self.report, "period": self.period_kind, "day": self.day, "from": self.date_from, "to": self.date_to, "by": self.by, "province": self.province}
        return {k: v for k, v in {**params, **extra}.items() if v}


def read_query(params: Any, today: date) -> ReportQuery:
    """The page's parameters, each checked; a wrong one is named in Vietnamese."""
    errors = []
    report = params.get("report", "volume") or "volume"
    if report not in REPORTS:
        errors.append(f"Không có báo cáo “{report}”; chọn một trong: {', '.join(REPORT_LABELS.values())}.")
        report = "volume"
    kind = params.get("period", "month") or "month"
    if kind not in (*PERIOD_KINDS, "custom"):
        errors.append(f"Không có loại kỳ “{kind}”; chọn ngày, tuần, tháng, quý hoặc tùy chọn.")
        kind = "month"
    by = params.get("by", "") if report in GROUPED else ""
    if by and by not in (CALL_GROUPING_LABELS if report == "calls" else GROUPINGS):
        errors.append(f"Không nhóm được theo “{by}”.")
        by = ""
    province = params.get("province", "")
    if province and province not in province_codes():
        errors.append(f"“{province}” không phải mã tỉnh/thành trên bản đồ 2025.")
        province = ""
    query = ReportQuery(report, kind, params.get("day", "")[:10], params.get("from", "")[:10], params.get("to", "")[:10], by, province)
    if query.period(today) is None:
        if kind == "custom":
            errors.append("Kỳ tùy chọn cần “Từ ngày” và “Đến ngày” hợp lệ (năm-tháng-ngày), ngày đầu không sau ngày cuối.")
        else:
            errors.append(f"Ngày “{query.day}” không hợp lệ (năm-tháng-ngày).")
    return ReportQuery(report, kind, query.day, query.date_from, query.date_to, by, province, tuple(errors))


def own_province(user: User) -> str | None:
    """An office user's province (its unit is province-NN), or None for a central unit."""
    unit = user.unit_id or ""
    return unit.removeprefix(OFFICE_UNIT_PREFIX) if unit.startswith(OFFICE_UNIT_PREFIX) else None


def refused_province(user: User, province: str) -> bool:
    """An office user asks for a province that is not its own."""
    return user.role == "office" and bool(province) and province != own_province(user)


def row_scope(user: User, province: str) -> RowScope:
    """THE access scope (access.scope) of this user, narrowed to one province when asked."""
    tickets = ticket_scope(user)
    if province:
        tickets = and_(tickets, Ticket.province_code == province)  # type: ignore[arg-type]
    return RowScope(tickets=tickets, escalations=escalation_scope(user))


def report_scope(user: User, report: str, province: str) -> RowScope:
    """The calls report of a reader who sees everything counts every call (with no ticket
    predicate); any other report, or one province, goes through row_scope."""
    if report == "calls" and not province and user.role in SEES_EVERYTHING:
        return RowScope()
    return row_scope(user, province)


def _today() -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(UTC).astimezone(ZoneInfo(TIMEZONE)).date()


def _build(settings: Settings, user: User, query: ReportQuery, period: Period, *, drill: bool = False) -> Report:
    unit_names = {unit.id: unit.name for unit in routing(settings).units.units}
    return build_report(
        get_engine(settings.database_url), query.report, period, query.by or None, targets=settings.report_targets, now=datetime.now(UTC),
        unit_names=unit_names, scope=report_scope(user, query.report, query.province), drill=drill,
    )  # fmt: skip


# --- drill-down: a figure → the tickets it counts ---------------------------------------------


def drill_token(query: ReportQuery, period: Period, cell: str, figure: str) -> str:
    """The `drill` parameter of a figure's link: the report, its period and grouping, the cell and the figure."""
    fields = {"report": query.report, "from": period.start.isoformat(), "to": period.end.isoformat(), "by": query.by, "province": query.province, "cell": cell, "figure": figure}
    return urlencode({k: v for k, v in fields.items() if v})


def drill_href(query: ReportQuery, period: Period, cell: str, figure: str) -> str:
    return "/tickets?drill=" + quote(drill_token(query, period, cell, figure), safe="")


@dataclass
class Drill:
    ids: frozenset[int] = frozenset()
    caption: str = ""
    back: str = "/reports"
    errors: list[str] = field(default_factory=list)


def drill_down(settings: Settings, user: User, token: str) -> Drill:
    """The tickets behind one figure, recomputed by the same report over the same scope; a
    token that cannot be read gives no tickets and says why."""
    fields = dict(parse_qsl(token[:2000]))
    query = read_query({"report": fields.get("report", ""), "period": "custom", "from": fields.get("from", ""), "to": fields.get("to", ""),
                        "by": fields.get("by", ""), "province": fields.get("province", "")}, _today())  # fmt: skip
    period = query.period(_today())
    cell, figure = fields.get("cell", ""), fields.get("figure", "")
    if query.errors or period is None or not cell or not figure or fields.get("report") not in REPORTS:
        return Drill(errors=["Liên kết tới số liệu của báo cáo không đọc được; không có phiếu nào được lọc."])
    back = "/reports?" + urlencode(query.as_params())
    if refused_province(user, query.province):
        return Drill(back=back, errors=["Đơn vị chỉ xem được số liệu của tỉnh/thành mình."])
    report = _build(settings, user, query, period, drill=True)
    ids = report.tickets_behind(cell, figure)
    if ids is None:
        return Drill(back=back, errors=["Số liệu này không đếm phiếu; không có phiếu nào được lọc."])
    headings = {c.key: c.heading for c in report.columns}
    rows = {cell_key(r["group"]): r for r in report.rows}
    row_label = "Tổng cộng" if cell == TOTAL else str(rows.get(cell, {}).get("label", cell))
    caption = f"Các phiếu của số liệu “{headings.get(figure, figure)}” · {row_label} · {report.title} {period.start:%d/%m/%Y} – {period.end:%d/%m/%Y}"
    return Drill(ids=frozenset(ids), caption=caption, back=back)


# --- the page --------------------------------------------------------------------------------


def figure_text(key: str, value: Any) -> str:
    if key in SHARE_FIGURES and isinstance(value, float):
        return f"{value * 100:.1f}%"
    return cell_text(value)


def table_view(report: Report, query: ReportQuery, period: Period) -> dict[str, Any]:
    """Headings and rows of cells {text, href}: a figure that counts tickets links to them."""

    def cells(row: dict[str, Any], cell: str) -> list[dict[str, Any]]:
        out = []
        for column in report.columns[1:]:
            value = row.get(column.key)
            linked = report.tickets_behind(cell, column.key) is not None or (report.name == "workload" and column.key in ON_DEMAND_FIGURES)
            href = drill_href(query, period, cell, column.key) if linked and value is not None else None
            out.append({"text": figure_text(column.key, value), "href": href})
        return out

    lines = [{"label": cell_text(r.get("label")), "cells": cells(r, cell_key(r["group"])), "total": False} for r in report.rows]
    if report.total is not None:
        lines.append({"label": cell_text(report.total.get("label")), "cells": cells(report.total, TOTAL), "total": True})
    return {"first": report.columns[0].heading, "headings": [c.heading for c in report.columns[1:]], "lines": lines}


def breaches_view(report: Report) -> list[dict[str, Any]]:
    """The acceptance report's breaches: each criterion and the tickets behind its misses."""
    if report.name != "acceptance":
        return []
    found = []
    for row in report.rows:
        ids = sorted(report.tickets_behind(cell_key(row["group"]), "breaches") or ())
        found.append({"label": row["label"], "tickets": [{"id": i, "reference": ticket_reference(i)} for i in ids]})
    return found


def _download(report: Report, fmt: str) -> Response:
    media, extension = FORMATS[fmt]
    if fmt == "pdf":
        from reports.pdf import to_pdf

        content: bytes | str = to_pdf(report)
    else:
        content = to_xlsx(report) if fmt == "xlsx" else to_json(report) if fmt == "json" else to_csv(report)
    name = f"bao-cao-{report.name}-{report.period.start.isoformat()}-{report.period.end.isoformat()}.{extension}"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff"})


def page_context(settings: Settings, user: User, query: ReportQuery, errors: list[str]) -> dict[str, Any]:
    """Everything the page shows (reads the database: run it off the event loop)."""
    period = query.period(_today())
    context: dict[str, Any] = {"query": query, "errors": errors, "report": None, "options": options(user, query)}
    if period is None or errors:
        return context
    report = _build(settings, user, query, period)
    svg = chart_svg(report)
    context.update({
        "report": report, "period_text": f"{period.start:%d/%m/%Y} – {period.end:%d/%m/%Y}",
        "table": table_view(report, query, period), "breaches": breaches_view(report),
        "chart": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode() if svg else None,
        "chart_text": chart_description(report),
        "downloads": [(label, "/reports?" + urlencode(query.as_params(format=fmt))) for fmt, label in (("csv", "CSV"), ("xlsx", "XLSX"), ("pdf", "PDF"), ("json", "JSON"))],
        "all_met": report.details.get("all_met"),
    })  # fmt: skip
    return context


def request_errors(user: User, query: ReportQuery, fmt: str) -> list[str]:
    errors = list(query.errors)
    if refused_province(user, query.province):
        errors.append("Đơn vị chỉ xem được số liệu của tỉnh/thành mình; không lập báo cáo cho tỉnh/thành khác.")
    if fmt and fmt not in FORMATS:
        errors.append(f"Không có định dạng tải về “{fmt}”; chọn CSV, XLSX, PDF hoặc JSON.")
    return errors


class ReportPages:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def reports(self, request: Request) -> Response:
        from web.pages import _login_redirect, not_found

        user = await user_of(request)
        if user is None:
            return _login_redirect(request)
        if not can(user, Action.VIEW_REPORTS):
            return not_found(request, user)
        query = read_query(request.query_params, _today())
        fmt = request.query_params.get("format", "")
        errors = request_errors(user, query, fmt)
        period = query.period(_today())
        if fmt and period is not None and not errors:
            report = await run_in_threadpool(_build, self.settings, user, query, period)
            try:
                return await run_in_threadpool(_download, report, fmt)
            except RuntimeError as exc:  # the PDF font is not installed
                errors.append(str(exc))
        context = await run_in_threadpool(page_context, self.settings, user, query, errors)
        return render(request, "reports.html", context, user)


def options(user: User, query: ReportQuery) -> dict[str, Any]:
    provinces = [("", "Tất cả")] + [(c, province_label(c)) for c in province_codes()]
    if user.role == "office":
        own = own_province(user)
        provinces = [("", "Của đơn vị")] + ([(own, province_label(own))] if own else [])
    return {
        "report": list(REPORT_LABELS.items()),
        "period": list(PERIOD_LABELS.items()),
        "by": [("", "Không nhóm")] + [(g, HEADINGS[g]) for g in GROUPINGS]
              + [(g, label) for g, label in CALL_GROUPING_LABELS.items() if g not in GROUPINGS],
        "province": provinces,
        "grouped": query.report in GROUPED,
    }


def routes(settings: Settings) -> list[BaseRoute]:
    pages = ReportPages(settings)
    return [Route("/reports", pages.reports, methods=["GET"], name="reports")]
